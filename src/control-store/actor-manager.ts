import { ActorDiedError, RayActorError } from "../errors/index.js";
import {
  type ActorCheckpoint,
  type ActorInfo,
  type ActorSpec,
  type ActorState,
  type CreateActor,
  type KillActorReply,
  type LeaseReply,
  Msg,
} from "../protocol/index.js";
import { decodeError, encode, encodeError } from "../serialization/index.js";
import type { Connection, Endpoint } from "../transport/index.js";
import { type Clock, log, realClock } from "../util/index.js";

interface ActorRecord {
  readonly spec: ActorSpec;
  state: ActorState;
  address: string;
  pid: number;
  workerId: string;
  leaseId: number;
  /** The node manager its current worker was leased from. */
  nodeAddress: string;
  restarts: number;
  deathCause: string | undefined;
  deathError: Uint8Array | undefined;
  waiters: Array<{ after: string | undefined; resolve: (i: ActorInfo) => void }>;
  /** Creations so far (1 = the first); a create() that sees it change was superseded. */
  incarnation: number;
  /** Why the process last died (shown after a restart, and named by ActorDiedError). */
  restartCause: string | undefined;
  /** Cause to report for the next exit of its process (set when tsray itself kills it). */
  exitCause: string | undefined;
  /** The latest committed checkpoint (checkpointed actors), restored at each restart. */
  checkpoint: ActorCheckpoint | undefined;
  checkpoints: number;
}

/**
 * The control store's actor directory (Ray's GCS actor manager): registers
 * actors, places them (leasing a dedicated worker from a node manager), runs
 * their constructor, tracks state (PENDING, ALIVE, RESTARTING, DEAD) and the
 * death cause, restarts them within maxRestarts, and keeps the named-actor table.
 * Callers learn an actor's address here once; their calls then go straight to it.
 */
export class ActorManager {
  private readonly actors = new Map<string, ActorRecord>();
  private readonly aliases = new Map<string, string>();
  private readonly names = new Map<string, string>();
  private readonly byWorker = new Map<string, ActorRecord>();
  private readonly watchedOwners = new WeakSet<Connection>();
  /** Lookups of actor ids not registered yet, woken by register(). */
  private readonly unregisteredWaiters = new Map<string, Set<() => void>>();

  private wakeLookups(actorId: string): void {
    const set = this.unregisteredWaiters.get(actorId);
    if (!set) return;
    this.unregisteredWaiters.delete(actorId);
    for (const fn of set) fn();
  }

  /** @param clock times how long a lookup waits for an unregistered actor (default: real time). */
  constructor(
    private readonly endpoint: Endpoint,
    /** Where to create the actor: the address of the node manager to lease its worker from. */
    private readonly placement: (spec: ActorSpec) => string,
    private readonly clock: Clock = realClock,
  ) {}

  /** Register and start creating an actor; returns the id callers must use. */
  register(spec: ActorSpec, conn: Connection): { actorId: string; owner: string } {
    if (spec.name !== undefined) {
      const key = nameKey(spec.namespace, spec.name);
      const existing = this.names.get(key);
      if (existing) {
        if (spec.getIfExists) {
          this.aliases.set(spec.actorId, existing);
          this.wakeLookups(spec.actorId);
          const found = this.actors.get(existing)?.spec;
          // The caller borrows the existing actor from its owner (detached actors have none).
          return { actorId: existing, owner: found && !found.detached ? found.owner : "" };
        }
        throw new RayActorError(
          `an actor named "${spec.name}" already exists in namespace "${spec.namespace}"; ` +
            "choose another name, kill the existing one, or pass getIfExists: true",
        );
      }
      this.names.set(key, spec.actorId);
    }
    const rec: ActorRecord = {
      spec,
      state: "PENDING",
      address: "",
      pid: 0,
      workerId: "",
      leaseId: 0,
      nodeAddress: "",
      restarts: 0,
      deathCause: undefined,
      deathError: undefined,
      waiters: [],
      incarnation: 0,
      restartCause: undefined,
      exitCause: undefined,
      checkpoint: undefined,
      checkpoints: 0,
    };
    this.actors.set(spec.actorId, rec);
    if (!spec.detached && !this.watchedOwners.has(conn)) {
      this.watchedOwners.add(conn);
      conn.onClose(() => this.onOwnerGone(spec.owner));
    }
    void this.create(rec);
    this.wakeLookups(spec.actorId);
    return { actorId: spec.actorId, owner: spec.owner };
  }

  /** The actor's info once it is ALIVE somewhere other than `after`, or DEAD. */
  getInfo(actorId: string, after: string | undefined): ActorInfo | Promise<ActorInfo> {
    const rec = this.actors.get(this.aliases.get(actorId) ?? actorId);
    if (!rec) {
      // A handle can reach another process before its creator has registered the actor
      // (the creator waits for pending constructor arguments): wait for the registration.
      return new Promise<void>((resolve, reject) => {
        const wake = () => {
          this.clock.clearTimer(timer);
          resolve();
        };
        const timer = this.clock
          .setTimeout(() => {
            this.unregisteredWaiters.get(actorId)?.delete(wake);
            reject(
              new RayActorError(`unknown actor ${actorId}: its creator never registered it (did it die?)`),
            );
          }, UNREGISTERED_WAIT_MS)
          .unref();
        let set = this.unregisteredWaiters.get(actorId);
        if (!set) this.unregisteredWaiters.set(actorId, (set = new Set()));
        set.add(wake);
      }).then(() => this.getInfo(actorId, after));
    }
    if (rec.state === "DEAD" || (rec.state === "ALIVE" && rec.address !== after)) return this.info(rec);
    return new Promise((resolve) => rec.waiters.push({ after, resolve }));
  }

  getNamed(name: string, namespace: string): ActorInfo {
    const id = this.names.get(nameKey(namespace, name));
    const rec = id ? this.actors.get(id) : undefined;
    if (!rec) throw new RayActorError(`no actor named "${name}" in namespace "${namespace}"`);
    return this.info(rec);
  }

  list(): ActorInfo[] {
    return [...this.actors.values()].map((r) => this.info(r));
  }

  /** Kill an actor (and restart it if noRestart is false and restarts remain). */
  async kill(actorId: string, noRestart: boolean, cause?: string): Promise<KillActorReply> {
    const rec = this.actors.get(this.aliases.get(actorId) ?? actorId);
    if (!rec) return {};
    if (rec.state === "DEAD") return { deathError: rec.deathError };
    const dies = noRestart || !this.canRestart(rec);
    if (dies) {
      this.die(rec, cause ?? this.withRestarts(rec, "it was killed by ray.kill()"));
    } else if (rec.leaseId) {
      rec.exitCause = "it was killed by ray.kill() with noRestart: false";
    }
    await this.killWorker(rec);
    return dies ? { deathError: rec.deathError } : {};
  }

  /** A worker process exited (reported by its node manager, with `reason` when it killed it). */
  /**
   * The node manager at `address` is gone with its machine: no exit reports will come.
   * Each actor on it is handled as if its worker exited with `cause` (restart elsewhere
   * within maxRestarts, else DEAD naming the node's death); actors whose owner lived on
   * node `nodeId` end, as when their owner dies.
   */
  onNodeDead(address: string, cause: string, nodeId?: string): void {
    for (const rec of [...this.byWorker.values()]) {
      if (rec.nodeAddress !== address || rec.state === "DEAD") continue;
      rec.exitCause = cause;
      this.onWorkerExited(rec.workerId, null, null);
    }
    if (nodeId === undefined) return;
    // Owners that lived there are gone with it: their (non-detached) actors elsewhere end.
    for (const rec of this.actors.values()) {
      if (rec.spec.ownerNode !== nodeId || rec.spec.detached || rec.state === "DEAD") continue;
      this.die(rec, `its owner (the process that created it) died with its node: ${cause}`);
      void this.killWorker(rec);
    }
  }

  onWorkerExited(workerId: string, code: number | null, signal: string | null, reason?: string): void {
    const rec = this.byWorker.get(workerId);
    if (!rec) return;
    this.byWorker.delete(workerId);
    if (rec.state === "DEAD") return;
    const how = signal ? `signal ${signal}` : `code ${code}`;
    const cause =
      rec.exitCause ??
      (reason
        ? `its worker process (pid ${rec.pid}) ${reason}`
        : `its worker process (pid ${rec.pid}) exited with ${how}`);
    rec.exitCause = undefined;
    rec.leaseId = 0;
    if (this.canRestart(rec)) {
      rec.restarts++;
      rec.state = "RESTARTING";
      rec.address = "";
      rec.restartCause = cause;
      log.info(`actor ${rec.spec.actorId}: ${cause}; restart ${rec.restarts}`);
      void this.create(rec);
    } else {
      this.die(rec, this.withRestarts(rec, cause));
    }
  }

  /**
   * A checkpointed actor's process committed a checkpoint: keep it as the latest.
   * Refused from a replaced incarnation (its late message must not overwrite a newer
   * checkpoint) and for dead actors.
   */
  saveCheckpoint(actorId: string, inc: number, ckpt: ActorCheckpoint): Record<string, never> {
    const rec = this.actors.get(actorId);
    if (!rec) throw new RayActorError(`unknown actor ${actorId}`);
    if (rec.state === "DEAD") throw new ActorDiedError(`actor ${actorId} is dead: ${rec.deathCause}`);
    if (inc !== rec.incarnation) {
      throw new RayActorError(
        `stale checkpoint of actor ${actorId}: incarnation ${inc}, current ${rec.incarnation}`,
      );
    }
    rec.checkpoint = ckpt;
    rec.checkpoints++;
    return {};
  }

  /** The owner of some actors is gone: end its non-detached actors. */
  onOwnerGone(owner: string): void {
    for (const rec of this.actors.values()) {
      if (rec.spec.owner !== owner || rec.spec.detached || rec.state === "DEAD") continue;
      this.die(rec, "its owner (the process that created it) died");
      void this.killWorker(rec);
    }
  }

  private canRestart(rec: ActorRecord): boolean {
    const max = rec.spec.maxRestarts;
    return max < 0 || rec.restarts < max;
  }

  /** A death cause with the restart history, when the actor had restarts. */
  private withRestarts(rec: ActorRecord, cause: string): string {
    const max = rec.spec.maxRestarts;
    if (max === 0) return cause;
    return `${cause} (after ${rec.restarts} restart${rec.restarts === 1 ? "" : "s"}; maxRestarts=${max})`;
  }

  /** Whether `create()` of incarnation `inc` should stop (the actor died, or a newer creation took over). */
  private superseded(rec: ActorRecord, inc: number): boolean {
    return rec.state === "DEAD" || rec.incarnation !== inc;
  }

  private async create(rec: ActorRecord): Promise<void> {
    const { spec } = rec;
    const inc = ++rec.incarnation;
    let grant: LeaseReply;
    try {
      rec.nodeAddress = this.placement(spec);
      const nm = await this.endpoint.connect(rec.nodeAddress);
      grant = await nm.request({
        t: Msg.RequestLease,
        demand: spec.demand,
        runtimeKey: spec.runtimeKey,
        runtime: spec.runtime,
        actor: spec.actorId,
      });
    } catch (err) {
      if (!this.superseded(rec, inc))
        this.die(rec, `it could not be scheduled: ${(err as Error).message}`, err);
      return;
    }
    if ("cancelled" in grant) return;
    if ("spillback" in grant) {
      // Placement chose a node that can run it; a spillback means the view was stale.
      if (!this.superseded(rec, inc))
        this.die(rec, `it could not be scheduled on ${rec.nodeAddress}: the node cannot run it`);
      return;
    }
    if (this.superseded(rec, inc)) {
      // Killed (or replaced) while waiting for a worker: give the worker back.
      void this.returnGrant(grant.leaseId, rec.nodeAddress);
      return;
    }
    rec.leaseId = grant.leaseId;
    rec.workerId = grant.workerId;
    rec.pid = grant.pid;
    this.byWorker.set(grant.workerId, rec);
    const msg: Omit<CreateActor, "rid"> = { t: Msg.CreateActor, spec, gpu: grant.gpuIds, inc };
    if (rec.checkpoint) msg.ckpt = rec.checkpoint;
    let conn: Connection | undefined;
    try {
      conn = await this.endpoint.connect(grant.address);
      await conn.request(msg);
    } catch (err) {
      if (this.superseded(rec, inc)) return;
      if (!conn || conn.isClosed) {
        // The process died during creation (not a constructor error): its exit restarts the
        // actor or ends it with the exit as the cause. Make sure it is really gone.
        await this.killWorker(rec);
        return;
      }
      this.byWorker.delete(grant.workerId);
      const what = rec.checkpoint
        ? "its constructor or restoreCheckpoint() failed"
        : "its constructor failed";
      this.die(rec, `${what}: ${(err as Error).message.split("\n")[0]}`, err);
      await this.killWorker(rec);
      return;
    }
    if (this.superseded(rec, inc)) return;
    rec.state = "ALIVE";
    rec.address = grant.address;
    this.wake(rec);
  }

  private die(rec: ActorRecord, cause: string, err?: unknown): void {
    if (rec.state === "DEAD") return;
    rec.state = "DEAD";
    rec.address = "";
    rec.deathCause = cause;
    const cls = rec.spec.className;
    const e = new ActorDiedError(`actor ${cls} (${rec.spec.actorId}) is dead: ${cause}`, {
      cause: err instanceof Uint8Array ? decodeError(err) : err,
    });
    try {
      rec.deathError = encodeError(e);
    } catch {
      rec.deathError = encode(new ActorDiedError(e.message));
    }
    if (rec.spec.name !== undefined) {
      const key = nameKey(rec.spec.namespace, rec.spec.name);
      if (this.names.get(key) === rec.spec.actorId) this.names.delete(key);
    }
    rec.checkpoint = undefined;
    this.wake(rec);
  }

  private async killWorker(rec: ActorRecord): Promise<void> {
    if (!rec.leaseId) return;
    const leaseId = rec.leaseId;
    rec.leaseId = 0;
    await this.returnGrant(leaseId, rec.nodeAddress);
  }

  /** End a lease and kill its worker. */
  private async returnGrant(leaseId: number, nodeAddress: string): Promise<void> {
    try {
      const nm = await this.endpoint.connect(nodeAddress);
      nm.send({ t: Msg.ReturnLease, leaseId, kill: true });
    } catch {
      // node manager gone: its workers are gone with it
    }
  }

  private wake(rec: ActorRecord): void {
    const keep: ActorRecord["waiters"] = [];
    for (const w of rec.waiters) {
      if (rec.state === "DEAD" || (rec.state === "ALIVE" && rec.address !== w.after))
        w.resolve(this.info(rec));
      else keep.push(w);
    }
    rec.waiters = keep;
  }

  private info(rec: ActorRecord): ActorInfo {
    const { spec } = rec;
    const info: ActorInfo = {
      actorId: spec.actorId,
      state: rec.state,
      address: rec.address,
      pid: rec.pid,
      className: spec.className,
      methods: spec.methods,
      namespace: spec.namespace,
      detached: spec.detached,
      restarts: rec.restarts,
      maxTaskRetries: spec.maxTaskRetries,
      owner: spec.detached ? "" : spec.owner,
    };
    if (spec.name !== undefined) info.name = spec.name;
    if (rec.deathCause !== undefined) info.deathCause = rec.deathCause;
    if (rec.deathError !== undefined) info.deathError = rec.deathError;
    if (rec.restartCause !== undefined) info.restartCause = rec.restartCause;
    if (spec.checkpointEvery !== undefined) {
      info.checkpointed = true;
      info.checkpoints = rec.checkpoints;
      info.checkpointCovers = rec.checkpoint ? rec.checkpoint.covered.reduce((n, [, seq]) => n + seq, 0) : 0;
    }
    return info;
  }
}

/** How long a lookup of an unregistered actor id waits for its registration. */
const UNREGISTERED_WAIT_MS = 60_000;

function nameKey(namespace: string, name: string): string {
  return `${namespace}\u0000${name}`;
}
