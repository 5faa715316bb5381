import { type ActorCheckpoint, Msg } from "../protocol/index.js";
import { encode } from "../serialization/index.js";
import type { Connection } from "../transport/index.js";
import { type Clock, log, realClock, type Timer } from "../util/index.js";

/** One caller's sequence of calls to this actor, as the actor sees it. */
interface Stream {
  /** The caller's stream number (echoed in ActorCovered). */
  readonly s: number;
  /** The connection its calls arrive on (unknown for a stream restored from a checkpoint until it re-sends). */
  conn: Connection | undefined;
  /** Highest call number accepted (a re-sent call at or below it is a duplicate and is dropped). */
  received: number;
  /** Highest call number finished (its effect is in the actor's state). */
  executed: number;
  /** Highest call number up to which the caller holds every reply (ActorAck). */
  acked: number;
  /** Highest call number the caller was told is covered (ActorCovered). */
  noticed: number;
  /** The caller's connection closed: it is gone, and its acknowledgements no longer matter. */
  closed: boolean;
}

/** A snapshot waiting for acknowledgements (or for the control store's reply). */
interface Pending {
  readonly ckpt: ActorCheckpoint;
  sending: boolean;
}

/** The cadence of `checkpointEvery`. */
export interface Cadence {
  readonly calls?: number;
  readonly ms?: number;
}

/**
 * The worker side of checkpointed actors (see docs/design/fault-tolerance.md):
 * - sequencing: callers number their calls per stream; a call whose number was
 *   already received (a re-send after a restart, covered by the restored
 *   checkpoint) is dropped;
 * - cadence: a snapshot is due after `calls` finished calls or `ms` milliseconds
 *   (when at least one call finished since the last one); the executor takes it
 *   when no call is running, so the state includes exactly the finished calls;
 * - commit: a snapshot is sent to the control store only once every caller has
 *   acknowledged the replies of the calls it covers (so no committed checkpoint
 *   covers a call whose reply could still be lost with this process); after the
 *   control store accepted it, callers are told which of their calls it covers and
 *   forget them. One snapshot is in flight at a time, so commits stay in order.
 */
export class Checkpointer {
  private readonly streams = new Map<string, Stream>();
  private readonly watched = new WeakSet<Connection>();
  private callsSince = 0;
  private lastAt: number;
  private pending: Pending | undefined;
  private timer: Timer | undefined;
  /** Checkpoints committed by this process (diagnostics). */
  committed = 0;

  constructor(
    private readonly actorId: string,
    private readonly inc: number,
    private readonly every: Cadence,
    private readonly controlStore: () => Connection,
    /** Called when a snapshot may have become due or possible (the executor re-checks). */
    private readonly poke: () => void,
    private readonly clock: Clock = realClock,
  ) {
    this.lastAt = clock.now();
  }

  /** Start from a restored checkpoint: its calls count as received, executed and acknowledged. */
  restore(covered: ActorCheckpoint["covered"]): void {
    for (const [key, seq] of covered) {
      const s = Number(key.slice(key.lastIndexOf(":") + 1));
      this.streams.set(key, {
        s,
        conn: undefined,
        received: seq,
        executed: seq,
        acked: seq,
        noticed: seq,
        closed: false,
      });
    }
  }

  /** A sequenced call arrived: its stream key, or undefined for a duplicate to drop. */
  accept(conn: Connection, s: number, seq: number): string | undefined {
    const key = `${conn.peerId}:${s}`;
    let st = this.streams.get(key);
    if (!st) {
      st = { s, conn, received: 0, executed: 0, acked: 0, noticed: 0, closed: false };
      this.streams.set(key, st);
    }
    if (st.conn !== conn) {
      st.conn = conn;
      st.closed = false;
      this.watch(conn);
    }
    if (seq <= st.received) return undefined;
    if (seq !== st.received + 1) {
      log.warn(`actor ${this.actorId}: call ${seq} of stream ${key} arrived after ${st.received} (gap)`);
    }
    st.received = seq;
    return key;
  }

  /** A sequenced call finished (its reply is on its way). */
  done(key: string, seq: number): void {
    const st = this.streams.get(key);
    if (st && seq > st.executed) st.executed = seq;
    this.callsSince++;
    this.armTimer();
  }

  /** With an `ms` cadence and calls not yet checkpointed: wake the executor when the period is over. */
  private armTimer(): void {
    if (this.every.ms === undefined || this.timer || this.callsSince === 0) return;
    const wait = Math.max(1, Math.ceil(this.lastAt + this.every.ms - this.clock.now()));
    this.timer = this.clock
      .setTimeout(() => {
        this.timer = undefined;
        if (!this.due()) this.armTimer(); // early by a rounding, or a snapshot is still being committed
        this.poke();
      }, wait)
      .unref();
  }

  /** The caller of stream `s` on `conn` holds every reply up to `upto`. */
  ack(conn: Connection, s: number, upto: number): void {
    const st = this.streams.get(`${conn.peerId}:${s}`);
    if (!st || upto <= st.acked) return;
    st.acked = upto;
    this.tryCommit();
  }

  /** Whether a snapshot should be taken as soon as no call is running. */
  due(): boolean {
    if (this.pending || this.callsSince === 0) return false;
    const { calls, ms } = this.every;
    return (
      (calls !== undefined && this.callsSince >= calls) ||
      (ms !== undefined && this.clock.now() - this.lastAt >= ms)
    );
  }

  /** What a snapshot taken now covers: the finished calls of every stream. */
  coverage(): ActorCheckpoint["covered"] {
    const out: ActorCheckpoint["covered"] = [];
    for (const [key, st] of this.streams) if (st.executed > 0) out.push([key, st.executed]);
    return out;
  }

  /** saveCheckpoint() returned `state` for the calls in `covered`: commit it once acknowledged. */
  prepare(state: unknown, covered: ActorCheckpoint["covered"]): void {
    this.callsSince = 0;
    this.lastAt = this.clock.now();
    let bytes: Uint8Array;
    try {
      bytes = encode(state);
    } catch (err) {
      log.warn(`actor ${this.actorId}: its checkpoint cannot be serialized: ${(err as Error).message}`);
      return;
    }
    this.pending = { ckpt: { state: bytes, covered }, sending: false };
    this.tryCommit();
  }

  /** saveCheckpoint() threw: no checkpoint this time (the next one is due after a full period). */
  failed(err: unknown): void {
    this.callsSince = 0;
    this.lastAt = this.clock.now();
    log.warn(
      `actor ${this.actorId}: saveCheckpoint() failed: ${err instanceof Error ? err.message : String(err)}`,
    );
  }

  private watch(conn: Connection): void {
    if (this.watched.has(conn)) return;
    this.watched.add(conn);
    conn.onClose(() => {
      for (const st of this.streams.values()) if (st.conn === conn) st.closed = true;
      this.tryCommit();
    });
  }

  private tryCommit(): void {
    const p = this.pending;
    if (!p || p.sending) return;
    for (const [key, seq] of p.ckpt.covered) {
      const st = this.streams.get(key);
      if (st && !st.closed && st.acked < seq) return; // a reply it covers may not have arrived yet
    }
    p.sending = true;
    let cs: Connection;
    try {
      cs = this.controlStore();
    } catch {
      this.pending = undefined;
      return;
    }
    cs.request({ t: Msg.SaveActorCheckpoint, actorId: this.actorId, inc: this.inc, ckpt: p.ckpt }).then(
      () => {
        this.committed++;
        for (const [key, seq] of p.ckpt.covered) {
          const st = this.streams.get(key);
          if (!st || seq <= st.noticed) continue;
          st.noticed = seq;
          st.conn?.send({ t: Msg.ActorCovered, s: st.s, upto: seq });
        }
        this.pending = undefined;
        this.armTimer();
        this.poke();
      },
      (err: Error) => {
        log.warn(`actor ${this.actorId}: checkpoint not kept: ${err.message}`);
        this.pending = undefined;
        this.armTimer();
        this.poke();
      },
    );
  }
}
