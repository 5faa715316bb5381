/**
 * Process helpers for tests: liveness by pid, bounded polling, and teardown that
 * kills leftovers by pid. "Dead" includes zombies (exited, not yet reaped): an
 * orphan whose new parent does not reap it still shows up to `kill(pid, 0)`.
 */
import type { ChildProcess } from "node:child_process";
import { isAlive } from "../../src/util/index.js";

/** True while `pid` names a running (non-zombie) process: src/util's one copy. */
export { isAlive };

/** Resolves after `ms` (only for polling intervals inside bounded loops). */
function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Poll `check` until it returns a truthy value (returned) or `timeoutMs` passes
 * (then throws an Error saying what was awaited and the last value seen).
 */
export async function pollUntil<T>(
  check: () => T | Promise<T>,
  timeoutMs: number,
  what: string,
  intervalMs = 20,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    last = await check();
    if (last) return last as NonNullable<T>;
    if (Date.now() >= deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${JSON.stringify(last)})`);
    }
    await pause(intervalMs);
  }
}

/** Fails unless every pid is dead within `timeoutMs`; the message lists the survivors. */
export async function expectAllDead(pids: readonly number[], timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const alive = pids.filter(isAlive);
    if (alive.length === 0) return;
    if (Date.now() >= deadline) {
      throw new Error(
        `processes still alive ${timeoutMs} ms later: ${alive.join(", ")} (of ${pids.join(", ")})`,
      );
    }
    await pause(20);
  }
}

/** Teardown: SIGKILL every pid that is still alive (never throws). */
export function killPids(pids: Iterable<number>): void {
  for (const pid of pids) {
    if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) continue;
    try {
      if (isAlive(pid)) process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
}

/** Reject with an Error naming `what` if `p` does not settle within `ms`. */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

/**
 * Collect a child's stdout and stderr and wait (bounded by `ms`) for its exit: its
 * exit code (null when killed by a signal) and everything it printed.
 */
export async function outputOf(
  child: ChildProcess,
  ms: number,
  what: string,
): Promise<{ code: number | null; out: string; err: string }> {
  let out = "";
  let err = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  const code = await within(
    new Promise<number | null>((resolve) => child.once("exit", (c) => resolve(c))),
    ms,
    what,
  );
  return { code, out, err };
}
