import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { RuntimeUnavailableError } from "../errors/index.js";

/**
 * The directory of the nearest package.json above `start` whose name is "tsray"
 * (else the nearest package.json at all), or null. Works from src/* (tsx), from
 * dist/* (bundled), and from node_modules/tsray/dist once installed.
 */
export function findPackageRoot(start: string): string | null {
  let first: string | null = null;
  for (let dir = start; ; dir = dirname(dir)) {
    const manifest = join(dir, "package.json");
    if (existsSync(manifest)) {
      first ??= dir;
      try {
        const parsed: unknown = JSON.parse(readFileSync(manifest, "utf8"));
        if (
          typeof parsed === "object" &&
          parsed !== null &&
          (parsed as { name?: unknown }).name === "tsray"
        ) {
          return dir;
        }
      } catch {
        // An unreadable manifest is not ours; keep walking up.
      }
    }
    if (dirname(dir) === dir) return first;
  }
}

const HERE = fileURLToPath(import.meta.url);

/**
 * The tsray package root as found by walking up from this file (null if no package.json
 * is above it). Walking up rather than a fixed "../..": bundled code sits at different
 * depths (dist/index.js, dist/chunks/*).
 */
export const FOUND_PACKAGE_ROOT: string | null = findPackageRoot(dirname(HERE));

/** The tsray package root (two folders above this file when no package.json was found). */
export const PACKAGE_ROOT: string = FOUND_PACKAGE_ROOT ?? dirname(dirname(HERE));

/** True when this runtime runs from TypeScript sources (src/ under tsx), false when bundled (dist/). */
export const FROM_SOURCE: boolean = HERE.endsWith(".ts");

let tsxUrl: string | undefined;

/**
 * The `file://` URL of the tsx loader of tsray's own installation (tsx is a dependency
 * of tsray), resolved from PACKAGE_ROOT, never from a working directory: a bare
 * `--import tsx` is resolved against the child's cwd, which a driver chooses, so a
 * directory with its own node_modules/tsx would pick the code that runs.
 * @throws RuntimeUnavailableError when tsx is not installed next to tsray.
 */
export function tsxLoaderUrl(): string {
  if (tsxUrl === undefined) {
    try {
      tsxUrl = pathToFileURL(createRequire(join(PACKAGE_ROOT, "package.json")).resolve("tsx")).href;
    } catch (err) {
      throw new RuntimeUnavailableError(
        `cannot find the tsx loader of tsray's installation at ${PACKAGE_ROOT}: ${(err as Error).message}`,
      );
    }
  }
  return tsxUrl;
}

/** A process entry point of the runtime: the file to run and the node flags it needs. */
export interface EntryPoint {
  readonly file: string;
  /** `--import <tsray's tsx loader>` when running from sources, so the child can load .ts files. */
  readonly execArgv: string[];
}

/**
 * Where a runtime process's entry point is: `dist/<name>.js`, or `src/<name>.ts`
 * under tsx when this runtime itself runs from sources (development, unit tests).
 */
export function entryPoint(name: "worker/main" | "head/main" | "node/main"): EntryPoint {
  return FROM_SOURCE
    ? { file: join(PACKAGE_ROOT, "src", `${name}.ts`), execArgv: ["--import", tsxLoaderUrl()] }
    : { file: join(PACKAGE_ROOT, "dist", `${name}.js`), execArgv: [] };
}
