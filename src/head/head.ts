import { rmSync } from "node:fs";
import { join } from "node:path";
import { config } from "../config/index.js";
import { ActorManager, ControlStore, MemoryBackend } from "../control-store/index.js";
import { InfeasibleResourcesError } from "../errors/index.js";
import { NodeManager, type WorkerPoolFactory } from "../node-manager/index.js";
import {
  type ActorSpec,
  type HeadService,
  type Message,
  Msg,
  type RuntimeEnv,
  router,
} from "../protocol/index.js";
import { ClusterPolicy, type ClusterView, type ResourceMap, routeLease } from "../scheduling/index.js";
import { errorCodec } from "../serialization/index.js";
import { type Connection, createSecretFile, Endpoint, type Network, notServed } from "../transport/index.js";
import { type Clock, log, realClock, tcpHost } from "../util/index.js";
import { removeDeadDriverDir } from "./driver-dirs.js";

/** How a head process is configured (passed as JSON in TSRAY_HEAD_CONFIG). */
export interface HeadConfig {
  readonly sessionDir: string;
  /** Listen address (Unix socket path or tcp://host:port). */
  readonly address: string;
  readonly resources: ResourceMap;
  readonly gpuIds?: number[];
  /** The head node's labels (`tsray start --labels`), matched by label selectors. */
  readonly labels?: Record<string, string>;
  readonly logToDriver: boolean;
  /** Started by a driver's init(): exit when that driver goes away. */
  readonly embedded: boolean;
  /** Prestart workers for this runtime right away (embedded mode). */
  readonly runtime?: RuntimeEnv;
  /** Capacity of the object store, bytes. */
  readonly objectStoreMemory: number;
  /**
   * TCP heads: the address others dial when `address` binds every interface
   * (`tcp://0.0.0.0:PORT`), e.g. `tcp://10.0.0.1:PORT` (PORT 0: the port bound).
   */
  readonly advertise?: string;
}

/**
 * What a head talks to the world through. Defaults: real sockets, real time, worker
 * processes, a random node id and the secret file it creates; a simulation passes
 * in-memory ones (test/sim/).
 */
export interface HeadDeps {
  readonly network?: Network;
  readonly clock?: Clock;
  readonly workerPool?: WorkerPoolFactory;
  readonly nodeId?: string;
  /** The session secret; when given, no secret file is made (the caller hands it out). */
  readonly secret?: Uint8Array;
}

/**
 * A head node: the control store and this machine's node manager behind one
 * listening socket. Messages are routed by kind to the service that owns them; a
 * kind neither serves fails with ProtocolError. The head makes the session secret
 * (`<sessionDir>/secret`) every process of the session authenticates with.
 */
export class Head {
  readonly endpoint: Endpoint;
  readonly store: ControlStore;
  private readonly clock: Clock;
  nodeManager!: NodeManager;
  /** Actor placement (keeps SPREAD's round-robin cursor over actors). */
  private readonly actorPolicy = new ClusterPolicy();
  private stopped: Promise<void> | undefined;
  /** Called after stop() finished (the process entry exits). */
  onStopped: (() => void) | undefined;

  constructor(
    readonly cfg: HeadConfig,
    private readonly deps: HeadDeps = {},
  ) {
    this.clock = deps.clock ?? realClock;
    this.store = new ControlStore(new MemoryBackend(), this.clock);
    const secret = deps.secret ?? createSecretFile(cfg.sessionDir);
    this.endpoint = new Endpoint("head", (m, c) => this.route(m, c), errorCodec, secret, {
      network: deps.network,
      clock: this.clock,
    });
    this.endpoint.onPeer = (conn) => conn.onClose(() => this.nodeManager?.onDisconnect(conn));
  }

  async start(): Promise<void> {
    await this.endpoint.listen(this.cfg.address, this.cfg.advertise);
    const tcp = this.endpoint.listenAddress.startsWith("tcp://");
    // A TCP head's own workers reach it on a Unix socket; everyone else on the advertised address.
    const local = tcp && !this.deps.network ? join(this.cfg.sessionDir, "head.sock") : undefined;
    if (local) await this.endpoint.listen(local);
    const cfg = config();
    this.store.startHealthChecks(cfg.nodeHeartbeatMs, cfg.nodeDeathTimeoutMs, (node, why) =>
      log.warn(`node ${node.nodeId} at ${node.address} is dead: ${why}`),
    );
    this.store.actors = new ActorManager(this.endpoint, (spec) => this.placeActor(spec), this.clock);
    this.nodeManager = new NodeManager(
      {
        address: this.endpoint.listenAddress,
        sessionDir: this.cfg.sessionDir,
        resources: this.cfg.resources,
        gpuIds: this.cfg.gpuIds,
        labels: this.cfg.labels,
        logToDriver: this.cfg.logToDriver,
        isHead: true,
        prestartRuntime: this.cfg.runtime,
        objectStoreMemory: this.cfg.objectStoreMemory,
        workerAddress: local,
        nodeIp: tcp ? tcpHost(this.endpoint.listenAddress) : undefined,
        nodeId: this.deps.nodeId,
        workerPool: this.deps.workerPool,
        clock: this.clock,
        dial: (address) => this.endpoint.connect(address),
      },
      {
        registerNode: (info) => this.store.registerNode(info),
        heartbeat: (id, available) => this.store.heartbeat(id, available),
        nodeTotals: () => this.store.nodeTotals(),
        nodes: () => this.store.listNodes(),
        workerExited: (workerId, _pid, code, signal, reason) =>
          this.store.actors?.onWorkerExited(workerId, code, signal, reason),
      },
    );
  }

  /**
   * The node an actor is created on: the cluster policy from its owner's node's point
   * of view, with the actor's strategy and label selector (DEFAULT packs the owner's node
   * up to the spread threshold, then the least utilized node with room). When no node has
   * room, the node it queues on (see routeLease).
   * @throws InfeasibleResourcesError when no live node can ever run it, naming what is missing.
   */
  private placeActor(spec: ActorSpec): string {
    const nodes = this.store.listNodes();
    const view: ClusterView = nodes.map((n) => ({
      nodeId: n.nodeId,
      total: n.total,
      available: n.available ?? n.total,
      labels: n.labels ?? {},
      alive: n.alive,
    }));
    const owner = spec.ownerNode ?? this.nodeManager.nodeId;
    const request = { demand: spec.demand, strategy: spec.strategy, labelSelector: spec.labelSelector };
    const route = routeLease(this.actorPolicy, request, view, owner);
    if (route.kind === "infeasible") {
      const sep = route.reason.startsWith("needs ") ? " that " : ": ";
      throw new InfeasibleResourcesError(`cannot schedule actor ${spec.className}${sep}${route.reason}`);
    }
    const id = route.kind === "local" ? owner : route.nodeId;
    return nodes.find((n) => n.nodeId === id)?.address ?? this.endpoint.listenAddress;
  }

  /** What the head serves itself (HeadService); everything else goes to its node manager or control store. */
  private readonly own = router<HeadService, Connection>(
    { [Msg.ShutdownNode]: () => this.stop().then(() => ({ pids: [] })) },
    (t) => notServed("the head", t),
  );

  private route(msg: Message, conn: Connection): unknown {
    if (this.own.serves(msg.t)) return this.own.handle(msg, conn);
    if (msg.t === Msg.RegisterDriver && !this.cfg.embedded) {
      // An embedded head's driver dir is its own session dir (removed at stop); others are not.
      conn.onClose(() => void removeDeadDriverDir(conn.peerAddress, this.cfg.sessionDir));
    }
    // Which kinds go where is the services' own maps (their routers), not a list kept here.
    return this.nodeManager.serves(msg.t) ? this.nodeManager.handle(msg, conn) : this.store.handle(msg, conn);
  }

  /**
   * Kill every worker, close the socket; an embedded head also removes its driver's
   * session directory (sockets, logs, spill files), since it is the one process
   * sure to outlive that driver: it stops when the driver's IPC channel closes,
   * however the driver died. Idempotent.
   */
  stop(): Promise<void> {
    this.stopped ??= (async () => {
      log.debug("head stopping");
      await this.nodeManager?.stop();
      await this.store.close();
      if (this.cfg.embedded) {
        try {
          rmSync(this.cfg.sessionDir, { recursive: true, force: true });
        } catch (err) {
          log.warn(`cannot remove the session directory ${this.cfg.sessionDir}: ${(err as Error).message}`);
        }
      }
      // After the ShutdownNode reply has gone out.
      this.clock.setTimeout(() => {
        this.endpoint.close();
        this.onStopped?.();
      }, 0);
    })();
    return this.stopped;
  }
}
