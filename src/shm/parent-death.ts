import { constants } from "node:os";
import { invalidArg } from "./checks.js";
import type { ParentDeathMechanism } from "./types.js";

const POLL_MS = 200;
let pollTimer: NodeJS.Timeout | undefined;

/** Resolves a signal name or number to its number; throws `TypeError` for unknown ones. */
export function signalNumber(signal: NodeJS.Signals | number): number {
  if (typeof signal === "number") {
    if (!Number.isInteger(signal) || signal < 0 || signal > 64) {
      throw invalidArg(`signal must be an integer 0-64, got ${signal}`);
    }
    return signal;
  }
  const n = (constants.signals as Record<string, number | undefined>)[signal];
  if (n === undefined) throw invalidArg(`unknown signal ${JSON.stringify(signal)}`);
  return n;
}

/**
 * Portable stand-in for prctl(PR_SET_PDEATHSIG): an unref'd timer that checks
 * `process.ppid` every 200 ms and sends `signal` to this process once the parent
 * with pid `parentPid` is gone (the process is re-parented). Signal 0 cancels it.
 */
export function pollParentDeath(signal: number, parentPid: number): ParentDeathMechanism {
  if (pollTimer !== undefined) clearInterval(pollTimer);
  pollTimer = undefined;
  if (signal === 0) return "poll";
  const check = (): void => {
    if (process.ppid !== parentPid) process.kill(process.pid, signal);
  };
  check();
  pollTimer = setInterval(check, POLL_MS);
  pollTimer.unref();
  return "poll";
}
