// Component boundaries (docs/design/overview.md): scripts/check-boundaries.mjs, run as
// .ci/run runs it, passes on src/ and rejects each kind of import that reaches past a
// component's index.ts in a fixture tree, naming the file, the line, the import and the fix.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { removeTempDirs, tempDir } from "../helpers/temp.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const CHECKER = join(ROOT, "scripts", "check-boundaries.mjs");

after(removeTempDirs);

/** Runs the checker on `srcDir` from `cwd`, as .ci/run does (a process; bounded). */
function check(
  srcDir: string | undefined,
  cwd = ROOT,
): { code: number | null; stderr: string; stdout: string } {
  const r = spawnSync(process.execPath, [CHECKER, ...(srcDir ? [srcDir] : [])], {
    cwd,
    encoding: "utf8",
    timeout: 30_000,
  });
  assert.equal(r.error, undefined, `the checker did not run: ${r.error}`);
  return { code: r.status, stderr: r.stderr, stdout: r.stdout };
}

/** A fixture src/ tree: `files` maps paths below src/ to their text. */
function tree(files: Record<string, string>): string {
  const src = join(tempDir("boundaries"), "src");
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(src, path)), { recursive: true });
    writeFileSync(join(src, path), text);
  }
  return src;
}

/** Components a, b (with index.ts) and entry-point folder main (without). */
const BASE = {
  "a/index.ts": 'export { x } from "./x.js";\n',
  "a/x.ts": "export const x = 1;\n",
  "a/deep/y.ts": 'import { x } from "../x.js";\nexport const y = x;\n',
  "b/index.ts": "export {};\n",
  "main/main.ts": 'import { x } from "../a/index.js";\nconsole.log(x);\n',
  "index.ts": 'export { x } from "./a/index.js";\n',
};

test("src/ of this repository has no import past a component's index.ts", () => {
  const r = check(undefined);
  assert.equal(r.code, 0, `violations:\n${r.stderr}`);
  assert.match(r.stdout, /component boundaries: ok/);
});

test("imports through index.ts, inside one component and in comments pass", () => {
  const src = tree({
    ...BASE,
    "b/ok.ts": [
      'import { x } from "../a/index.js";',
      'import type { y } from "../a/index.js";',
      '// import { x } from "../a/x.js";',
      '/* export * from "../a/x.js"; */',
      "export const z = x;",
      "",
    ].join("\n"),
  });
  const r = check(src, dirname(src));
  assert.equal(r.code, 0, r.stderr);
});

test("each kind of import past a boundary fails, naming file, line, import and fix", () => {
  const src = tree({
    ...BASE,
    "b/static.ts": 'import { x } from "../a/x.js";\nexport const s = x;\n',
    "b/type-only.ts": '\nimport type { x } from "../a/x.js";\nexport type T = typeof x;\n',
    "b/multi-line.ts": 'import {\n  x,\n} from "../a/x.js";\nexport const m = x;\n',
    "b/re-export.ts": 'export * from "../a/deep/y.js";\n',
    "b/dynamic.ts": 'export const load = () => import("../a/x.js");\n',
    "b/nested/deeper.ts": 'import { x } from "../../a/x.js";\nexport const d = x;\n',
    "b/entry.ts": 'import "../main/main.js";\n',
    "b/outside.ts": 'import { t } from "../../test/helpers.js";\nexport const o = t;\n',
  });
  const r = check(src, dirname(src));
  assert.equal(r.code, 1, `expected a failure, got ${r.code}:\n${r.stdout}${r.stderr}`);
  const expected: [string, number, string, RegExp][] = [
    ["b/static.ts", 1, "../a/x.js", /past the boundary of src\/a\/; import from "\.\.\/a\/index\.js"/],
    ["b/type-only.ts", 2, "../a/x.js", /past the boundary of src\/a\//],
    ["b/multi-line.ts", 3, "../a/x.js", /past the boundary of src\/a\//],
    ["b/re-export.ts", 1, "../a/deep/y.js", /past the boundary of src\/a\//],
    ["b/dynamic.ts", 1, "../a/x.js", /past the boundary of src\/a\//],
    ["b/nested/deeper.ts", 1, "../../a/x.js", /import from "\.\.\/\.\.\/a\/index\.js"/],
    [
      "b/entry.ts",
      1,
      "../main/main.js",
      /src\/main\/, an entry point without index\.ts that nothing imports/,
    ],
    ["b/outside.ts", 1, "../../test/helpers.js", /leaves src\//],
  ];
  const lines = r.stderr.trim().split("\n");
  for (const [file, line, spec, fix] of expected) {
    const hit = lines.find((l) => l.startsWith(`src/${file}:${line}: import "${spec}"`));
    assert.ok(hit, `no violation reported for src/${file}:${line} "${spec}"; stderr:\n${r.stderr}`);
    assert.match(hit, fix);
  }
  assert.equal(lines.length, expected.length + 1, `unexpected lines:\n${r.stderr}`);
  assert.match(lines.at(-1)!, /8 import\(s\) cross a component boundary/);
});
