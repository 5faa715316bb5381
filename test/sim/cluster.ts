// A whole tsray cluster in one process, deterministic: the real head (control store,
// actor manager, node manager), real worker nodes and real core workers (drivers and
// workers), all on one in-memory network and one fake clock, seeded. Worker
// "processes" are core workers booted by an in-memory pool; killing one cuts its links
// at once, as a SIGKILL would. See docs/design/simulation.md.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ActorHandle, CoreWorker, type ObjectRef } from "../../src/core-worker/index.js";
import { Head } from "../../src/head/index.js";
import { WorkerNode } from "../../src/node/index.js";
import { type InMemoryWorker, InMemoryWorkerPool, type NodeManager } from "../../src/node-manager/index.js";
import { Msg, type RuntimeEnv } from "../../src/protocol/index.js";
import { MemoryNetwork } from "../../src/transport/index.js";
import { FakeClock } from "../../src/util/index.js";
import { resetFunctions, simTime } from "./functions.js";

/** A node of the simulation: the head's own node manager, or a worker node's. */
export interface SimNode {
  readonly name: string;
  readonly address: string;
  readonly nodeManager: NodeManager;
  readonly pool: InMemoryWorkerPool;
  /** Worker node only (the head node has none). */
  readonly worker?: WorkerNode;
}

/** A driver: its core worker and the refs and handles a scenario named. */
export interface SimDriver {
  readonly name: string;
  readonly node: SimNode;
  readonly cw: CoreWorker;
  readonly refs: Map<string, ObjectRef<unknown>>;
  readonly handles: Map<string, ActorHandle>;
  dead: boolean;
}

/** A worker "process": the core worker an in-memory pool booted for a start. */
export interface SimWorker {
  readonly id: string;
  readonly node: SimNode;
  readonly cw: CoreWorker;
  dead: boolean;
}

const SECRET = new Uint8Array(32).fill(7);
/** Names process.getActiveResourcesInfo() gives file requests in flight. */
const FILE_REQUESTS = new Set(["FSReqPromise", "FSReqCallback", "FileHandleCloseReq", "CloseReq"]);

/** The simulated cluster. Every event a scenario may want to see is appended to `events`. */
export class SimCluster {
  readonly clock = new FakeClock(0);
  readonly net: MemoryNetwork;
  readonly nodes = new Map<string, SimNode>();
  readonly drivers = new Map<string, SimDriver>();
  readonly workers = new Map<string, SimWorker>();
  /** What happened since the scenario last printed it (`log`). */
  readonly events: string[] = [];
  head: Head | undefined;
  private readonly sessionDir = mkdtempSync(join(tmpdir(), "tsray-sim-"));
  private readonly jobRuntime = new Map<string, RuntimeEnv>();
  /** Object ids of this run only (the process's counter would carry over from earlier runs). */
  private readonly objectSeqs = { next: 1 };

  constructor(readonly seed: number) {
    this.net = new MemoryNetwork({ clock: this.clock, seed });
    simTime.clock = this.clock;
    resetFunctions();
  }

  /** The head's address (its node manager and control store). */
  get headAddress(): string {
    if (!this.head) throw new Error("no head yet: add-node first");
    return this.head.endpoint.listenAddress;
  }

  private poolFor(name: string): {
    factory: ConstructorParameters<typeof Head>[1];
    pool: () => InMemoryWorkerPool;
  } {
    let pool: InMemoryWorkerPool | undefined;
    return {
      factory: {
        network: this.net.host(name),
        clock: this.clock,
        nodeId: name,
        secret: SECRET,
        workerPool: (_ctx, events) => {
          pool = new InMemoryWorkerPool(events);
          pool.onStart = (w) => this.bootWorker(name, w);
          return pool;
        },
      },
      pool: () => pool!,
    };
  }

  /** Add a node: the first is the head (control store + node manager), later ones join it. */
  async addNode(
    name: string,
    resources: Record<string, number>,
    objectStoreMemory: number,
  ): Promise<SimNode> {
    if (this.nodes.has(name)) throw new Error(`node ${name} exists`);
    const { factory, pool } = this.poolFor(name);
    const cfg = {
      sessionDir: join(this.sessionDir, name),
      address: `${name}:6380`,
      resources,
      logToDriver: false,
      embedded: false,
      objectStoreMemory,
    };
    let node: SimNode;
    if (!this.head) {
      const head = new Head(cfg, factory);
      await head.start();
      this.head = head;
      node = { name, address: head.endpoint.listenAddress, nodeManager: head.nodeManager, pool: pool() };
    } else {
      const worker = new WorkerNode({ ...cfg, headAddress: this.headAddress }, factory);
      await this.until(worker.start(), 10_000);
      node = { name, address: worker.address, nodeManager: worker.nodeManager, pool: pool(), worker };
    }
    this.nodes.set(name, node);
    return node;
  }

  node(name: string): SimNode {
    const n = this.nodes.get(name);
    if (!n) throw new Error(`unknown node ${name}; nodes: ${[...this.nodes.keys()].join(", ")}`);
    return n;
  }

  /** Start a worker's core worker as a worker process's main would, and register it. */
  private bootWorker(nodeName: string, w: InMemoryWorker): void {
    const node = this.nodes.get(nodeName);
    const host = `${nodeName}/${w.workerId}`;
    const cw = new CoreWorker({
      workerId: w.workerId,
      mode: "worker",
      listenAddress: host,
      nodeManagerAddress: node?.address ?? `${nodeName}:6380`,
      jobId: w.runtime.jobId,
      nodeId: nodeName,
      secret: SECRET,
      network: this.net.host(host),
      clock: this.clock,
      collectGarbage: false,
      pid: w.pid,
      objectSeqs: this.objectSeqs,
    });
    const rt = w.runtime;
    cw.setRuntimeKey(w.runtimeKey, {
      loader: rt.loader,
      cwd: rt.cwd,
      jobId: rt.jobId,
      namespace: rt.namespace,
    });
    const sw: SimWorker = { id: w.workerId, node: node!, cw, dead: false };
    this.workers.set(w.workerId, sw);
    this.events.push(`${nodeName}: worker ${w.workerId} started`);
    void (async () => {
      await cw.start();
      const nm = cw.nodeManager();
      nm.onClose(() => {
        // Orphaned, as a worker process whose node manager went away exits.
        if (!sw.dead) this.crashWorker(sw, 0, null);
      });
      const reply = await nm.request({
        t: Msg.RegisterWorker,
        workerId: w.workerId,
        pid: w.pid,
        address: cw.address,
      });
      cw.setStore(reply.store);
    })().catch((err: Error) => {
      this.events.push(`${nodeName}: worker ${w.workerId} failed to start: ${err.message}`);
      this.crashWorker(sw, 1, null);
    });
  }

  /** The worker's process dies now: every link of it is reset, the pool reports the exit. */
  crashWorker(sw: SimWorker, code: number | null, signal: NodeJS.Signals | null): void {
    if (sw.dead) return;
    sw.dead = true;
    this.net.cut(`${sw.node.name}/${sw.id}`);
    sw.cw.endpoint.close();
    this.events.push(`${sw.node.name}: worker ${sw.id} exited (${signal ?? `code ${code}`})`);
    sw.node.pool.exit(sw.id, code, signal);
  }

  worker(id: string): SimWorker {
    const w = this.workers.get(id);
    if (!w) throw new Error(`unknown worker ${id}; workers: ${[...this.workers.keys()].join(", ")}`);
    return w;
  }

  /** Start a driver on `nodeName` (registers a job and its runtime as init() does). */
  async addDriver(name: string, nodeName: string, namespace: string): Promise<SimDriver> {
    if (this.drivers.has(name)) throw new Error(`driver ${name} exists`);
    const node = this.node(nodeName);
    const cw = new CoreWorker({
      workerId: name,
      mode: "driver",
      listenAddress: `${nodeName}/${name}`,
      nodeManagerAddress: node.address,
      controlStoreAddress: node.worker ? this.headAddress : undefined,
      jobId: "",
      nodeId: "",
      secret: SECRET,
      network: this.net.host(`${nodeName}/${name}`),
      clock: this.clock,
      collectGarbage: false,
      objectSeqs: this.objectSeqs,
    });
    const started = (async () => {
      await cw.start();
      const { jobId } = await cw.controlStore().request({ t: Msg.RegisterJob });
      const runtime: RuntimeEnv = { loader: "none", cwd: process.cwd(), jobId, namespace };
      this.jobRuntime.set(name, runtime);
      const { runtimeKey, store } = await cw.call({ t: Msg.RegisterDriver, jobId, runtime, embedded: false });
      const view = await cw.call({ t: Msg.GetNodeResources });
      cw.setRuntimeKey(runtimeKey, runtime);
      cw.setStore(store);
      cw.setIdentity(jobId, view.nodeId);
    })();
    await this.until(started, 10_000);
    const d: SimDriver = { name, node, cw, refs: new Map(), handles: new Map(), dead: false };
    this.drivers.set(name, d);
    return d;
  }

  driver(name: string): SimDriver {
    const d = this.drivers.get(name);
    if (!d || d.dead) throw new Error(`unknown or dead driver ${name}`);
    return d;
  }

  /** The driver's process dies now (no goodbye: links reset). */
  crashDriver(d: SimDriver): void {
    d.dead = true;
    this.net.cut(`${d.node.name}/${d.name}`);
    d.cw.endpoint.close();
    d.cw.close();
  }

  /**
   * Run everything due now, repeatedly, until nothing is: messages in flight at zero
   * delay and timers due at the current time. Bounded: a livelock fails.
   */
  async stabilize(): Promise<void> {
    for (let i = 0; i < 10_000; i++) {
      await this.drainIo();
      const next = this.clock.nextDue();
      if (next === undefined || next > this.clock.now()) {
        await this.clock.advance(0);
        const again = this.clock.nextDue();
        if (again === undefined || again > this.clock.now()) return;
      }
      await this.clock.advance(0);
    }
    throw new Error("stabilize: still busy after 10000 rounds (a livelock?)");
  }

  /**
   * Wait (in real time, bounded) until no file request is in flight. The object store
   * spills to and restores from real files; without this, fake time would move on (or
   * a wait give up) while a spill is still being written, and outcomes would depend on
   * the disk's speed.
   */
  async drainIo(): Promise<void> {
    const deadline = performance.now() + 10_000;
    while (process.getActiveResourcesInfo().some((r) => FILE_REQUESTS.has(r))) {
      if (performance.now() > deadline) throw new Error("drainIo: file requests still pending after 10 s");
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  /**
   * Settle `p` on fake time as FakeClock.until does, letting file I/O finish before
   * each step of fake time. Rejects with a RangeError when not settled within `maxMs`.
   */
  async until<T>(p: Promise<T>, maxMs: number): Promise<T> {
    let settled = false;
    const watched = p.finally(() => {
      settled = true;
    });
    watched.catch(() => undefined);
    const limit = this.clock.now() + maxMs;
    for (;;) {
      await this.drainIo();
      await this.clock.advance(0);
      await this.drainIo();
      if (settled) return watched;
      const next = this.clock.nextDue();
      if (next === undefined || next > limit)
        throw new RangeError(
          `not settled after ${maxMs} ms of fake time (${this.clock.pending} timers pending)`,
        );
      await this.clock.advance(next - this.clock.now());
    }
  }

  /** Stop everything and remove the session directory; nothing may be left open. */
  async close(): Promise<void> {
    for (const d of this.drivers.values()) if (!d.dead) d.cw.close();
    for (const w of this.workers.values()) {
      if (!w.dead) {
        w.dead = true;
        w.cw.close();
      }
    }
    for (const n of this.nodes.values()) if (n.worker) await this.until(n.worker.stop(), 60_000);
    if (this.head) await this.until(this.head.stop(), 60_000);
    await this.clock.advance(1000);
    simTime.clock = undefined;
    rmSync(this.sessionDir, { recursive: true, force: true });
  }
}
