import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { sessionRoot } from "../api/index.js";
import { RuntimeUnavailableError } from "../errors/index.js";
import type { HeadConfig } from "../head/index.js";
import { forkDaemon, type WorkerNodeConfig } from "../node/index.js";
import { defaultObjectStoreMemory } from "../object-store/index.js";
import { Msg, type NodeInfo } from "../protocol/index.js";
import { type ResourceMap, toDemand, validateNodeLabels } from "../scheduling/index.js";
import { errorCodec } from "../serialization/index.js";
import { createSecretFile, Endpoint, readSecretFile } from "../transport/index.js";
import { displayAddress, isAlive, withDeadline } from "../util/index.js";

/** Resources of a node of a {@link Cluster}. */
export interface ClusterNodeOptions {
  /** Default 1. */
  readonly numCpus?: number;
  /** Default 0. */
  readonly numGpus?: number;
  /** Custom resources, e.g. `{ accel: 2 }`. */
  readonly resources?: Record<string, number>;
  /** Object store capacity in bytes (default: the machine's default). */
  readonly objectStoreMemory?: number;
  /** Node labels for label selectors, e.g. `{ zone: "a" }` (checked: a bad one is a TypeError). */
  readonly labels?: Record<string, string>;
}

/** One node of a {@link Cluster}: a real process with its own session directory and store. */
export interface ClusterNode {
  readonly nodeId: string;
  /** `host:port`: what `init({ address })` takes to connect a driver to this node. */
  readonly address: string;
  readonly pid: number;
  readonly sessionDir: string;
  readonly isHead: boolean;
}

let seq = 0;

function labelsOf(opts: ClusterNodeOptions): Record<string, string> | undefined {
  return opts.labels === undefined
    ? undefined
    : { ...validateNodeLabels(opts.labels, "Cluster node labels") };
}

function resourcesOf(opts: ClusterNodeOptions): ResourceMap {
  return toDemand(
    { numCpus: opts.numCpus ?? 1, numGpus: opts.numGpus ?? 0, resources: opts.resources },
    0,
    "Cluster node options",
  );
}

/**
 * A multi-node tsray cluster on this machine, for tests and experiments (Ray's
 * `ray.cluster_utils.Cluster`): a head and worker nodes as real processes on loopback
 * TCP, each with its own session directory and shared-memory store, as separate
 * machines would be. Drivers join with `init({ address: cluster.address })` (the head)
 * or a node's `address`. `shutdown()` stops every node it started and removes their
 * directories; nothing is left behind.
 */
export class Cluster {
  readonly nodes: ClusterNode[] = [];
  private readonly host: string;
  private secret!: Buffer;

  private constructor(host: string) {
    this.host = host;
  }

  /** Start a cluster with its head (resources of `head`, default 1 CPU) on `host` (default 127.0.0.1). */
  static async start(opts: { head?: ClusterNodeOptions; host?: string } = {}): Promise<Cluster> {
    const c = new Cluster(opts.host ?? "127.0.0.1");
    await c.startHead(opts.head ?? {});
    return c;
  }

  /** The head's `host:port`. */
  get address(): string {
    return this.nodes[0]!.address;
  }

  private newDir(kind: "head" | "node"): string {
    const root = sessionRoot();
    mkdirSync(root, { recursive: true, mode: 0o700 });
    const dir = join(root, `${kind}-${Date.now()}-${process.pid}-${++seq}`);
    mkdirSync(dir, { mode: 0o700 });
    return dir;
  }

  private async startHead(opts: ClusterNodeOptions): Promise<void> {
    const sessionDir = this.newDir("head");
    const cfg: HeadConfig = {
      sessionDir,
      address: `tcp://${this.host}:0`,
      resources: resourcesOf(opts),
      labels: labelsOf(opts),
      logToDriver: false,
      embedded: false,
      objectStoreMemory: opts.objectStoreMemory ?? defaultObjectStoreMemory(),
    };
    const { ready, child } = await forkDaemon({
      kind: "head",
      sessionDir,
      logFile: join(sessionDir, "head.log"),
      config: cfg,
    });
    child.unref();
    this.secret = readSecretFile(sessionDir);
    this.record({ nodeId: ready.nodeId, address: ready.address, pid: child.pid!, sessionDir, isHead: true });
  }

  private record(n: {
    nodeId: string;
    address: string;
    pid: number;
    sessionDir: string;
    isHead: boolean;
  }): ClusterNode {
    const kind = n.isHead ? "head" : "node";
    writeFileSync(
      join(n.sessionDir, `${kind}.json`),
      `${JSON.stringify({ ...n, headAddress: this.nodes[0]?.address })}\n`,
      {
        mode: 0o600,
      },
    );
    const node: ClusterNode = { ...n, address: displayAddress(n.address) };
    this.nodes.push(node);
    return node;
  }

  /** Start a worker node joined to the head; resolves once it has registered. */
  async addNode(opts: ClusterNodeOptions = {}): Promise<ClusterNode> {
    const sessionDir = this.newDir("node");
    createSecretFile(sessionDir, this.secret);
    const cfg: WorkerNodeConfig = {
      sessionDir,
      address: `tcp://${this.host}:0`,
      headAddress: `tcp://${this.address}`,
      resources: resourcesOf(opts),
      labels: labelsOf(opts),
      logToDriver: false,
      objectStoreMemory: opts.objectStoreMemory ?? defaultObjectStoreMemory(),
    };
    const { ready, child } = await forkDaemon({
      kind: "node",
      sessionDir,
      logFile: join(sessionDir, "node.log"),
      config: cfg,
    });
    child.unref();
    return this.record({
      nodeId: ready.nodeId,
      address: ready.address,
      pid: child.pid!,
      sessionDir,
      isHead: false,
    });
  }

  /** Stop a worker node cleanly (its workers with it) and wait until its process is gone. */
  async removeNode(node: ClusterNode): Promise<void> {
    await this.killNode(node, { graceful: true });
  }

  /**
   * End a node's process: SIGTERM when `graceful` (it stops its workers and removes its
   * directory), else SIGKILL (as a machine that dies; its workers notice and exit).
   * Resolves once the process is gone (bounded: 30 s).
   */
  async killNode(node: ClusterNode, opts: { graceful?: boolean } = {}): Promise<void> {
    const i = this.nodes.indexOf(node);
    if (i < 0) throw new TypeError(`killNode(): ${node.address} is not a node of this cluster`);
    try {
      process.kill(node.pid, opts.graceful ? "SIGTERM" : "SIGKILL");
    } catch {
      // Already gone.
    }
    await waitGone(node.pid, 30_000);
    this.nodes.splice(i, 1);
    if (!opts.graceful) rmSync(node.sessionDir, { recursive: true, force: true });
  }

  /** The head's node table (every node it knows of, dead ones too). */
  async nodeTable(): Promise<NodeInfo[]> {
    const ep = new Endpoint(`cluster-${process.pid}`, () => undefined, errorCodec, this.secret);
    try {
      const conn = await withDeadline(ep.connect(`tcp://${this.address}`), 5000, "connecting to the head");
      return await withDeadline(conn.request({ t: Msg.GetNodes }), 5000, "GetNodes");
    } finally {
      ep.close();
    }
  }

  /** Wait until the head counts `n` live nodes (head included). Rejects after `timeoutMs`. */
  async waitForNodes(n: number, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const alive = (await this.nodeTable()).filter((x) => x.alive).length;
      if (alive === n) return;
      if (Date.now() > deadline) {
        throw new RuntimeUnavailableError(`waitForNodes(${n}): ${alive} live nodes after ${timeoutMs} ms`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Stop every node, then the head; remove their directories. Idempotent. */
  async shutdown(): Promise<void> {
    for (const node of [...this.nodes].reverse()) {
      if (isAlive(node.pid)) await this.killNode(node, { graceful: true });
      rmSync(node.sessionDir, { recursive: true, force: true });
    }
    this.nodes.length = 0;
  }
}

async function waitGone(pid: number, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (isAlive(pid)) {
    if (Date.now() > deadline) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // gone
      }
      throw new RuntimeUnavailableError(`process ${pid} did not exit within ${ms} ms; killed it`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}
