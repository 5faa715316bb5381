/**
 * Helpers for the CLI tests: run `dist/cli/main.js` with a private session root,
 * poll with deadlines, and kill leftover processes by pid.
 */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { isAlive } from "../helpers/processes.js";

export { isAlive };

/** The repository root. */
export const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
/** The compiled CLI (the test runner builds before running tests). */
export const cliMain = fileURLToPath(new URL("../../dist/cli/main.js", import.meta.url));

/** The environment for CLI processes: this one, minus the test runner's marker. */
export function cliEnv(sessionRoot: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, TSRAY_SESSION_ROOT: sessionRoot, ...extra };
  delete env.NODE_TEST_CONTEXT;
  return env;
}

/** Exit code and output of one CLI run. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run `tsray ...args` to completion (60 s at most). */
export function runCli(
  args: string[],
  sessionRoot: string,
  extra?: Record<string, string>,
): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [cliMain, ...args],
      { env: cliEnv(sessionRoot, extra), timeout: 60_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** Poll `check` every 20 ms until it is truthy; throws after `timeoutMs`. */
export async function pollUntil<T>(check: () => T | Promise<T>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** SIGKILL every pid that is still alive. */
export function killPids(pids: Iterable<number>): void {
  for (const pid of pids) {
    if (!isAlive(pid)) continue;
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // Gone meanwhile.
    }
  }
}
