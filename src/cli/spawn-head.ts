/**
 * Start a standalone (non-embedded) head process: detached, in its own session
 * directory under the session root, logging to `<sessionDir>/head.log`.
 */

import { type ChildProcess, fork } from "node:child_process";
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { sessionRoot } from "../api/index.js";
import { config } from "../config/index.js";
import type { HeadConfig } from "../head/index.js";
import { defaultObjectStoreMemory } from "../object-store/index.js";
import type { ResourceMap } from "../scheduling/index.js";
import { entryPoint } from "../util/index.js";
import { CliError } from "./errors.js";
import type { HeadRecord } from "./head-files.js";
import { removeStaleHeadDirs } from "./sweep.js";

/** What the caller decides about the new head. */
export interface SpawnHeadOptions {
  /** "unix" for a socket in the session dir, or a TCP port (0: any free port) on 127.0.0.1. */
  readonly listen: "unix" | number;
  readonly resources: ResourceMap;
  readonly gpuIds: number[] | undefined;
}

/** A started head: its record, and the child process (unref'd unless kept). */
export interface SpawnedHead {
  readonly record: HeadRecord;
  readonly child: ChildProcess;
}

function logTail(file: string): string {
  try {
    const lines = readFileSync(file, "utf8").trimEnd().split("\n");
    return lines.slice(-10).join("\n");
  } catch {
    return "";
  }
}

/** Start a head and wait until it listens. Throws CliError when it fails to come up. */
export async function spawnHead(opts: SpawnHeadOptions): Promise<SpawnedHead> {
  const root = sessionRoot();
  mkdirSync(root, { recursive: true, mode: 0o700 });
  removeStaleHeadDirs(root);
  const sessionDir = join(root, `head-${Date.now()}-${process.pid}`);
  mkdirSync(sessionDir, { mode: 0o700 });
  const logFile = join(sessionDir, "head.log");
  const cfg: HeadConfig = {
    sessionDir,
    address: opts.listen === "unix" ? join(sessionDir, "head.sock") : `tcp://127.0.0.1:${opts.listen}`,
    resources: opts.resources,
    gpuIds: opts.gpuIds,
    logToDriver: false,
    embedded: false,
    objectStoreMemory: defaultObjectStoreMemory(),
  };
  const entry = entryPoint("head/main");
  const logFd = openSync(logFile, "a", 0o600);
  let child: ChildProcess;
  try {
    child = fork(entry.file, [], {
      execArgv: entry.execArgv,
      env: { ...process.env, TSRAY_HEAD_CONFIG: JSON.stringify(cfg) },
      stdio: ["ignore", logFd, logFd, "ipc"],
      detached: true,
    });
  } finally {
    closeSync(logFd);
  }
  const ready = await new Promise<{ address: string; nodeId: string }>((resolve, reject) => {
    const ms = config().headStartTimeoutMs;
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new CliError(`the head did not start within ${ms} ms; see ${logFile}`));
    }, ms);
    child.once("message", (m) => {
      clearTimeout(timer);
      child.off("exit", onExit);
      resolve(m as { address: string; nodeId: string });
    });
    const onExit = (code: number | null, sig: NodeJS.Signals | null) => {
      clearTimeout(timer);
      const tail = logTail(logFile);
      reject(
        new CliError(`the head exited during start (code ${code}, signal ${sig})${tail ? `:\n${tail}` : ""}`),
      );
    };
    child.once("exit", onExit);
  }).catch((err: unknown) => {
    rmSync(sessionDir, { recursive: true, force: true });
    throw err;
  });
  writeFileSync(join(sessionDir, "head.pid"), String(child.pid), { mode: 0o600 });
  child.disconnect();
  const record: HeadRecord = {
    address: ready.address,
    pid: child.pid!,
    nodeId: ready.nodeId,
    sessionDir,
    logFile,
    startedAt: new Date().toISOString(),
  };
  return { record, child };
}
