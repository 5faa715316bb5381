import { createRequire } from "node:module";
import { RuntimeUnavailableError } from "../errors/index.js";
import { type Clock, realClock, seededRandom } from "../util/index.js";
import type { Link, LinkHandlers, Listener, Network } from "./link.js";

/** The envelope codec instance (as connection.ts): decodes frames for `drop` predicates. */
const envelope = createRequire(import.meta.url)("msgpackr") as typeof import("msgpackr");

/** A frame crossing the in-memory network, as a `drop` predicate sees it. */
export interface FrameInfo {
  /** The sending and receiving host names. */
  readonly from: string;
  readonly to: string;
  /** The frame as written: `[u32 LE length][msgpack batch]`. */
  readonly bytes: Buffer;
  /** The frame's batch of messages, decoded (on first call). */
  messages(): readonly unknown[];
}

/** Options of a MemoryNetwork. */
export interface MemoryNetworkOptions {
  /** Times every delivery (default: real time; a FakeClock makes runs deterministic). */
  clock?: Clock;
  /** Seeds the delivery jitter (default 1): the same seed, the same order. */
  seed?: number;
}

function pairKey(a: string, b: string): string {
  return a < b ? `${a}\0${b}` : `${b}\0${a}`;
}

/** One end of an in-memory link: bytes it writes are delivered to `peer` through the network. */
class MemoryEnd implements Link {
  peer!: MemoryEnd;
  /** No more writes or deliveries to our handlers (we closed, or were told of the close). */
  closed = false;
  /** Due time of our last delivery to the peer: later ones never overtake it (stream order). */
  lastDue = 0;
  /** Deliveries to the peer held back by `MemoryNetwork.hold`, in write order (undefined: not holding). */
  held: Array<() => void> | undefined;
  /** Deliveries to the peer waiting for a partition between them to heal, in write order. */
  stalled: Array<() => void> | undefined;
  private handlers: LinkHandlers | undefined;
  private backlog: Array<Buffer | undefined> = [];
  private closeTold = false;

  constructor(
    private readonly net: MemoryNetwork,
    readonly host: string,
  ) {}

  write(bytes: Buffer): void {
    if (!this.closed) this.net.carry(this, bytes);
  }

  end(done?: () => void): void {
    if (this.closed) return;
    this.closed = true;
    this.net.carryClose(this, () => {
      this.tellClose();
      done?.();
    });
  }

  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    this.net.carryClose(this);
    this.net.soon(() => this.tellClose());
  }

  bind(handlers: LinkHandlers): void {
    this.handlers = handlers;
    for (const item of this.backlog.splice(0)) this.deliver(item);
  }

  unref(): void {
    // Holds no OS handle; the clock's timers are what a process waits on.
  }

  /** Bytes (or, for undefined, the close) from the peer. */
  deliver(item: Buffer | undefined): void {
    if (!this.handlers) {
      this.backlog.push(item);
      return;
    }
    if (item === undefined) this.tellClose();
    else if (!this.closed) this.handlers.data(item);
  }

  tellClose(): void {
    if (this.closeTold) return;
    if (!this.handlers) {
      // Not bound yet: the close waits behind the bytes delivered before it.
      this.backlog.push(undefined);
      return;
    }
    this.closed = true;
    this.closeTold = true;
    this.net.forget(this);
    this.handlers.close();
  }
}

/**
 * An in-memory network for simulation: named addresses, links made of message
 * queues (no sockets), every delivery timed by the injected clock. Each process
 * gets its view with `host(name)`; `partition`, `drop`, `delay` and `cut` act on
 * what crosses between hosts, on command. Frames travel as bytes (copied on write),
 * so the receiver runs the real FrameDecoder, frame limits and handshake.
 *
 * Ordering: a link delivers in write order; links are independent, so with jitter
 * frames on different links may be reordered (seeded). Partition: frames between
 * partitioned hosts wait and arrive in order after the heal (as TCP retransmits; the
 * links stay open), and dials across it fail; `drop` is what loses frames. Close: `end`/`destroy` deliver what
 * was written, then the peer sees the close; `cut` resets links at once (in-flight
 * frames lost, both ends see the close).
 */
export class MemoryNetwork {
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly listeners = new Map<string, { host: string; onLink: (link: Link) => void }>();
  private readonly partitions = new Set<string>();
  private readonly open = new Set<MemoryEnd>();
  private dropWhen: ((frame: FrameInfo) => boolean) | undefined;
  private holdWhen: ((frame: FrameInfo) => boolean) | undefined;
  private readonly holding = new Set<MemoryEnd>();
  /** Ends whose deliveries wait for a partition to heal. */
  private readonly parked = new Set<MemoryEnd>();
  private delayMs = 0;
  private jitterMs = 0;
  /** Frames delivered and frames lost (partition or drop) so far. */
  readonly stats = { delivered: 0, lost: 0 };

  constructor(opts: MemoryNetworkOptions = {}) {
    this.clock = opts.clock ?? realClock;
    this.random = seededRandom(opts.seed ?? 1);
  }

  /** The network as the process `name` sees it (pass to an Endpoint's `network`). */
  host(name: string): Network {
    return {
      dial: (address) => this.dial(name, address),
      listen: async (address, onLink) => this.listen(name, address, onLink),
    };
  }

  /**
   * Cut hosts `a` and `b` off from each other, both ways, until `heal`: frames written
   * on their links wait (as TCP retransmits them) and arrive, in order, after the heal;
   * the links stay open; new dials between them fail. A `cut` meanwhile loses them.
   */
  partition(a: string, b: string): void {
    this.partitions.add(pairKey(a, b));
  }

  /** End the partition between `a` and `b`, or every partition when called without hosts; waiting frames go on. */
  heal(a?: string, b?: string): void {
    if (a === undefined || b === undefined) this.partitions.clear();
    else this.partitions.delete(pairKey(a, b));
    for (const end of [...this.parked]) {
      if (this.partitions.has(pairKey(end.host, end.peer.host))) continue;
      this.parked.delete(end);
      const fns = end.stalled ?? [];
      end.stalled = undefined;
      for (const fn of fns) this.schedule(end, fn);
    }
  }

  /** Lose every frame for which `predicate` is true (undefined: lose none). */
  drop(predicate: ((frame: FrameInfo) => boolean) | undefined): void {
    this.dropWhen = predicate;
  }

  /**
   * Hold back every frame for which `predicate` is true, and everything written after it
   * on the same link direction (a stalled stream keeps its order), until `release`.
   * Other links flow on: this is how a scenario makes one message arrive late.
   */
  hold(predicate: (frame: FrameInfo) => boolean): void {
    this.holdWhen = predicate;
  }

  /** Stop holding and deliver every held frame (and close) in write order. Returns how many. */
  release(): number {
    this.holdWhen = undefined;
    let n = 0;
    for (const end of [...this.holding]) {
      const fns = end.held ?? [];
      end.held = undefined;
      n += fns.length;
      for (const fn of fns) this.schedule(end, fn);
    }
    this.holding.clear();
    return n;
  }

  /** Deliver frames `ms` after they are written, plus a seeded jitter in [0, jitterMs). */
  delay(ms: number, jitterMs = 0): void {
    if (!(ms >= 0) || !(jitterMs >= 0)) {
      throw new RangeError(`MemoryNetwork.delay: ms and jitterMs must be >= 0, got ${ms} and ${jitterMs}`);
    }
    this.delayMs = ms;
    this.jitterMs = jitterMs;
  }

  /** Reset every open link between `a` and `b` (or every link of `a`): both ends see a close. Returns how many. */
  cut(a: string, b?: string): number {
    let n = 0;
    for (const end of [...this.open]) {
      if (end.host !== a || (b !== undefined && end.peer.host !== b)) continue;
      n++;
      for (const e of [end, end.peer]) {
        // A reset loses what was held in flight too.
        e.held = undefined;
        this.holding.delete(e);
        e.stalled = undefined;
        this.parked.delete(e);
        e.closed = true;
        this.open.delete(e);
        this.soon(() => e.tellClose());
      }
    }
    return n;
  }

  /** Link ends not yet closed (both ends of a link count). */
  get openLinks(): number {
    return this.open.size;
  }

  /** @internal Carry `bytes` from `from` to its peer, unless partitioned or dropped. */
  carry(from: MemoryEnd, bytes: Buffer): void {
    const to = from.peer;
    const copy = Buffer.from(bytes);
    if (this.matches(this.dropWhen, from.host, to.host, copy)) {
      this.stats.lost++;
      return;
    }
    const deliver = () => {
      this.stats.delivered++;
      to.deliver(copy);
    };
    if (from.stalled || this.partitions.has(pairKey(from.host, to.host))) {
      (from.stalled ??= []).push(deliver);
      this.parked.add(from);
      return;
    }
    if (from.held || this.matches(this.holdWhen, from.host, to.host, copy)) {
      (from.held ??= []).push(deliver);
      this.holding.add(from);
      return;
    }
    this.schedule(from, deliver);
  }

  /** @internal Tell `from`'s peer of the close once everything written before it is delivered. */
  carryClose(from: MemoryEnd, then?: () => void): void {
    this.open.delete(from);
    const close = () => {
      from.peer.deliver(undefined);
      then?.();
    };
    if (from.stalled) from.stalled.push(close);
    else if (from.held) from.held.push(close);
    else this.schedule(from, close);
  }

  /** @internal Run `fn` on the clock, after what is already due now. */
  soon(fn: () => void): void {
    this.clock.setTimeout(fn, 0);
  }

  /** @internal */
  forget(end: MemoryEnd): void {
    this.open.delete(end);
  }

  private schedule(from: MemoryEnd, fn: () => void): void {
    const now = this.clock.now();
    const jitter = this.jitterMs > 0 ? this.random() * this.jitterMs : 0;
    const due = Math.max(now + this.delayMs + jitter, from.lastDue);
    from.lastDue = due;
    this.clock.setTimeout(fn, due - now);
  }

  private matches(
    when: ((frame: FrameInfo) => boolean) | undefined,
    from: string,
    to: string,
    bytes: Buffer,
  ): boolean {
    if (!when) return false;
    let decoded: readonly unknown[] | undefined;
    return when({
      from,
      to,
      bytes,
      messages: () => {
        decoded ??= new envelope.Unpackr({ useRecords: true, mapsAsObjects: true }).unpack(
          bytes.subarray(4),
        ) as unknown[];
        return decoded;
      },
    });
  }

  private listen(host: string, address: string, onLink: (link: Link) => void): Listener {
    if (this.listeners.has(address)) {
      throw new RuntimeUnavailableError(`MemoryNetwork: ${address} is already in use (EADDRINUSE)`);
    }
    this.listeners.set(address, { host, onLink });
    return {
      address,
      close: () => {
        if (this.listeners.get(address)?.onLink === onLink) this.listeners.delete(address);
      },
      unref: () => undefined,
    };
  }

  private dial(host: string, address: string): Promise<Link> {
    return new Promise<Link>((resolve, reject) => {
      // A connect takes a trip across the network like any frame.
      this.clock.setTimeout(() => {
        const l = this.listeners.get(address);
        if (!l) {
          reject(new Error(`connect ECONNREFUSED ${address} (nothing listens there)`));
          return;
        }
        if (this.partitions.has(pairKey(host, l.host))) {
          reject(new Error(`connect ETIMEDOUT ${address} (${host} and ${l.host} are partitioned)`));
          return;
        }
        const mine = new MemoryEnd(this, host);
        const theirs = new MemoryEnd(this, l.host);
        mine.peer = theirs;
        theirs.peer = mine;
        this.open.add(mine);
        this.open.add(theirs);
        l.onLink(theirs);
        resolve(mine);
      }, this.delayMs);
    });
  }
}
