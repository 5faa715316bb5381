import { invalidArg } from "./checks.js";

/** Prefix of every segment name tsray creates. */
export const SEGMENT_PREFIX = "/tsray-";

let counter = 0;

/** A fresh name `/tsray-<pid>-<n>` (optionally `/tsray-<pid>-<tag>-<n>`), unique in this process. */
export function newSegmentName(tag?: string): string {
  counter += 1;
  if (tag !== undefined && !/^[A-Za-z0-9_.]+$/.test(tag)) {
    throw invalidArg(`segment tag ${JSON.stringify(tag)} may only contain letters, digits, "_" and "."`);
  }
  return tag === undefined
    ? `${SEGMENT_PREFIX}${process.pid}-${counter}`
    : `${SEGMENT_PREFIX}${process.pid}-${tag}-${counter}`;
}

/** Throws `TypeError` unless `name` is "/" followed by 1-253 characters without "/" or NUL. */
export function checkSegmentName(name: unknown): asserts name is string {
  if (typeof name !== "string") throw invalidArg(`segment name must be a string, got ${typeof name}`);
  if (
    name.length < 2 ||
    Buffer.byteLength(name) > 254 ||
    name[0] !== "/" ||
    name.includes("/", 1) ||
    name.includes("\0") ||
    name === "/." ||
    name === "/.."
  ) {
    throw invalidArg(
      `invalid shared-memory segment name ${JSON.stringify(name)}: expected "/" then 1-253 characters without "/"`,
    );
  }
}
