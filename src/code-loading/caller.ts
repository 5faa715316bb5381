import { realpathSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { PACKAGE_ROOT } from "../util/index.js";

/** Frames inside the tsray package itself (compiled or source) are not user code. */
const INTERNAL_DIRS = [join(PACKAGE_ROOT, "dist/"), join(PACKAGE_ROOT, "src/")].map(
  (d) => pathToFileURL(d).href,
);

function toUrl(file: string): string {
  if (file.startsWith("file://")) return file;
  if (file.startsWith("/")) return pathToFileURL(file).href;
  return file; // "node:...", "[eval]", "REPL1", ...
}

/**
 * URL of the module that called into tsray: the first stack frame outside the
 * tsray package. Returns "" when no frame has a file (eval, REPL).
 */
export function callerModuleUrl(): string {
  const orig = Error.prepareStackTrace;
  const limit = Error.stackTraceLimit;
  Error.prepareStackTrace = (_e, cs) => cs;
  Error.stackTraceLimit = 30;
  const holder: { stack?: NodeJS.CallSite[] } = {};
  Error.captureStackTrace(holder, callerModuleUrl);
  const frames = holder.stack ?? [];
  Error.prepareStackTrace = orig;
  Error.stackTraceLimit = limit;
  for (const f of frames) {
    const file = f.getFileName() ?? f.getScriptNameOrSourceURL?.();
    if (!file || file.startsWith("node:")) continue;
    const url = toUrl(file);
    if (INTERNAL_DIRS.some((d) => url.startsWith(d))) continue;
    return url.startsWith("file://") ? url : "";
  }
  return "";
}

let entryUrl: string | undefined;

/** URL of this process's entry script (process.argv[1]), or "" if none. */
export function entryModuleUrl(): string {
  if (entryUrl !== undefined) return entryUrl;
  const main = process.argv[1];
  entryUrl = "";
  if (main) {
    try {
      entryUrl = pathToFileURL(realpathSync(main)).href;
    } catch {
      entryUrl = pathToFileURL(main).href;
    }
  }
  return entryUrl;
}

/** True when `url` is this process's entry module (or not a loadable file module at all). */
export function isEntryModule(url: string): boolean {
  if (!url) return true;
  if (url === entryModuleUrl()) return true;
  try {
    return pathToFileURL(realpathSync(fileURLToPath(url))).href === entryModuleUrl();
  } catch {
    return false;
  }
}
