#!/usr/bin/env node
// `npm run build`: type declarations from tsc, JavaScript from esbuild.
//
// Why a bundle: every tsray process (driver, head, and above all each worker and
// actor) loads the runtime. As ~80 separate ES modules, the loader's URL handling
// alone got hot enough to be optimized at start-up, which costs ~4 MB of RSS (the
// optimizing compiler's pages) and time in every process. Bundled with code
// splitting, the runtime is a handful of files; the entry points below share one
// module instance of each chunk, so `import "tsray"` in user code and the worker's
// own entry see the same core worker. Paths stay as tsc laid them out
// (dist/index.js, dist/worker/main.js, ...), with shared chunks in dist/chunks/, so
// every file sits one folder below the package root.
import { spawnSync } from "node:child_process";
import { rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = fileURLToPath(new URL("..", import.meta.url));
process.chdir(root);
rmSync("dist", { recursive: true, force: true });

const tsc = spawnSync(
  process.execPath,
  ["node_modules/typescript/bin/tsc", "-p", "tsconfig.build.json", "--emitDeclarationOnly"],
  { stdio: "inherit" },
);
if (tsc.status !== 0) process.exit(tsc.status ?? 1);

await build({
  entryPoints: [
    "src/index.ts",
    "src/worker/main.ts",
    "src/head/main.ts",
    "src/node/main.ts",
    "src/testing/index.ts",
    "src/cli/main.ts",
  ],
  outbase: "src",
  outdir: "dist",
  chunkNames: "chunks/[name]-[hash]",
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  packages: "external",
  sourcemap: "linked",
  // No keepNames: it wraps every closure in a __name() call, ~4% of an actor's time.
  // Class names are API, so class bodies never name their own class (see
  // src/errors/index.ts); test/core/exports.test.ts checks every exported name.
  logLevel: "warning",
});
