// What a node starts workers with. A driver only chooses (a loader from an enum, a
// working directory, its job and namespace); the command is the node's own: its node
// binary, its worker entry, its flags, and the loader flags this file derives. Anyone
// who can reach the node's socket can send RegisterDriver, so nothing in it may become
// a path to execute or an argument list (issue 16).
import { createHash } from "node:crypto";
import { statSync } from "node:fs";
import { isAbsolute, normalize } from "node:path";
import { RuntimeUnavailableError } from "../errors/index.js";
import { type RuntimeEnv, WORKER_LOADERS, type WorkerLoader } from "../protocol/index.js";
import { tsxLoaderUrl } from "../util/index.js";

/** A validated runtime with the node-side flags of its loader. */
export interface WorkerRuntime {
  /** Stable short key (hash of what makes workers interchangeable: loader and cwd). */
  readonly key: string;
  readonly loader: WorkerLoader;
  readonly cwd: string;
  readonly jobId: string;
  readonly namespace: string;
  /** Node flags for the loader, computed by this node (never taken from the wire). */
  readonly loaderArgv: readonly string[];
}

const REGISTER_DRIVER_FIELDS = ["t", "rid", "jobId", "runtime", "embedded"] as const;
const RUNTIME_FIELDS = ["loader", "cwd", "jobId", "namespace"] as const;
/** Longest jobId or namespace accepted (they become environment variables of workers). */
const MAX_NAME_LENGTH = 1024;
/** Longest cwd accepted (PATH_MAX on Linux). */
const MAX_PATH_LENGTH = 4096;

function describe(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v.length > 80 ? `${v.slice(0, 80)}...` : v);
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (v === null || typeof v !== "object") return String(v);
  return "an object";
}

function invalid(where: string, field: string, message: string): TypeError {
  return Object.assign(new TypeError(`${where}: ${field} ${message}`), {
    code: "ERR_INVALID_ARG_VALUE",
    field,
  });
}

function checkFields(value: unknown, allowed: readonly string[], where: string, field: string): void {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw invalid(where, field, `must be an object, got ${describe(value)}`);
  }
  for (const key of Object.keys(value)) {
    if (allowed.includes(key)) continue;
    const name = field === "message" ? key : `${field}.${key}`;
    throw invalid(
      where,
      name,
      `is not accepted (got ${describe((value as Record<string, unknown>)[key])}): a node starts workers only ` +
        `from its own configuration; the fields of ${field} are ${allowed.join(", ")}`,
    );
  }
}

function checkName(value: unknown, where: string, field: string): string {
  if (typeof value !== "string" || value.length > MAX_NAME_LENGTH || value.includes("\0")) {
    throw invalid(
      where,
      field,
      `must be a string of at most ${MAX_NAME_LENGTH} characters without NUL, got ${describe(value)}`,
    );
  }
  return value;
}

function checkCwd(value: unknown, where: string): string {
  const field = "runtime.cwd";
  if (
    typeof value !== "string" ||
    value.length > MAX_PATH_LENGTH ||
    value.includes("\0") ||
    !isAbsolute(value) ||
    normalize(value) !== value ||
    (value.length > 1 && value.endsWith("/"))
  ) {
    throw invalid(
      where,
      field,
      `must be an absolute, normalized path (no "..", no trailing "/", no NUL) of an existing directory, got ${describe(value)}`,
    );
  }
  let dir = false;
  try {
    dir = statSync(value).isDirectory();
  } catch {
    // Missing or unreadable: reported below like a file.
  }
  if (!dir)
    throw invalid(where, field, `must name an existing directory on this node, got ${describe(value)}`);
  return value;
}

/**
 * Validate a runtime as it came from a peer (or from the head's own config): exactly
 * the fields of RuntimeEnv, `loader` one of WORKER_LOADERS, `cwd` an absolute path of an
 * existing directory, names without NUL. Returns a fresh object with only those fields.
 * @throws TypeError (code ERR_INVALID_ARG_VALUE, `field`) naming the field, the value and what is valid.
 */
export function parseRuntime(value: unknown, where: string): RuntimeEnv {
  checkFields(value, RUNTIME_FIELDS, where, "runtime");
  const raw = value as Record<string, unknown>;
  const loader = raw.loader;
  if (typeof loader !== "string" || !(WORKER_LOADERS as readonly string[]).includes(loader)) {
    throw invalid(
      where,
      "runtime.loader",
      `must be one of ${WORKER_LOADERS.map((l) => JSON.stringify(l)).join(", ")}, got ${describe(loader)}`,
    );
  }
  return {
    loader: loader as WorkerLoader,
    cwd: checkCwd(raw.cwd, where),
    jobId: checkName(raw.jobId, where, "runtime.jobId"),
    namespace: checkName(raw.namespace, where, "runtime.namespace"),
  };
}

/**
 * Validate a whole RegisterDriver message (fields t, rid, jobId, runtime, embedded) and
 * return its runtime. @throws TypeError as parseRuntime does, for the message's own fields too.
 */
export function parseRegisterDriver(msg: unknown): RuntimeEnv {
  const where = "RegisterDriver";
  checkFields(msg, REGISTER_DRIVER_FIELDS, where, "message");
  const raw = msg as Record<string, unknown>;
  checkName(raw.jobId, where, "jobId");
  if (typeof raw.embedded !== "boolean") {
    throw invalid(where, "embedded", `must be a boolean, got ${describe(raw.embedded)}`);
  }
  return parseRuntime(raw.runtime, where);
}

/**
 * Node flags that make this node's workers load modules with `loader`, for a node
 * running Node `nodeVersion`: tsx is tsray's own (an absolute URL), type stripping is
 * Node's (a flag before it was on by default).
 * @throws RuntimeUnavailableError for `strip-types` on a Node without type stripping (< 22.6).
 */
export function loaderFlags(loader: WorkerLoader, nodeVersion: string = process.versions.node): string[] {
  if (loader === "none") return [];
  if (loader === "tsx") return ["--import", tsxLoaderUrl()];
  const [major = 0, minor = 0] = nodeVersion.split(".").map(Number);
  if (major > 23 || (major === 23 && minor >= 6) || (major === 22 && minor >= 18)) return [];
  if (major === 23 || (major === 22 && minor >= 6)) return ["--experimental-strip-types"];
  throw new RuntimeUnavailableError(
    `runtime.loader "strip-types" needs Node >= 22.6 on the node, and this node runs Node ${nodeVersion}; ` +
      "run the driver under tsx (node --import tsx) or upgrade the node's Node.js",
  );
}

/** A stable short key for a runtime: workers of equal loader and cwd are interchangeable. */
export function runtimeKeyOf(rt: RuntimeEnv): string {
  return createHash("sha1")
    .update(JSON.stringify([rt.loader, rt.cwd]))
    .digest("hex")
    .slice(0, 12);
}

/** The node-side form of a validated runtime. @throws RuntimeUnavailableError as loaderFlags does. */
export function resolveRuntime(rt: RuntimeEnv): WorkerRuntime {
  return {
    key: runtimeKeyOf(rt),
    loader: rt.loader,
    cwd: rt.cwd,
    jobId: rt.jobId,
    namespace: rt.namespace,
    loaderArgv: loaderFlags(rt.loader),
  };
}
