#!/usr/bin/env node
// Builds the tsray_shm addon during `npm install` and never fails the install: when
// the build fails (no compiler, no headers, unsupported OS) tsray falls back to its
// pure-JS shared-memory backend, which copies. Set TSRAY_SKIP_NATIVE=1 to skip.
//
// node-gyp: npm runs install scripts with its bundled node-gyp on PATH and
// `npm_config_node_gyp` pointing at it; outside npm we fall back to `npx node-gyp`.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = dirname(dirname(fileURLToPath(import.meta.url)));

function warn(message) {
  console.warn(`tsray: ${message}`);
  console.warn("tsray: shared memory will use the pure-JS fallback (copies instead of zero-copy views).");
}

if (process.env.TSRAY_SKIP_NATIVE) {
  console.warn("tsray: TSRAY_SKIP_NATIVE is set; not building the native shared-memory addon.");
  process.exit(0);
}
if (process.platform === "win32") {
  warn("the native shared-memory addon needs POSIX shm_open/mmap and is not built on Windows.");
  process.exit(0);
}
if (!existsSync(join(root, "binding.gyp"))) {
  warn(`no binding.gyp in ${root}; nothing to build.`);
  process.exit(0);
}

// Offline machines: use the headers installed next to this node binary (e.g.
// /usr/include/node) instead of letting node-gyp download them.
const gypArgs = ["rebuild"];
const prefix = dirname(dirname(process.execPath));
if (!process.env.npm_config_nodedir && existsSync(join(prefix, "include", "node", "node_api.h"))) {
  gypArgs.push(`--nodedir=${prefix}`);
}
const gyp = process.env.npm_config_node_gyp;
const [command, args] =
  gyp && existsSync(gyp) ? [process.execPath, [gyp, ...gypArgs]] : ["npx", ["--yes", "node-gyp", ...gypArgs]];
const result = spawnSync(command, args, { cwd: root, stdio: "inherit" });
if (result.error) {
  warn(`could not run node-gyp (${result.error.message}).`);
} else if (result.status !== 0) {
  warn(
    `building the native shared-memory addon failed (node-gyp exited with ${result.status ?? result.signal}).`,
  );
} else {
  console.log("tsray: built build/Release/tsray_shm.node (zero-copy shared memory).");
}
process.exit(0);
