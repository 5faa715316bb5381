// The node manager's view of a control store in another process (the head), over one
// connection. The node manager's interface is synchronous (it never waits on the
// control store): registrations and reports are sent, totals are served from a cache
// refreshed with every heartbeat.
import type { ControlStoreClient } from "../node-manager/index.js";
import { Msg, type NodeInfo } from "../protocol/index.js";
import type { ResourceMap } from "../scheduling/index.js";
import type { Connection } from "../transport/index.js";
import { log } from "../util/index.js";

/**
 * {@link ControlStoreClient} over a connection to the head. Ordering: messages leave in
 * call order on one connection, so a registration always precedes the node's heartbeats.
 * Failure: while the connection is down, reports are dropped (heartbeats are state and
 * the next one makes good a lost one); `nodeTotals` serves the last totals learned.
 */
export class RemoteControlStore implements ControlStoreClient {
  private totals: ResourceMap[] = [];
  private known: NodeInfo[] = [];
  private registered: Parameters<ControlStoreClient["registerNode"]>[0] | undefined;

  constructor(private readonly head: () => Connection | undefined) {}

  registerNode(info: Parameters<ControlStoreClient["registerNode"]>[0]): void {
    this.registered = info;
    this.totals = [info.total];
    const conn = this.head();
    if (!conn) return;
    conn.request({ t: Msg.RegisterNode, node: { ...info, alive: true } }).then(
      () => this.refresh(),
      (err: Error) => log.warn(`cannot register node ${info.nodeId} with the head: ${err.message}`),
    );
  }

  heartbeat(nodeId: string, available: ResourceMap): void {
    const conn = this.head();
    if (conn && !conn.isClosed) conn.send({ t: Msg.NodeHeartbeat, nodeId, available });
  }

  nodeTotals(): ResourceMap[] {
    return this.totals;
  }

  nodes(): NodeInfo[] {
    return this.known;
  }

  workerExited(
    workerId: string,
    pid: number,
    code: number | null,
    signal: string | null,
    reason?: string,
  ): void {
    const conn = this.head();
    if (conn && !conn.isClosed) conn.send({ t: Msg.WorkerExited, workerId, pid, code, signal, reason });
  }

  /** Re-learn the live nodes' totals (for the infeasibility check). Errors are left for the next refresh. */
  refresh(): void {
    const conn = this.head();
    if (!conn || conn.isClosed || !this.registered) return;
    conn.request({ t: Msg.GetNodes }).then(
      (nodes) => {
        this.known = nodes;
        this.totals = nodes.filter((n) => n.alive).map((n) => n.total);
      },
      () => undefined,
    );
  }
}
