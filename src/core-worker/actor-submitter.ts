import { ActorDiedError } from "../errors/index.js";
import {
  type ActorInfo,
  Msg,
  type PushActorTask,
  type TaskDone,
  type TaskFailed,
} from "../protocol/index.js";
import { encodeError } from "../serialization/index.js";
import type { Connection, Endpoint } from "../transport/index.js";
import type { ObjEntry } from "./object-table.js";

/** One actor call as its caller keeps it until the reply (and for re-sending after a restart). */
export interface ActorCall {
  readonly id: number;
  readonly method: string;
  readonly args: Uint8Array;
  readonly deps: Array<[number, string, string, Uint8Array | null]> | undefined;
  readonly ret: number;
  readonly returnIds: string[];
  /** Owned dependencies not yet settled; the call waits (in order) until 0. */
  pendingDeps: number;
  lentEntries: ObjEntry[] | undefined;
}

/** What the actor submitter needs from its core worker. */
export interface ActorCallOwner {
  completeCall(call: ActorCall, msg: TaskDone, conn: Connection): void;
  failCall(call: ActorCall, error: Uint8Array): void;
  /** Fill in inline values of owned deps (after they settled); returns an error to fail with, if a dep failed. */
  resolveDeps(call: ActorCall): Uint8Array | undefined;
}

/** Caller-side state of one actor: where it lives and the calls on their way to it. */
class ActorQueue {
  readonly queue: ActorCall[] = [];
  readonly inflight = new Map<number, ActorCall>();
  conn: Connection | undefined;
  address = "";
  /** The id the actor's worker knows (differs from ours when getIfExists found an existing actor). */
  realId: string;
  /** Settles once the creator's registration was answered; rejects with the encoded error. */
  registered: Promise<void> | undefined;
  resolving = false;
  deathError: Uint8Array | undefined;
  maxTaskRetries = 0;

  constructor(readonly actorId: string) {
    this.realId = actorId;
  }
}

/**
 * Sends actor calls straight from the caller to the actor's worker (no manager
 * in the path). Calls leave in submission order: a call waiting for an argument
 * holds back the calls behind it. The actor's address comes from the control
 * store once; when the connection breaks, the control store says whether the
 * actor restarted (re-send with maxTaskRetries, else fail in-flight calls) or died.
 */
export class ActorSubmitter {
  private readonly actors = new Map<string, ActorQueue>();
  private readonly inflight = new Map<number, ActorQueue>();

  constructor(
    private readonly endpoint: Endpoint,
    private readonly controlStore: () => Connection,
    private readonly owner: ActorCallOwner,
  ) {}

  /** This process is creating `actorId`: calls wait until the registration is answered. */
  expect(actorId: string, registered: Promise<void>): void {
    this.queueFor(actorId).registered = registered;
    registered.catch(() => undefined);
  }

  private queueFor(actorId: string): ActorQueue {
    let q = this.actors.get(actorId);
    if (!q) this.actors.set(actorId, (q = new ActorQueue(actorId)));
    return q;
  }

  submit(actorId: string, call: ActorCall): void {
    const q = this.queueFor(actorId);
    if (q.deathError) {
      this.owner.failCall(call, q.deathError);
      return;
    }
    q.queue.push(call);
    this.pump(q);
  }

  /** A dependency of some queued call settled. */
  depsChanged(actorId: string): void {
    const q = this.actors.get(actorId);
    if (q) this.pump(q);
  }

  /** Route a reply; false if it is not an actor call of this process. */
  onReply(msg: TaskDone | TaskFailed, conn: Connection): boolean {
    const q = this.inflight.get(msg.id);
    if (!q) return false;
    this.inflight.delete(msg.id);
    const call = q.inflight.get(msg.id);
    if (!call) return true;
    q.inflight.delete(msg.id);
    if (msg.t === Msg.TaskDone) this.owner.completeCall(call, msg, conn);
    else this.owner.failCall(call, msg.e);
    return true;
  }

  private pump(q: ActorQueue): void {
    if (q.deathError) return;
    if (!q.conn) {
      if (!q.resolving && q.queue.length > 0) void this.resolve(q, undefined);
      return;
    }
    let sent = 0;
    for (const call of q.queue) {
      if (call.pendingDeps > 0) break;
      const failed = this.owner.resolveDeps(call);
      sent++;
      if (failed) {
        this.owner.failCall(call, failed);
        continue;
      }
      this.send(q, call);
    }
    if (sent > 0) q.queue.splice(0, sent);
  }

  private send(q: ActorQueue, call: ActorCall): void {
    const msg: PushActorTask = {
      t: Msg.PushActorTask,
      id: call.id,
      actor: q.realId,
      method: call.method,
      args: call.args,
      ret: call.ret,
      nr: call.returnIds.length,
    };
    if (call.deps) msg.dep = call.deps;
    q.inflight.set(call.id, call);
    this.inflight.set(call.id, q);
    q.conn!.send(msg);
  }

  private async resolve(q: ActorQueue, after: string | undefined): Promise<void> {
    q.resolving = true;
    if (q.registered) {
      try {
        await q.registered;
      } catch (err) {
        q.resolving = false;
        this.kill(q, err as Uint8Array);
        return;
      }
    }
    let info: ActorInfo;
    try {
      info = await this.controlStore().request<ActorInfo>({ t: Msg.GetActorInfo, actorId: q.actorId, after });
    } catch (err) {
      q.resolving = false;
      this.kill(
        q,
        encodeError(new ActorDiedError(`actor ${q.actorId} is unreachable: ${(err as Error).message}`)),
      );
      return;
    }
    q.maxTaskRetries = info.maxTaskRetries;
    q.realId = info.actorId;
    if (info.state === "DEAD") {
      q.resolving = false;
      this.kill(q, info.deathError ?? encodeError(new ActorDiedError(`actor ${q.actorId} is dead`)));
      return;
    }
    try {
      const conn = await this.endpoint.connect(info.address);
      q.conn = conn;
      q.address = info.address;
      conn.onClose(() => this.onDisconnect(q, conn));
    } catch {
      // The actor died between the answer and our dial: ask again past this address.
      q.resolving = false;
      void this.resolve(q, info.address);
      return;
    }
    q.resolving = false;
    this.pump(q);
  }

  private onDisconnect(q: ActorQueue, conn: Connection): void {
    if (q.conn !== conn) return;
    q.conn = undefined;
    const lost = [...q.inflight.values()];
    q.inflight.clear();
    for (const c of lost) this.inflight.delete(c.id);
    if (q.maxTaskRetries !== 0) {
      // At-least-once: re-send in their original order ahead of later calls.
      q.queue.unshift(...lost);
    } else if (lost.length > 0) {
      // Ask why before failing, so the error names the cause.
      void this.controlStore()
        .request<ActorInfo>({ t: Msg.GetActorInfo, actorId: q.actorId, after: q.address })
        .then(
          (info) => info.deathError ?? encodeError(restartedError(q, info)),
          (err: Error) =>
            encodeError(new ActorDiedError(`actor ${q.actorId} is unreachable: ${err.message}`)),
        )
        .then((e) => {
          for (const c of lost) this.owner.failCall(c, e);
        });
    }
    void this.resolve(q, q.address);
  }

  private kill(q: ActorQueue, err: Uint8Array): void {
    q.deathError = err;
    const all = [...q.inflight.values(), ...q.queue];
    q.inflight.clear();
    q.queue.length = 0;
    for (const c of all) {
      this.inflight.delete(c.id);
      this.owner.failCall(c, err);
    }
  }
}

function restartedError(q: ActorQueue, info: ActorInfo): ActorDiedError {
  return new ActorDiedError(
    `actor ${info.className} (${q.actorId}) died while running this call and was restarted ` +
      `(restart ${info.restarts}); the call was not retried because maxTaskRetries is 0`,
  );
}
