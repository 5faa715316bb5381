import { join } from "node:path";
import { config } from "../config/index.js";
import { RuntimeUnavailableError } from "../errors/index.js";
import type { HeadDeps } from "../head/index.js";
import { NodeManager } from "../node-manager/index.js";
import { type Message, Msg } from "../protocol/index.js";
import type { ResourceMap } from "../scheduling/index.js";
import { errorCodec } from "../serialization/index.js";
import { type Connection, Endpoint, notServed, readSecretFile } from "../transport/index.js";
import { type Clock, log, realClock, type Timer, tcpHost } from "../util/index.js";
import { RemoteControlStore } from "./remote-control-store.js";

/** How a worker node is configured. */
export interface WorkerNodeConfig {
  readonly sessionDir: string;
  /** Where its node manager listens (a Unix socket path or `tcp://host:port`; port 0: any free one). */
  readonly address: string;
  /** What others dial when `address` binds every interface (see HeadConfig.advertise). */
  readonly advertise?: string;
  /** The head (control store) it joins. */
  readonly headAddress: string;
  readonly resources: ResourceMap;
  readonly gpuIds?: number[];
  /** The node's labels, matched by label selectors. */
  readonly labels?: Record<string, string>;
  readonly logToDriver: boolean;
  /** Capacity of the node's object store, bytes. */
  readonly objectStoreMemory: number;
}

/**
 * A node that is not the head: this machine's node manager behind its own endpoint,
 * joined to the head's control store over one connection (registration, a heartbeat
 * every `nodeHeartbeatMs`, worker exits). Control-store messages are not served here:
 * processes send them to the head. Takes the same injected network, clock and pool as
 * the head ({@link HeadDeps}).
 *
 * Failure: when the connection to the head closes the node stops (killing its workers)
 * and `onHeadLost` is told: without a durable head a cluster does not outlive it.
 */
export class WorkerNode {
  readonly endpoint: Endpoint;
  nodeManager!: NodeManager;
  /** Called once when the head's connection closed and the node stopped because of it. */
  onHeadLost: ((err: Error) => void) | undefined;
  private head: Connection | undefined;
  private readonly clock: Clock;
  private heartbeat: Timer | undefined;
  private stopped: Promise<void> | undefined;

  constructor(
    readonly cfg: WorkerNodeConfig,
    private readonly deps: HeadDeps = {},
  ) {
    this.clock = deps.clock ?? realClock;
    const secret = deps.secret ?? readSecretFile(cfg.sessionDir);
    this.endpoint = new Endpoint(deps.nodeId ?? "node", (m, c) => this.route(m, c), errorCodec, secret, {
      network: deps.network,
      clock: this.clock,
    });
    this.endpoint.onPeer = (conn) => conn.onClose(() => this.nodeManager?.onDisconnect(conn));
  }

  /** Where its node manager listens ("" before start). */
  get address(): string {
    return this.endpoint.listenAddress;
  }

  /** Listen, connect to the head, register. Rejects (RuntimeUnavailableError) when the head cannot be reached. */
  async start(): Promise<void> {
    await this.endpoint.listen(this.cfg.address, this.cfg.advertise);
    const tcp = this.endpoint.listenAddress.startsWith("tcp://");
    // Its own workers reach it on a Unix socket; other machines on the advertised address.
    const local = tcp && !this.deps.network ? join(this.cfg.sessionDir, "node.sock") : undefined;
    if (local) await this.endpoint.listen(local);
    const head = await this.endpoint.connect(this.cfg.headAddress);
    // Only a head serves the control store: anything else (a worker node) refuses this.
    await head.request({ t: Msg.GetClusterResources }).catch((err: Error) => {
      head.destroy();
      throw new RuntimeUnavailableError(
        `${this.cfg.headAddress} is not a tsray head (${err.message}); join the head's address, not a node's`,
      );
    });
    this.head = head;
    const store = new RemoteControlStore(() => this.head);
    this.nodeManager = new NodeManager(
      {
        nodeId: this.deps.nodeId,
        address: this.endpoint.listenAddress,
        sessionDir: this.cfg.sessionDir,
        resources: this.cfg.resources,
        gpuIds: this.cfg.gpuIds,
        labels: this.cfg.labels,
        logToDriver: this.cfg.logToDriver,
        isHead: false,
        objectStoreMemory: this.cfg.objectStoreMemory,
        workerAddress: local,
        controlStoreAddress: this.cfg.headAddress,
        nodeIp: tcp ? tcpHost(this.endpoint.listenAddress) : undefined,
        workerPool: this.deps.workerPool,
        clock: this.clock,
        dial: (address) => this.endpoint.connect(address),
      },
      store,
    );
    const every = config().nodeHeartbeatMs;
    if (every > 0) {
      this.heartbeat = this.clock
        .setInterval(() => {
          store.heartbeat(this.nodeManager.nodeId, this.nodeManager.resources.available);
          store.refresh();
        }, every)
        .unref();
    }
    head.onClose((err) => {
      if (this.stopped) return;
      log.warn(
        `node ${this.nodeManager.nodeId}: the head at ${this.cfg.headAddress} is gone (${err.message}); stopping`,
      );
      void this.stop().then(() => this.onHeadLost?.(err));
    });
  }

  private route(msg: Message, conn: Connection): unknown {
    if (this.nodeManager.serves(msg.t)) return this.nodeManager.handle(msg, conn);
    throw notServed(
      `node ${this.nodeManager.nodeId} (send control-store messages to the head at ${this.cfg.headAddress})`,
      msg.t,
    );
  }

  /** Kill every worker, close every connection. Idempotent. */
  stop(): Promise<void> {
    this.stopped ??= (async () => {
      this.clock.clearTimer(this.heartbeat);
      await this.nodeManager?.stop();
      this.endpoint.close();
    })();
    return this.stopped;
  }
}
