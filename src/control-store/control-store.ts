import { RuntimeUnavailableError } from "../errors/index.js";
import type { Message, NodeInfo } from "../protocol/index.js";
import { Msg } from "../protocol/index.js";
import type { ResourceMap } from "../scheduling/index.js";
import { type Connection, notServed } from "../transport/index.js";
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
  /** The actor directory (set by the head once its endpoint exists). */
  actors: ActorManager | undefined;

  constructor(private readonly backend: StorageBackend) {}

  private actorManager(): ActorManager {
    if (!this.actors)
      throw new RuntimeUnavailableError(
        "this control store has no actor manager yet (the head is still starting)",
      );
    return this.actors;
  }

  /** Handle a control-store message; throws ProtocolError for a kind it does not serve. */
  handle(msg: Message, conn: Connection): unknown {
    switch (msg.t) {
      case Msg.RegisterNode:
        this.registerNode(msg.node);
        return {};
      case Msg.NodeHeartbeat:
        this.heartbeat(msg.nodeId, msg.available);
        return undefined;
      case Msg.GetNodes:
        return this.listNodes();
      case Msg.RegisterJob:
        return { jobId: this.newJobId() };
      case Msg.KvPut:
        return this.backend
          .put(`kv:${msg.ns}`, msg.key, msg.value, msg.overwrite)
          .then((added) => ({ added }));
      case Msg.KvGet:
        return this.backend.get(`kv:${msg.ns}`, msg.key).then((value) => (value ? { value } : {}));
      case Msg.KvDelete:
        return this.backend.delete(`kv:${msg.ns}`, msg.key).then((deleted) => ({ deleted }));
      case Msg.GetClusterResources:
        return this.clusterResources();
      case Msg.RegisterActor:
        return this.actorManager().register(msg.spec, conn);
      case Msg.GetActorInfo:
        return this.actorManager().getInfo(msg.actorId, msg.after);
      case Msg.GetNamedActor:
        return this.actorManager().getNamed(msg.name, msg.namespace);
      case Msg.KillActor:
        return this.actorManager().kill(msg.actorId, msg.noRestart, msg.cause);
      case Msg.ListActors:
        return this.actorManager().list();
      case Msg.WorkerExited:
        this.actors?.onWorkerExited(msg.workerId, msg.code, msg.signal, msg.reason);
        return undefined;
      case Msg.SaveActorCheckpoint:
        return this.actorManager().saveCheckpoint(msg.actorId, msg.inc, msg.ckpt);
      case Msg.ActorOwnerGone:
        this.actors?.onOwnerGone(msg.owner);
        return undefined;
      default:
        throw notServed("the control store", msg.t);
    }
  }

  /** Add or refresh a node. Idempotent per nodeId. */
  registerNode(info: Omit<NodeInfo, "alive">): void {
    this.nodes.set(info.nodeId, {
      info: { ...info, alive: true },
      available: info.total,
      lastHeartbeat: Date.now(),
    });
  }

  heartbeat(nodeId: string, available: ResourceMap): void {
    const n = this.nodes.get(nodeId);
    if (!n) return;
    n.available = available;
    n.lastHeartbeat = Date.now();
  }

  listNodes(): NodeInfo[] {
    return [...this.nodes.values()].map((n) => n.info);
  }

  /** Totals of live nodes. */
  nodeTotals(): ResourceMap[] {
    return [...this.nodes.values()].filter((n) => n.info.alive).map((n) => n.info.total);
  }

  clusterResources(): { total: Record<string, number>; available: Record<string, number> } {
    const live = [...this.nodes.values()].filter((n) => n.info.alive);
    return { total: sum(live.map((n) => n.info.total)), available: sum(live.map((n) => n.available)) };
  }

  newJobId(): string {
    return (this.nextJob++).toString(16).padStart(4, "0");
  }

  async close(): Promise<void> {
    await this.backend.close();
  }
}
