/**
 * Start a standalone (non-embedded) head process: detached, in its own session
 * directory under the session root, logging to `<sessionDir>/head.log`.
 */

import type { ChildProcess } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { sessionRoot } from "../api/index.js";
import type { HeadConfig } from "../head/index.js";
import { forkDaemon } from "../node/index.js";
import { defaultObjectStoreMemory } from "../object-store/index.js";
import type { ResourceMap } from "../scheduling/index.js";
import { CliError } from "./errors.js";
import type { HeadRecord } from "./head-files.js";
import { removeStaleHeadDirs } from "./sweep.js";

/** What the caller decides about the new head. */
export interface SpawnHeadOptions {
  /** "unix" for a socket in the session dir, or TCP: bind `host` (0.0.0.0: every interface), advertise `ip`, port 0: any free one. */
  readonly listen: "unix" | { readonly port: number; readonly bind: string; readonly ip: string };
  readonly resources: ResourceMap;
  readonly gpuIds: number[] | undefined;
  /** The node's labels (`--labels`), already validated. */
  readonly labels?: Record<string, string>;
}

/** A started head: its record, and the child process (unref'd unless kept). */
export interface SpawnedHead {
  readonly record: HeadRecord;
  readonly child: ChildProcess;
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
    address:
      opts.listen === "unix"
        ? join(sessionDir, "head.sock")
        : `tcp://${opts.listen.bind}:${opts.listen.port}`,
    advertise: opts.listen === "unix" ? undefined : `tcp://${opts.listen.ip}:${opts.listen.port}`,
    resources: opts.resources,
    gpuIds: opts.gpuIds,
    labels: opts.labels,
    logToDriver: false,
    embedded: false,
    objectStoreMemory: defaultObjectStoreMemory(),
  };
  const { ready, child } = await daemon({ kind: "head", sessionDir, logFile, config: cfg });
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

/** forkDaemon, its failures as CLI errors (exit 1 with the daemon's log tail). */
export async function daemon(spec: Parameters<typeof forkDaemon>[0]): ReturnType<typeof forkDaemon> {
  try {
    return await forkDaemon(spec);
  } catch (err) {
    throw new CliError((err as Error).message);
  }
}
