/** A `TypeError` with `code: "ERR_INVALID_ARG_VALUE"`. */
export function invalidArg(message: string): TypeError {
  return Object.assign(new TypeError(message), { code: "ERR_INVALID_ARG_VALUE" });
}

/** Throws `TypeError` unless `value` is a safe integer >= `min`. */
export function checkByteCount(value: unknown, what: string, min = 0): asserts value is number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min) {
    throw invalidArg(`${what} must be an integer >= ${min}, got ${String(value)}`);
  }
}

/** Throws `RangeError` unless `[offset, offset + length)` lies within `[0, size)`. */
export function checkRange(name: string, size: number, offset: number, length: number): void {
  checkByteCount(offset, "offset");
  checkByteCount(length, "length");
  if (offset + length > size) {
    throw Object.assign(
      new RangeError(
        `range [${offset}, ${offset + length}) is outside shared-memory segment "${name}" of ${size} bytes`,
      ),
      { code: "ERR_OUT_OF_RANGE" },
    );
  }
}

/** Throws if the segment was closed. */
export function checkOpen(name: string, closed: boolean): void {
  if (closed) {
    throw Object.assign(new Error(`shared-memory segment "${name}" is closed in this process`), {
      code: "ERR_SHM_CLOSED",
    });
  }
}
