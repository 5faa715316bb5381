/** Small checks for user input at the API boundary: every failure names the option, the value and what is valid. */

/** Describe a value for an error message. */
export function show(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "function") return `function ${v.name || "(anonymous)"}`;
  if (typeof v === "bigint") return `${v}n`;
  if (v === null || typeof v !== "object") return String(v);
  if (Array.isArray(v)) return `array(${v.length})`;
  const name = (v as object).constructor?.name;
  return name && name !== "Object" ? `a ${name}` : "an object";
}

/** Throw TypeError if `opts` is not a plain object or has keys outside `allowed`. */
export function checkKeys(
  opts: unknown,
  allowed: readonly string[],
  where: string,
): asserts opts is Record<string, unknown> {
  if (typeof opts !== "object" || opts === null || Array.isArray(opts)) {
    throw new TypeError(`${where}: options must be an object, got ${show(opts)}`);
  }
  for (const key of Object.keys(opts)) {
    if (!allowed.includes(key)) {
      throw new TypeError(`${where}: unknown option "${key}"; valid options are: ${allowed.join(", ")}`);
    }
  }
}

/** An integer within [min, max], or undefined when absent. */
export function optInt(
  opts: Record<string, unknown>,
  key: string,
  min: number,
  max: number,
  where: string,
): number | undefined {
  const v = opts[key];
  if (v === undefined) return undefined;
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    const range =
      max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer from ${min} to ${max}`;
    throw new TypeError(`${where}: ${key} must be ${range}, got ${show(v)}`);
  }
  return v;
}

/** A timeout in milliseconds (finite, >= 0), or undefined. */
export function optTimeout(v: unknown, where: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !(v >= 0) || v === Number.POSITIVE_INFINITY) {
    if (v === Number.POSITIVE_INFINITY) return undefined;
    throw new TypeError(`${where}: timeout must be a number of milliseconds >= 0, got ${show(v)}`);
  }
  return v;
}

/** A non-empty string, or undefined. */
export function optString(opts: Record<string, unknown>, key: string, where: string): string | undefined {
  const v = opts[key];
  if (v === undefined) return undefined;
  if (typeof v !== "string" || v.length === 0) {
    throw new TypeError(`${where}: ${key} must be a non-empty string, got ${show(v)}`);
  }
  return v;
}
