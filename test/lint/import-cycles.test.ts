// No import cycles inside src/ (issue 9, point 5: object-manager -> ref-counter ->
// object-table -> task-spec -> object-manager was one). Type-only imports count: a
// cycle of types still ties the files' design together and invites a runtime one.
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { removeTempDirs, tempDir } from "../helpers/temp.js";
import { findCycles, importsOf, sourceFiles } from "./import-graph.js";

const SRC = fileURLToPath(new URL("../../src", import.meta.url));
after(removeTempDirs);

test("src/ has no import cycle (type-only imports included)", () => {
  const files = sourceFiles(SRC);
  assert.ok(files.length > 50, `expected the whole source tree, found ${files.length} files`);
  const cycles = findCycles(files, SRC);
  assert.deepEqual(
    cycles.map((c) => c.join(" -> ")),
    [],
  );
});

test("the check sees static, type-only, re-export and inline import() edges, and reports their cycle", () => {
  const dir = tempDir("import-cycles");
  mkdirSync(join(dir, "sub"));
  writeFileSync(join(dir, "a.ts"), 'import { b } from "./sub/b.js";\nexport const a = b;\n');
  writeFileSync(join(dir, "sub", "b.ts"), 'import type { C } from "../c.js";\nexport const b: C | 1 = 1;\n');
  writeFileSync(join(dir, "c.ts"), 'export * from "./d.js";\nexport type C = import("./a.js").A;\n');
  writeFileSync(join(dir, "d.ts"), "export const d = 1;\n");
  assert.deepEqual(importsOf(join(dir, "c.ts")), [join(dir, "d.ts"), join(dir, "a.ts")]);
  assert.deepEqual(
    findCycles(sourceFiles(dir), dir).map((c) => c.join(" -> ")),
    ["a.ts -> sub/b.ts -> c.ts -> a.ts"],
  );
});
