import { getSystemErrorMap } from "node:util";

/** Error from a shared-memory operation; `code` is the errno name, e.g. `EEXIST`. */
export class ShmError extends Error {
  /** Errno name (`EEXIST`, `ENOENT`, `ENOSPC`, ...) or `ERANGE`/`ENOTSUP` for size/platform limits. */
  readonly code: string;
  /** Negative errno as in `node:fs` errors, when a system call failed. */
  readonly errno: number | undefined;
  /** The failing system call, when there was one. */
  readonly syscall: string | undefined;
  /** The segment name. */
  readonly segment: string;

  constructor(message: string, code: string, segment: string, errno?: number, syscall?: string) {
    super(message);
    this.name = "ShmError";
    this.code = code;
    this.segment = segment;
    this.errno = errno;
    this.syscall = syscall;
  }
}

interface ErrnoLike {
  code?: unknown;
  errno?: unknown;
  syscall?: unknown;
  message?: unknown;
}

function describeErrno(errno: number | undefined, code: string): string {
  if (errno === undefined) return code;
  const entry = getSystemErrorMap().get(errno > 0 ? -errno : errno);
  return entry ? entry[1] : code;
}

/**
 * Turns an error thrown by the addon or by `node:fs` into a {@link ShmError} naming
 * `segment`; errors without a string `code` (bugs) are returned unchanged.
 */
export function toShmError(error: unknown, segment: string, fallbackSyscall?: string): unknown {
  if (error instanceof ShmError || typeof error !== "object" || error === null) return error;
  const e = error as ErrnoLike;
  if (typeof e.code !== "string" || e.code.startsWith("ERR_")) return error;
  const errno = typeof e.errno === "number" ? e.errno : undefined;
  const syscall = typeof e.syscall === "string" ? e.syscall : fallbackSyscall;
  const message =
    typeof e.message === "string" && e.message.includes(`"${segment}"`)
      ? e.message
      : `${e.code}: ${syscall ?? "operation"} failed for shared-memory segment "${segment}": ${describeErrno(errno, e.code)}`;
  const out = new ShmError(message, e.code, segment, errno, syscall);
  out.cause = error;
  return out;
}

/** Builds the error for a segment larger than the shared-memory file system's free space. */
export function noSpaceError(segment: string, size: number, available: number, where: string): ShmError {
  return new ShmError(
    `ENOSPC: shared-memory segment "${segment}" needs ${size} bytes but ${where} has only ${available} bytes free`,
    "ENOSPC",
    segment,
    -28,
    "statfs",
  );
}
