// Checks of the protocol's sources (src/protocol): every message's TSDoc has a line
// starting `Failure:` (what happens when it is lost), every kind number is unique,
// and every kind has exactly one message interface. Read from the sources, so a
// message added without its failure semantics fails here by name.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { MSG_NAMES, Msg } from "../../src/protocol/index.js";

const DIR = fileURLToPath(new URL("../../src/protocol", import.meta.url));

interface MessageDecl {
  file: string;
  name: string;
  kind: string;
  doc: string | undefined;
}

/** Every `export interface X { t: typeof Msg.K; ... }` of the protocol, with the TSDoc right above it. */
function messageDecls(): MessageDecl[] {
  const out: MessageDecl[] = [];
  for (const file of readdirSync(DIR).filter((f) => f.endsWith(".ts"))) {
    const src = readFileSync(join(DIR, file), "utf8");
    const re = /(\/\*\*(?:(?!\*\/)[\s\S])*?\*\/\n)?export interface (\w+) \{\n\s*t: typeof Msg\.(\w+);/g;
    for (const m of src.matchAll(re)) out.push({ file, name: m[2]!, kind: m[3]!, doc: m[1] });
  }
  return out;
}

/** True when a TSDoc block has a line that starts (after ` * `) with `Failure:`. */
function hasFailureLine(doc: string): boolean {
  return doc.split("\n").some((line) => /^\s*\*\s*Failure:/.test(line));
}

test("the parser finds the messages (a control: a doc without a Failure: line is caught)", () => {
  const decls = messageDecls();
  assert.ok(decls.length >= Object.keys(Msg).length, `found only ${decls.length} message interfaces`);
  assert.equal(hasFailureLine("/**\n * Notification; lost only with the connection.\n */\n"), false);
  assert.equal(hasFailureLine("/**\n * A request. Failure: inline does not count.\n */\n"), false);
  assert.equal(hasFailureLine("/**\n * A request.\n * Failure: the caller's request rejects.\n */\n"), true);
});

test("every message's TSDoc has a line starting `Failure:`", () => {
  const missing = messageDecls()
    .filter((d) => d.doc === undefined || !hasFailureLine(d.doc))
    .map((d) => `${d.file}: ${d.name}${d.doc === undefined ? " (no TSDoc)" : ""}`);
  assert.deepEqual(missing, [], `messages without a "Failure:" line:\n${missing.join("\n")}`);
});

test("every kind has exactly one message interface, named after it", () => {
  const byKind = new Map<string, string[]>();
  for (const d of messageDecls()) byKind.set(d.kind, [...(byKind.get(d.kind) ?? []), `${d.file}: ${d.name}`]);
  for (const name of Object.keys(Msg)) {
    const decls = byKind.get(name) ?? [];
    assert.equal(decls.length, 1, `kind ${name}: ${decls.length} message interfaces (${decls.join(", ")})`);
    assert.ok(decls[0]!.endsWith(`: ${name}`), `kind ${name} is declared as ${decls[0]}`);
  }
  for (const kind of byKind.keys()) assert.ok(kind in Msg, `an interface uses unknown kind Msg.${kind}`);
});

test("kind numbers are unique bytes", () => {
  const seen = new Map<number, string>();
  for (const [name, kind] of Object.entries(Msg)) {
    assert.ok(Number.isInteger(kind) && kind >= 0 && kind < 256, `${name} = ${kind} is not a byte`);
    assert.equal(seen.get(kind), undefined, `${name} and ${seen.get(kind)} share kind ${kind}`);
    seen.set(kind, name);
  }
  assert.equal(MSG_NAMES.size, Object.keys(Msg).length);
});
