import { JsShmBackend } from "./js-backend.js";
import { loadAddon } from "./load-addon.js";
import { NativeShmBackend } from "./native-backend.js";
import type { ShmBackend, ShmBackendKind } from "./types.js";

/** Which backend serves this process and, for the fallback, why. */
export interface ShmBackendInfo {
  readonly kind: ShmBackendKind;
  /** Path of the loaded addon (native only). */
  readonly addonPath?: string;
  /** Why the native backend is not in use (fallback only). */
  readonly reason?: string;
}

let nativeBackend:
  | { backend: NativeShmBackend; path: string }
  | { backend: null; reason: string }
  | undefined;
let jsBackend: JsShmBackend | undefined;
let chosen: { backend: ShmBackend; info: ShmBackendInfo } | undefined;

function native(): { backend: NativeShmBackend; path: string } | { backend: null; reason: string } {
  if (nativeBackend === undefined) {
    const load = loadAddon();
    nativeBackend =
      load.addon === null
        ? { backend: null, reason: load.reason }
        : { backend: new NativeShmBackend(load.addon), path: load.path };
  }
  return nativeBackend;
}

function requireNative(): { backend: NativeShmBackend; path: string } {
  const n = native();
  if (n.backend === null) {
    throw Object.assign(new Error(`the native shared-memory addon is unavailable: ${n.reason}`), {
      code: "ERR_SHM_NATIVE_UNAVAILABLE",
    });
  }
  return n;
}

function fallback(): JsShmBackend {
  jsBackend ??= new JsShmBackend();
  return jsBackend;
}

/**
 * A specific backend: `"native"` (throws if the addon is unavailable, saying why) or
 * `"js-fallback"`. Without an argument, the process default (see {@link shmBackend}).
 */
export function getShmBackend(kind?: ShmBackendKind): ShmBackend {
  if (kind === undefined) return choose().backend;
  if (kind === "js-fallback") return fallback();
  if (kind === "native") return requireNative().backend;
  throw new TypeError(`unknown shared-memory backend ${JSON.stringify(kind)}`);
}

function choose(): { backend: ShmBackend; info: ShmBackendInfo } {
  if (chosen !== undefined) return chosen;
  const wanted = (process.env.TSRAY_SHM_BACKEND ?? "").trim().toLowerCase();
  if (wanted === "js" || wanted === "js-fallback" || wanted === "fallback") {
    chosen = {
      backend: fallback(),
      info: { kind: "js-fallback", reason: `TSRAY_SHM_BACKEND=${process.env.TSRAY_SHM_BACKEND}` },
    };
  } else if (wanted === "native") {
    const n = requireNative();
    chosen = { backend: n.backend, info: { kind: "native", addonPath: n.path } };
  } else if (wanted === "" || wanted === "auto") {
    const n = native();
    chosen =
      n.backend === null
        ? { backend: fallback(), info: { kind: "js-fallback", reason: n.reason } }
        : { backend: n.backend, info: { kind: "native", addonPath: n.path } };
  } else {
    throw new TypeError(
      `TSRAY_SHM_BACKEND=${JSON.stringify(process.env.TSRAY_SHM_BACKEND)} is not one of "native", "js", "auto"`,
    );
  }
  return chosen;
}

/**
 * The backend this process uses: `"native"` (zero-copy mmap through the addon) or
 * `"js-fallback"` (files read and written with copies). `TSRAY_SHM_BACKEND=js` forces
 * the fallback; `=native` makes a missing addon an error; unset or `auto` picks native
 * when the addon loads. Decided once per process.
 */
export function shmBackend(): ShmBackendKind {
  return choose().info.kind;
}

/** {@link shmBackend} plus the addon path or the reason for the fallback. */
export function shmBackendInfo(): ShmBackendInfo {
  return choose().info;
}
