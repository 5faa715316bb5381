import { RuntimeUnavailableError } from "../errors/index.js";
import type { ClusterResources, ControlStoreService, Message, NodeInfo } from "../protocol/index.js";
import { Msg, router } from "../protocol/index.js";
import type { ResourceMap } from "../scheduling/index.js";
import { type Connection, notServed } from "../transport/index.js";
import { type Clock, realClock, type Timer } from "../util/index.js";
import type { ActorManager } from "./actor-manager.js";
import type { StorageBackend } from "./backend.js";

interface NodeEntry {
  info: NodeInfo;
  available: ResourceMap;
  lastHeartbeat: number;
}

function sum(maps: readonly ResourceMap[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of maps)
    for (const [k, v] of Object.entries(m)) out[k] = Math.round(((out[k] ?? 0) + v) * 1e4) / 1e4;
  return out;
}

/**
 * The cluster's control store (Ray's GCS), on the head: node table with
 * heartbeats, job ids and a small KV. Node liveness is kept in memory (it is
 * rebuilt by heartbeats after a restart); durable tables go through the backend.
 */
export class ControlStore {
  private readonly nodes = new Map<string, NodeEntry>();
  private nextJob = 1;
  private healthTimer: Timer | undefined;
  private onNodeDead: ((node: NodeInfo, why: string) => void) | undefined;
  /** The actor directory (set by the head once its endpoint exists). */
  actors: ActorManager | undefined;

  /** @param clock stamps heartbeats (default: real time). */
  constructor(
    private readonly backend: StorageBackend,
    private readonly clock: Clock = realClock,
  ) {}

  private actorManager(): ActorManager {
    if (!this.actors)
      throw new RuntimeUnavailableError(
        "this control store has no actor manager yet (the head is still starting)",
      );
    return this.actors;
  }

  /** Handle a control-store message; throws ProtocolError for a kind it does not serve. */
  handle(msg: Message, conn: Connection): unknown {
    return this.router.handle(msg, conn);
  }

  /** One handler per kind of ControlStoreService: a missing kind or a wrong reply type does not compile. */
  private readonly router = router<ControlStoreService, Connection>(
    {
      [Msg.RegisterNode]: (msg, conn) => {
        this.registerNode(msg.node);
        // A node's process holds this connection for life: its close is the node's death.
        conn.onClose(() => this.markDead(msg.node.nodeId, "its connection to the head closed"));
        return {};
      },
      [Msg.NodeHeartbeat]: (msg) => this.heartbeat(msg.nodeId, msg.available),
      [Msg.GetNodes]: () => this.listNodes(),
      [Msg.RegisterJob]: () => ({ jobId: this.newJobId() }),
      [Msg.KvPut]: (msg) =>
        this.backend.put(`kv:${msg.ns}`, msg.key, msg.value, msg.overwrite).then((added) => ({ added })),
      [Msg.KvGet]: (msg) =>
        this.backend.get(`kv:${msg.ns}`, msg.key).then((value) => (value ? { value } : {})),
      [Msg.KvDelete]: (msg) => this.backend.delete(`kv:${msg.ns}`, msg.key).then((deleted) => ({ deleted })),
      [Msg.GetClusterResources]: () => this.clusterResources(),
      [Msg.RegisterActor]: (msg, conn) => this.actorManager().register(msg.spec, conn),
      [Msg.GetActorInfo]: (msg) => this.actorManager().getInfo(msg.actorId, msg.after),
      [Msg.GetNamedActor]: (msg) => this.actorManager().getNamed(msg.name, msg.namespace),
      [Msg.KillActor]: (msg) => this.actorManager().kill(msg.actorId, msg.noRestart, msg.cause),
      [Msg.ListActors]: () => this.actorManager().list(),
      [Msg.WorkerExited]: (msg) =>
        this.actors?.onWorkerExited(msg.workerId, msg.code, msg.signal, msg.reason),
      [Msg.SaveActorCheckpoint]: (msg) => this.actorManager().saveCheckpoint(msg.actorId, msg.inc, msg.ckpt),
      [Msg.ActorOwnerGone]: (msg) => this.actors?.onOwnerGone(msg.owner),
    },
    (t) => notServed("the control store", t),
  );

  /** Add or refresh a node. Idempotent per nodeId. */
  registerNode(info: Omit<NodeInfo, "alive">): void {
    this.nodes.set(info.nodeId, {
      info: { ...info, alive: true },
      available: info.total,
      lastHeartbeat: this.clock.now(),
    });
  }

  /** A node's available resources (also proof it lives). Unknown or dead nodes are ignored: a dead node stays dead. */
  heartbeat(nodeId: string, available: ResourceMap): void {
    const n = this.nodes.get(nodeId);
    if (!n?.info.alive) return;
    n.available = available;
    n.lastHeartbeat = this.clock.now();
  }

  /**
   * Start declaring worker nodes dead that have not been heard from for `timeoutMs`
   * (checked every `periodMs`); `onDead` is told of each, once. The head's own node is
   * in-process and never checked. Idempotent; stopped by close().
   */
  startHealthChecks(
    periodMs: number,
    timeoutMs: number,
    onDead: (node: NodeInfo, why: string) => void,
  ): void {
    this.onNodeDead = onDead;
    if (this.healthTimer || periodMs <= 0 || timeoutMs <= 0) return;
    this.healthTimer = this.clock
      .setInterval(() => {
        const now = this.clock.now();
        for (const n of this.nodes.values()) {
          if (n.info.isHead || !n.info.alive || now - n.lastHeartbeat < timeoutMs) continue;
          this.markDead(n.info.nodeId, `no heartbeat for ${timeoutMs} ms`);
        }
      }, periodMs)
      .unref();
  }

  /**
   * Declare a worker node dead (once): it leaves the cluster's resources, its actors
   * restart elsewhere or die ("its node died"), and the callback of startHealthChecks
   * is told. Unknown, dead or head nodes are ignored.
   */
  markDead(nodeId: string, why: string): void {
    const n = this.nodes.get(nodeId);
    if (!n || n.info.isHead || !n.info.alive) return;
    n.info.alive = false;
    n.available = {};
    this.actors?.onNodeDead(n.info.address, `its node ${nodeId} at ${n.info.address} died (${why})`, nodeId);
    this.onNodeDead?.(n.info, why);
  }

  /** Live nodes with their last reported availability, in registration order. */
  liveNodes(): Array<{ info: NodeInfo; available: ResourceMap }> {
    return [...this.nodes.values()]
      .filter((n) => n.info.alive)
      .map((n) => ({ info: n.info, available: n.available }));
  }

  listNodes(): NodeInfo[] {
    return [...this.nodes.values()].map((n) => ({ ...n.info, available: n.available }));
  }

  /** Totals of live nodes. */
  nodeTotals(): ResourceMap[] {
    return [...this.nodes.values()].filter((n) => n.info.alive).map((n) => n.info.total);
  }

  clusterResources(): ClusterResources {
    const live = [...this.nodes.values()].filter((n) => n.info.alive);
    return { total: sum(live.map((n) => n.info.total)), available: sum(live.map((n) => n.available)) };
  }

  newJobId(): string {
    return (this.nextJob++).toString(16).padStart(4, "0");
  }

  async close(): Promise<void> {
    this.clock.clearTimer(this.healthTimer);
    await this.backend.close();
  }
}
