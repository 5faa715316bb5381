import { ActorDiedError } from "../errors/index.js";
import {
  type ActorCovered,
  type ActorInfo,
  type DepTuple,
  Msg,
  type PushActorTask,
  type TaskDone,
  type TaskFailed,
} from "../protocol/index.js";
import { encodeError } from "../serialization/index.js";
import type { Connection, Endpoint } from "../transport/index.js";
import type { ObjEntry } from "./object-table.js";
import { ACTOR_REF_PREFIX } from "./ref-key.js";

/** One actor call as its caller keeps it until the reply (and for re-sending after a restart). */
export interface ActorCall {
  readonly id: number;
  readonly method: string;
  readonly args: Uint8Array;
  readonly deps: DepTuple[] | undefined;
  readonly ret: number;
  readonly returnIds: string[];
  /** Owned dependencies not yet settled; the call waits (in order) until 0. */
  pendingDeps: number;
  lentEntries: ObjEntry[] | undefined;
  /** Times it was re-sent after its actor restarted (bounded by maxTaskRetries). */
  retries?: number;
  /** Checkpointed actors: its number in this process's stream of calls to the actor (set when first sent). */
  seq?: number;
  /** Checkpointed actors: its reply arrived; it stays (for replay) until a checkpoint covers it. */
  done?: boolean;
  /** Checkpointed actors: objects it passed by reference, held until a checkpoint covers it. */
  heldLent?: ObjEntry[];
}

/** What the actor submitter needs from its core worker. */
export interface ActorCallOwner {
  completeCall(call: ActorCall, msg: TaskDone, conn: Connection): void;
  failCall(call: ActorCall, error: Uint8Array): void;
  /** Fill in inline values of owned deps (after they settled); returns an error to fail with, if a dep failed. */
  resolveDeps(call: ActorCall): Uint8Array | undefined;
  /** Give back lent counts held past a call's reply. */
  unlend(entries: ObjEntry[]): void;
  /** This process's object store name (told to each actor once, see PushActorTask.st). */
  storeName(): string | undefined;
}

/** Caller-side state of one actor: where it lives and the calls on their way to it. */
class ActorQueue {
  readonly queue: ActorCall[] = [];
  readonly inflight = new Map<number, ActorCall>();
  conn: Connection | undefined;
  address = "";
  /** The id the actor's worker knows (differs from ours when getIfExists found an existing actor). */
  realId: string;
  /** Settles once the creator's registration was answered; rejects with the Error its calls fail with. */
  registered: Promise<void> | undefined;
  resolving = false;
  deathError: Uint8Array | undefined;
  maxTaskRetries = 0;
  // ---- checkpointed actors (see docs/design/fault-tolerance.md) ----
  checkpointed = false;
  /** This queue's stream number (unique in this process; 0 until the actor is known to checkpoint). */
  stream = 0;
  nextSeq = 1;
  /** Sent calls not yet covered by a committed checkpoint, in call-number order (answered or not). */
  readonly retained: ActorCall[] = [];
  /** How many calls at the front of `retained` are answered. */
  answeredPrefix = 0;
  /** Every reply up to this call number has arrived. */
  acked = 0;
  /** The last `acked` sent to the current incarnation. */
  ackSent = 0;
  ackScheduled = false;

  constructor(readonly actorId: string) {
    this.realId = actorId;
  }
}

/**
 * Sends actor calls straight from the caller to the actor's worker (no manager
 * in the path). Calls leave in submission order: a call waiting for an argument
 * holds back the calls behind it. The actor's address comes from the control
 * store once; when the connection breaks, the control store says whether the
 * actor restarted (re-send in-flight calls within maxTaskRetries, else fail them
 * with ActorDiedError naming the cause) or died.
 *
 * Checkpointed actors: calls are numbered per stream and kept until a committed
 * checkpoint covers them (ActorCovered); after a restart every kept call is
 * re-sent in order (the restarted actor drops those its checkpoint covers and
 * replays the rest), and replies to calls already answered are ignored. Replies
 * are acknowledged (ActorAck) so the actor never commits a checkpoint covering a
 * call whose reply this process might not have.
 */
export class ActorSubmitter {
  private readonly actors = new Map<string, ActorQueue>();
  private readonly inflight = new Map<number, ActorQueue>();
  /** Answered calls re-sent for replay: their second reply is dropped. */
  private readonly replayed = new Map<number, ActorQueue>();
  private readonly streams = new Map<number, ActorQueue>();
  private nextStream = 1;

  constructor(
    private readonly endpoint: Endpoint,
    private readonly controlStore: () => Connection,
    private readonly owner: ActorCallOwner,
  ) {}

  /**
   * This process is creating `actorId`: calls wait until the registration is answered.
   * `registered` rejects with the Error (never a value) every call then fails with.
   */
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

  /**
   * This process killed the actor and the control store says it is dead: fail its
   * pending calls and every later one now, rather than when the connection to its
   * process closes (a call sent before then could still reach the dying process).
   */
  markDead(actorId: string, err: Uint8Array): void {
    const q = this.queueFor(actorId);
    if (!q.deathError) this.kill(q, err);
  }

  /** A dependency of some queued call settled. */
  depsChanged(actorId: string): void {
    const q = this.actors.get(actorId);
    if (q) this.pump(q);
  }

  /** Route a reply; false if it is not an actor call of this process. */
  onReply(msg: TaskDone | TaskFailed, conn: Connection): boolean {
    const q = this.inflight.get(msg.id);
    if (!q) {
      const rq = this.replayed.get(msg.id);
      if (!rq) return false;
      // The replay of a call answered before the restart: the first reply stands.
      this.replayed.delete(msg.id);
      if (msg.t === Msg.TaskDone && msg.n) conn.send({ t: Msg.Unpin, ids: msg.n.map((x) => x[1]) });
      return true;
    }
    this.inflight.delete(msg.id);
    const call = q.inflight.get(msg.id);
    if (!call) return true;
    q.inflight.delete(msg.id);
    if (call.seq !== undefined) this.answered(q, call);
    if (msg.t === Msg.TaskDone) this.owner.completeCall(call, msg, conn);
    else this.owner.failCall(call, msg.e);
    return true;
  }

  /** A checkpointed actor committed a checkpoint covering our calls up to `upto`: forget them. */
  onCovered(msg: ActorCovered): void {
    const q = this.streams.get(msg.s);
    if (!q) return;
    let n = 0;
    while (n < q.retained.length) {
      const c = q.retained[n]!;
      if (c.seq! > msg.upto || !c.done) break;
      this.replayed.delete(c.id);
      if (c.heldLent) this.owner.unlend(c.heldLent);
      c.heldLent = undefined;
      n++;
    }
    if (n === 0) return;
    q.retained.splice(0, n);
    q.answeredPrefix = Math.max(0, q.answeredPrefix - n);
  }

  /** The reply of a sequenced call arrived: keep it for replay, advance the acknowledgement. */
  private answered(q: ActorQueue, call: ActorCall): void {
    call.done = true;
    if (call.lentEntries) {
      // Objects it passed by reference must outlive a replay; the actor's own handle count need not.
      const self = ACTOR_REF_PREFIX + q.actorId;
      const held = call.lentEntries.filter((e) => e.id !== self);
      if (held.length > 0) {
        call.heldLent = held;
        call.lentEntries = call.lentEntries.filter((e) => e.id === self);
      }
    }
    while (q.answeredPrefix < q.retained.length && q.retained[q.answeredPrefix]!.done) {
      q.acked = q.retained[q.answeredPrefix]!.seq!;
      q.answeredPrefix++;
    }
    this.scheduleAck(q);
  }

  /** Acknowledge replies once per batch (a microtask after the frame that carried them). */
  private scheduleAck(q: ActorQueue): void {
    if (q.ackScheduled || q.acked <= q.ackSent) return;
    q.ackScheduled = true;
    queueMicrotask(() => {
      q.ackScheduled = false;
      if (!q.conn || q.acked <= q.ackSent) return;
      q.ackSent = q.acked;
      q.conn.send({ t: Msg.ActorAck, s: q.stream, upto: q.acked });
    });
  }

  private pump(q: ActorQueue): void {
    if (q.deathError) return;
    if (!q.conn) {
      if (!q.resolving && q.queue.length > 0) void this.resolve(q, undefined);
      return;
    }
    let sent = 0;
    for (const call of q.queue) {
      if (!call.done) {
        if (call.pendingDeps > 0) break;
        const failed = this.owner.resolveDeps(call);
        if (failed) {
          sent++;
          this.owner.failCall(call, failed);
          continue;
        }
      }
      sent++;
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
    if (q.checkpointed) {
      if (call.seq === undefined) {
        call.seq = q.nextSeq++;
        q.retained.push(call);
      }
      msg.s = q.stream;
      msg.sq = call.seq;
    }
    if (call.done) {
      this.replayed.set(call.id, q);
    } else {
      q.inflight.set(call.id, call);
      this.inflight.set(call.id, q);
    }
    const conn = q.conn!;
    if (!conn.state.has("st")) {
      conn.state.set("st", true);
      msg.st = this.owner.storeName();
    }
    conn.send(msg);
  }

  private async resolve(q: ActorQueue, after: string | undefined): Promise<void> {
    q.resolving = true;
    if (q.registered) {
      try {
        await q.registered;
      } catch (err) {
        q.resolving = false;
        this.kill(q, encodeError(err));
        return;
      }
    }
    let info: ActorInfo;
    try {
      info = await this.controlStore().request({ t: Msg.GetActorInfo, actorId: q.actorId, after });
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
    if (info.checkpointed && !q.checkpointed) {
      q.checkpointed = true;
      q.stream = this.nextStream++;
      this.streams.set(q.stream, q);
    }
    if (info.state === "DEAD") {
      q.resolving = false;
      this.kill(q, info.deathError ?? encodeError(new ActorDiedError(`actor ${q.actorId} is dead`)));
      return;
    }
    try {
      const conn = await this.endpoint.connect(info.address);
      q.conn = conn;
      q.address = info.address;
      q.ackSent = 0;
      conn.onClose(() => this.onDisconnect(q, conn));
    } catch {
      // The actor died between the answer and our dial: ask again past this address.
      q.resolving = false;
      void this.resolve(q, info.address);
      return;
    }
    q.resolving = false;
    this.pump(q);
    // A restarted actor learns what we already hold (it may be waiting to commit a checkpoint).
    if (q.checkpointed) this.scheduleAck(q);
  }

  private onDisconnect(q: ActorQueue, conn: Connection): void {
    if (q.conn !== conn) return;
    q.conn = undefined;
    if (q.deathError) return; // known dead (markDead): nothing left to re-send or fail
    const lost = [...q.inflight.values()];
    q.inflight.clear();
    for (const c of lost) this.inflight.delete(c.id);
    if (q.checkpointed) {
      // Replay: every call no committed checkpoint covers, answered or not, in call-number order,
      // ahead of later calls. The restarted actor drops those its restored checkpoint covers.
      for (const c of q.retained) if (c.done) this.replayed.delete(c.id);
      const resend = new Set(q.retained);
      for (let i = q.queue.length - 1; i >= 0; i--) if (resend.has(q.queue[i]!)) q.queue.splice(i, 1);
      q.queue.unshift(...q.retained);
    } else {
      // At-least-once within maxTaskRetries: re-send in their original order ahead of later calls.
      const retry: ActorCall[] = [];
      const fail: ActorCall[] = [];
      for (const c of lost) {
        const n = c.retries ?? 0;
        if (q.maxTaskRetries < 0 || n < q.maxTaskRetries) {
          c.retries = n + 1;
          retry.push(c);
        } else {
          fail.push(c);
        }
      }
      q.queue.unshift(...retry);
      if (fail.length > 0) this.failLost(q, fail);
    }
    void this.resolve(q, q.address);
  }

  /** Fail calls lost with the actor's process; ask the control store why first, so the error names the cause. */
  private failLost(q: ActorQueue, lost: ActorCall[]): void {
    let asked: Promise<ActorInfo>;
    try {
      asked = this.controlStore().request({
        t: Msg.GetActorInfo,
        actorId: q.actorId,
        after: q.address,
      });
    } catch (err) {
      // The head is gone too: a throw here (in a close listener) would leave the calls unsettled.
      asked = Promise.reject(err);
    }
    void asked
      .then(
        (info) => (c: ActorCall) => info.deathError ?? encodeError(restartedError(q, info, c)),
        (err: Error) => () =>
          encodeError(new ActorDiedError(`actor ${q.actorId} is unreachable: ${err.message}`)),
      )
      .then((errorFor) => {
        for (const c of lost) this.owner.failCall(c, errorFor(c));
      });
  }

  private kill(q: ActorQueue, err: Uint8Array): void {
    q.deathError = err;
    const all = new Set<ActorCall>([...q.inflight.values(), ...q.queue]);
    q.inflight.clear();
    q.queue.length = 0;
    for (const c of q.retained) {
      this.replayed.delete(c.id);
      if (c.heldLent) this.owner.unlend(c.heldLent);
      c.heldLent = undefined;
    }
    q.retained.length = 0;
    q.answeredPrefix = 0;
    for (const c of all) {
      this.inflight.delete(c.id);
      if (!c.done) this.owner.failCall(c, err);
    }
  }
}

function restartedError(q: ActorQueue, info: ActorInfo, call: ActorCall): ActorDiedError {
  const why = info.restartCause ? ` (${info.restartCause})` : "";
  const retried =
    (call.retries ?? 0) === 0
      ? "the call was not retried because maxTaskRetries is 0"
      : `the call was already re-sent ${call.retries} time${call.retries === 1 ? "" : "s"} (maxTaskRetries=${info.maxTaskRetries})`;
  return new ActorDiedError(
    `actor ${info.className} (${q.actorId}) died while running this call${why} and was restarted ` +
      `(restart ${info.restarts}); ${retried}`,
  );
}
