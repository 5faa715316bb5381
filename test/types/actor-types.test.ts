// Runs the TypeScript compiler over test/types/actor-inference.ts, whose
// `@ts-expect-error` lines prove that actor calls are fully typed (a clean run means
// every expected error occurred). Only that file (and what it imports) is checked,
// with the project's compiler options, so unrelated files cannot break this test.
// A negative control shows the checker does report a mistyped actor call.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { ROOT, typecheck as tsc } from "../helpers/typecheck.js";

const dir = mkdtempSync(join(tmpdir(), "tsray-actor-types-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** tsc --noEmit over `files` with the project's options; "tsray" resolves to the built package's types. */
function typecheck(name: string, files: string[]): { status: number | null; output: string } {
  return tsc(dir, name, files, { paths: { tsray: [join(ROOT, "dist", "index.d.ts")] }, timeoutMs: 120_000 });
}

test("actor-inference.ts type-checks: every @ts-expect-error is a real error", () => {
  const r = typecheck("inference", [join(ROOT, "test", "types", "actor-inference.ts")]);
  assert.equal(r.status, 0, `tsc reported:\n${r.output}`);
});

test("negative control: a mistyped actor call, an unknown method and a wrong result type are reported", () => {
  const file = join(dir, "mistyped.ts");
  writeFileSync(join(dir, "package.json"), '{ "type": "module" }\n');
  writeFileSync(
    file,
    [
      'import * as ray from "tsray";',
      "const Calc = ray.remote(class Calc { twice(x: number): number { return 2 * x; } });",
      "export async function f(): Promise<void> {",
      "  const c = Calc.remote();",
      '  c.twice.remote("3");',
      "  c.thrice.remote(3);",
      "  const s: string = await ray.get(c.twice.remote(3));",
      "  void s;",
      "}",
      "",
    ].join("\n"),
  );
  const r = typecheck("negative", [file]);
  assert.notEqual(r.status, 0, "tsc accepted a mistyped actor call");
  assert.match(r.output, /mistyped\.ts\(5,\d+\): error TS2345/, r.output);
  assert.match(r.output, /mistyped\.ts\(6,\d+\): error TS2339: Property 'thrice'/, r.output);
  assert.match(r.output, /mistyped\.ts\(7,\d+\): error TS2322/, r.output);
});
