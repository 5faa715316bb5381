import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { FOUND_PACKAGE_ROOT } from "../util/index.js";

/** The raw exports of build/Release/tsray_shm.node (native/tsray_shm.c). */
export interface NativeAddon {
  createSegment(name: string, size: number, reserve: boolean): ArrayBuffer;
  openSegment(name: string, copyOnWrite?: boolean): ArrayBuffer;
  /** madvise(MADV_DONTNEED) over the pages of a range: drops private copy-on-write pages. */
  discard?(buffer: ArrayBuffer, offset: number, length: number): void;
  unlinkSegment(name: string): boolean;
  detach(buffer: ArrayBuffer): boolean;
  setParentDeathSignal(signal: number, parentPid: number): boolean;
  /** Resolves true when madvise(MADV_POPULATE_WRITE) did the work, false for the per-page loop. */
  pretouch(buffer: ArrayBuffer, offset: number, length: number): Promise<boolean>;
  readonly pageSize: number;
}

/** Outcome of {@link loadAddon}: the addon, or why it could not be used. */
export type AddonLoad =
  | { readonly addon: NativeAddon; readonly path: string }
  | { readonly addon: null; readonly reason: string };

const ADDON_RELATIVE_PATH = join("build", "Release", "tsray_shm.node");

function isAddon(value: unknown): value is NativeAddon {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.createSegment === "function" &&
    typeof v.openSegment === "function" &&
    typeof v.unlinkSegment === "function" &&
    typeof v.detach === "function" &&
    typeof v.setParentDeathSignal === "function" &&
    typeof v.pretouch === "function" &&
    typeof v.pageSize === "number"
  );
}

/**
 * Loads `<package root>/build/Release/tsray_shm.node`, or the file named by
 * `$TSRAY_SHM_ADDON` (for tests and debugging); never throws.
 */
export function loadAddon(): AddonLoad {
  let path = process.env.TSRAY_SHM_ADDON;
  if (path === undefined || path === "") {
    if (FOUND_PACKAGE_ROOT === null) {
      return {
        addon: null,
        reason: `no package.json found above ${dirname(fileURLToPath(import.meta.url))}`,
      };
    }
    path = join(FOUND_PACKAGE_ROOT, ADDON_RELATIVE_PATH);
  }
  if (!existsSync(path)) {
    return { addon: null, reason: `${path} does not exist (the native build was skipped or failed)` };
  }
  try {
    const loaded: unknown = createRequire(import.meta.url)(path);
    if (!isAddon(loaded)) return { addon: null, reason: `${path} does not export the expected functions` };
    return { addon: loaded, path };
  } catch (error) {
    return { addon: null, reason: `${path} failed to load: ${(error as Error).message}` };
  }
}
