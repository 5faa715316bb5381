// Runs the TypeScript compiler over test/protocol/typing.ts, whose `@ts-expect-error`
// lines prove that request() infers each reply from the message kind and refuses
// wrong bodies, and that a service's handlers must cover its map with the right
// replies (a clean run means every expected error occurred). Only that file and what
// it imports are checked. A negative control shows the checker reports a handler
// object that forgets a kind and a request whose reply is misread.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { ROOT, typecheck as tsc } from "../helpers/typecheck.js";

const dir = mkdtempSync(join(tmpdir(), "tsray-protocol-types-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** tsc --noEmit over `files` with the project's options. */
function typecheck(name: string, files: string[]): { status: number | null; output: string } {
  return tsc(dir, name, files, { timeoutMs: 180_000 });
}

test("typing.ts type-checks: every @ts-expect-error is a real error", () => {
  const r = typecheck("typing", [join(ROOT, "test", "protocol", "typing.ts")]);
  assert.equal(r.status, 0, `tsc reported:\n${r.output}`);
});

test("negative control: a forgotten handler and a misread reply are reported", () => {
  const file = join(dir, "mistyped.ts");
  writeFileSync(join(dir, "package.json"), '{ "type": "module" }\n');
  const protocol = join(ROOT, "src", "protocol", "index.js");
  const transport = join(ROOT, "src", "transport", "index.js");
  writeFileSync(
    file,
    [
      `import { type ActorInfo, type Handlers, Msg, type HeadService } from ${JSON.stringify(protocol)};`,
      `import type { Connection } from ${JSON.stringify(transport)};`,
      "export const h: Handlers<HeadService, Connection> = {};",
      "export async function f(c: Connection): Promise<void> {",
      "  const a: ActorInfo[] = await c.request({ t: Msg.GetNodes });",
      "  void a;",
      "}",
      "",
    ].join("\n"),
  );
  const r = typecheck("negative", [file]);
  assert.notEqual(r.status, 0, "tsc accepted a handler object without its kinds");
  assert.match(r.output, /mistyped\.ts\(3,\d+\): error TS2741: Property '45' is missing/, r.output);
  assert.match(r.output, /mistyped\.ts\(5,\d+\): error TS2322/, r.output);
});
