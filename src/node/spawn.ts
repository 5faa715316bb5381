/**
 * Fork a detached tsray daemon (a head or a worker node) in its own session directory
 * under the session root, logging to a file there, and wait until it reports ready.
 */
import { type ChildProcess, fork } from "node:child_process";
import { closeSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { config } from "../config/index.js";
import { RuntimeUnavailableError } from "../errors/index.js";
import { entryPoint } from "../util/index.js";

/** What a daemon reports when it is ready. */
export interface ReadyMessage {
  readonly address: string;
  readonly nodeId: string;
}

/** What to start. */
export interface DaemonSpec {
  /** "head" or "node": the entry point `<kind>/main`, its config variable and its pid file. */
  readonly kind: "head" | "node";
  readonly sessionDir: string;
  readonly logFile: string;
  /** Passed as JSON in TSRAY_HEAD_CONFIG / TSRAY_NODE_CONFIG. */
  readonly config: unknown;
}

function logTail(file: string): string {
  try {
    return readFileSync(file, "utf8").trimEnd().split("\n").slice(-10).join("\n");
  } catch {
    return "";
  }
}

/**
 * Fork it and wait (TSRAY_HEAD_START_TIMEOUT_MS) for its ready message; writes
 * `<sessionDir>/<kind>.pid`. On failure the session directory is removed and a
 * RuntimeUnavailableError carries the end of its log.
 */
export async function forkDaemon(spec: DaemonSpec): Promise<{ ready: ReadyMessage; child: ChildProcess }> {
  const entry = entryPoint(`${spec.kind}/main`);
  const logFd = openSync(spec.logFile, "a", 0o600);
  let child: ChildProcess;
  try {
    child = fork(entry.file, [], {
      execArgv: entry.execArgv,
      env: {
        ...process.env,
        [spec.kind === "head" ? "TSRAY_HEAD_CONFIG" : "TSRAY_NODE_CONFIG"]: JSON.stringify(spec.config),
      },
      stdio: ["ignore", logFd, logFd, "ipc"],
      detached: true,
    });
  } finally {
    closeSync(logFd);
  }
  const ready = await new Promise<ReadyMessage>((resolve, reject) => {
    const ms = config().headStartTimeoutMs;
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(
        new RuntimeUnavailableError(`the ${spec.kind} did not start within ${ms} ms; see ${spec.logFile}`),
      );
    }, ms);
    child.once("message", (m) => {
      clearTimeout(timer);
      child.off("exit", onExit);
      resolve(m as ReadyMessage);
    });
    const onExit = (code: number | null, sig: NodeJS.Signals | null) => {
      clearTimeout(timer);
      const tail = logTail(spec.logFile);
      reject(
        new RuntimeUnavailableError(
          `the ${spec.kind} exited during start (code ${code}, signal ${sig})${tail ? `:\n${tail}` : ""}`,
        ),
      );
    };
    child.once("exit", onExit);
  }).catch((err: unknown) => {
    rmSync(spec.sessionDir, { recursive: true, force: true });
    throw err;
  });
  writeFileSync(join(spec.sessionDir, `${spec.kind}.pid`), String(child.pid), { mode: 0o600 });
  child.disconnect();
  return { ready, child };
}
