#!/usr/bin/env node
// Component boundaries (docs/design/overview.md): each folder of src/ is one
// component, and another component reaches it only through its index.ts. A folder
// without index.ts (cli, worker) is an entry point that nothing imports. Biome's
// noRestrictedImports matches specifiers, not resolved paths, so it cannot tell
// "../errors.js" inside cli/commands (same component) from one reaching past a
// boundary; hence this script. Usage: node scripts/check-boundaries.mjs [src-dir]
// Exit 0 when clean, 1 with one line per violation on stderr.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

// Static imports and re-exports (`import x from "..."`, `import type`, `export * from`,
// `export { a } from`), side-effect imports and dynamic `import("...")`, spread over lines.
const SPECIFIER =
  /(?:^|[;\s}])(?:import|export)\s+(?:type\s+)?(?:[\w*${},\s]+?\s+from\s+)?["']([^"']+)["']|\bimport\s*\(\s*["']([^"']+)["']\s*\)/g;

/** Every `.ts` file under `dir`, recursively. */
function sourceFiles(dir, out = []) {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) sourceFiles(p, out);
    else if (name.endsWith(".ts") && !name.endsWith(".d.ts")) out.push(p);
  }
  return out;
}

/** Relative import specifiers in `text` with their 1-based line numbers; comments are skipped. */
export function importSpecifiers(text) {
  // Blank out comments (keeping newlines, so line numbers stay right).
  const code = text.replace(/\/\*[\s\S]*?\*\/|\/\/[^\n]*/g, (c) => c.replace(/[^\n]/g, " "));
  const found = [];
  for (const m of code.matchAll(SPECIFIER)) {
    const spec = m[1] ?? m[2];
    if (!spec.startsWith(".")) continue;
    const line = code.slice(0, m.index + m[0].indexOf(spec)).split("\n").length;
    found.push({ spec, line });
  }
  return found;
}

/** The component (first folder under `srcDir`) a path lies in; undefined for files directly in src/. */
function componentOf(srcDir, path) {
  const rel = relative(srcDir, path);
  if (rel.startsWith("..")) return null; // outside src/
  const parts = rel.split(sep);
  return parts.length > 1 ? parts[0] : undefined;
}

/**
 * Checks every source file under `srcDir` and returns the violations, each a line
 * naming the importing file (relative to the current directory), the import and the fix.
 */
export function checkBoundaries(srcDir) {
  const root = resolve(srcDir);
  const problems = [];
  for (const file of sourceFiles(root)) {
    const from = componentOf(root, file);
    const where = relative(process.cwd(), file);
    for (const { spec, line } of importSpecifiers(readFileSync(file, "utf8"))) {
      const target = resolve(dirname(file), spec);
      const to = componentOf(root, target);
      if (to === null) {
        problems.push(
          `${where}:${line}: import "${spec}" leaves src/; src/ imports only its own files and packages`,
        );
        continue;
      }
      if (to === undefined || to === from) continue; // src/index.ts itself, or inside one component
      const boundary = join(root, to, "index.ts");
      const rel = relative(join(root, to), target);
      if (!existsSync(boundary)) {
        problems.push(
          `${where}:${line}: import "${spec}" reaches into src/${to}/, an entry point without index.ts that ` +
            `nothing imports; move what is shared into a component and import it through that component's index.js`,
        );
      } else if (rel !== "index.js" && rel !== "index.ts") {
        const via = relative(dirname(file), join(root, to, "index.js"))
          .split(sep)
          .join("/");
        problems.push(
          `${where}:${line}: import "${spec}" reaches past the boundary of src/${to}/; import from ` +
            `"${via.startsWith(".") ? via : `./${via}`}" (export what is needed from src/${to}/index.ts)`,
        );
      }
    }
  }
  return problems;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const srcDir = process.argv[2] ?? join(fileURLToPath(new URL("..", import.meta.url)), "src");
  const problems = checkBoundaries(srcDir);
  for (const p of problems) console.error(p);
  if (problems.length > 0) {
    console.error(`${problems.length} import(s) cross a component boundary (see docs/design/overview.md)`);
    process.exit(1);
  }
  console.log(`component boundaries: ok (${relative(process.cwd(), resolve(srcDir)) || "."})`);
}
