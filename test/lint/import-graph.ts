// Import graph of a source tree (relative imports only): for the no-cycle check in import-cycles.test.ts.
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

/** Every `.ts` file under `dir`, recursively. */
export function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const d of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, d.name);
    if (d.isDirectory()) out.push(...sourceFiles(p));
    else if (d.name.endsWith(".ts")) out.push(p);
  }
  return out;
}

// Static imports and re-exports (`import type` included: a type-only cycle still ties
// the files together), and inline `import("./x.js")` type references.
const SPEC = /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)["'](\.{1,2}\/[^"']+)["']/gm;

/** The relative imports of one file, as paths of `.ts` files. */
export function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const out: string[] = [];
  for (const m of text.matchAll(SPEC)) out.push(resolve(dirname(file), m[1]!.replace(/\.js$/, ".ts")));
  return out;
}

/** Import cycles among `files` (each as a list of paths relative to `root`, first file repeated last). */
export function findCycles(files: string[], root: string): string[][] {
  const graph = new Map<string, string[]>();
  for (const f of files)
    graph.set(
      f,
      importsOf(f).filter((t) => t !== f),
    );
  const cycles: string[][] = [];
  const state = new Map<string, 1 | 2>(); // 1: on the current path, 2: done
  const path: string[] = [];
  const visit = (f: string): void => {
    state.set(f, 1);
    path.push(f);
    for (const t of graph.get(f) ?? []) {
      const s = state.get(t);
      if (s === 1) cycles.push([...path.slice(path.indexOf(t)), t].map((p) => relative(root, p)));
      else if (s === undefined && graph.has(t)) visit(t);
    }
    path.pop();
    state.set(f, 2);
  };
  for (const f of files) if (!state.has(f)) visit(f);
  return cycles;
}
