/**
 * Start a worker node process (`tsray start --address`): detached, in its own `node-*`
 * session directory under the session root (its own sockets, logs, spill files and
 * store segment: nothing shared with other nodes on this machine), holding the
 * cluster's secret in `<sessionDir>/secret` (0600) for its workers.
 */
import type { ChildProcess } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { sessionRoot } from "../api/index.js";
import type { WorkerNodeConfig } from "../node/index.js";
import { defaultObjectStoreMemory } from "../object-store/index.js";
import type { ResourceMap } from "../scheduling/index.js";
import { createSecretFile } from "../transport/index.js";
import type { NodeRecord } from "./node-files.js";
import { daemon } from "./spawn-head.js";
import { removeStaleHeadDirs } from "./sweep.js";

/** What the caller decided about the new node. */
export interface SpawnNodeOptions {
  /** The head to join (`tcp://host:port`). */
  readonly headAddress: string;
  /** The cluster's secret. */
  readonly secret: Buffer;
  readonly resources: ResourceMap;
  readonly gpuIds: number[] | undefined;
  /** The node's labels (`--labels`), already validated. */
  readonly labels?: Record<string, string>;
  /** TCP: bind `bind` (0.0.0.0: every interface), advertise `ip`; port 0: any free one. */
  readonly port: number;
  readonly bind: string;
  readonly ip: string;
}

/** Start a node and wait until it joined the head. Throws CliError (with its log's end) when it cannot. */
export async function spawnNode(
  opts: SpawnNodeOptions,
): Promise<{ record: NodeRecord; child: ChildProcess }> {
  const root = sessionRoot();
  mkdirSync(root, { recursive: true, mode: 0o700 });
  removeStaleHeadDirs(root);
  const sessionDir = join(root, `node-${Date.now()}-${process.pid}`);
  mkdirSync(sessionDir, { mode: 0o700 });
  createSecretFile(sessionDir, opts.secret);
  const logFile = join(sessionDir, "node.log");
  const cfg: WorkerNodeConfig = {
    sessionDir,
    address: `tcp://${opts.bind}:${opts.port}`,
    advertise: `tcp://${opts.ip}:${opts.port}`,
    headAddress: opts.headAddress,
    resources: opts.resources,
    gpuIds: opts.gpuIds,
    labels: opts.labels,
    logToDriver: false,
    objectStoreMemory: defaultObjectStoreMemory(),
  };
  const { ready, child } = await daemon({ kind: "node", sessionDir, logFile, config: cfg });
  const record: NodeRecord = {
    address: ready.address,
    headAddress: opts.headAddress,
    pid: child.pid!,
    nodeId: ready.nodeId,
    sessionDir,
    logFile,
    startedAt: new Date().toISOString(),
  };
  return { record, child };
}
