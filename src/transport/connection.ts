import { createRequire } from "node:module";
import { config } from "../config/index.js";
import { ProtocolError, RayError, RuntimeUnavailableError } from "../errors/index.js";
import {
  type Message,
  MSG_NAMES,
  Msg,
  type Reply,
  type ReplyOf,
  type RequestBodyOf,
  type RequestKind,
} from "../protocol/index.js";
import { type Clock, log, realClock } from "../util/index.js";
import { bulkHead, setBulk, splitBulk } from "./bulk.js";
import { BULK_MARK, FrameDecoder } from "./frame-decoder.js";
import { isServedKind, unknownKindError } from "./kinds.js";
import type { Link } from "./link.js";

/**
 * The envelope codec is msgpackr's CommonJS build: a module instance of its own, so
 * the extensions the value codec registers (ObjectRef, typed arrays out of band, ...)
 * do not apply to envelopes. Payload bytes then travel as plain msgpack bin and
 * decode as views into the frame, without copies.
 */
const envelope = createRequire(import.meta.url)("msgpackr") as typeof import("msgpackr");

/** msgpackr option: reserve 4 bytes at the start of the packed buffer (the frame's length). */
const RESERVE_LENGTH_PREFIX = envelope.RESERVE_START_SPACE | 4;

/** The largest frame length the 4-byte header can express; `maxFrameBytes` (TSRAY_MAX_FRAME_BYTES) is the real limit. */
export const MAX_FRAME_BYTES = 0xffff_ffff;

/**
 * A long synchronous run of sends is flushed every this many messages, so the
 * peer starts working on the first part of a batch while we produce the rest.
 */
const FLUSH_EVERY = 256;

/** Handles one incoming message. Requests must return their reply body (or throw). */
export type MessageHandler = (msg: Message, conn: Connection) => unknown;

/** Turns an error thrown by a request handler into wire bytes and back. */
export interface ErrorCodec {
  encode(err: unknown): Uint8Array;
  decode(bytes: Uint8Array): Error;
}

/**
 * One framed, batched, bidirectional message channel over a `Link` (a real socket,
 * or the in-memory network's queues: the same code runs on both).
 *
 * Ordering: messages are delivered in send order. Batching: everything sent in one
 * synchronous run of JavaScript goes out as one frame (one write), flushed in a
 * microtask, so a loop of 1,000 sends costs one syscall.
 * Failure: when the link closes, every pending request rejects with the close
 * reason and `onClose` listeners run once; sends after close are dropped and
 * requests after close reject with the same reason. A frame that is empty, too
 * long or not a batch destroys the connection with that protocol error (the peer
 * sees a close). A request handler that throws (or rejects) answers with the
 * encoded error, so its class and `code` reach the caller; a notification handler
 * that throws only emits a process warning. Neither closes the connection.
 * Guard: while `guard()` is in force (the handshake), every incoming message goes
 * to the guard instead of the handler, and frames are held to the guard's small
 * limit; `open()` lifts it. Unknown kinds: a request of a kind this protocol
 * version does not serve is answered with a ProtocolError naming the kind; such a
 * notification is dropped with one log line per connection.
 * Sender limit: a batch whose frame would exceed `maxFrameBytes` is split; a single
 * message that alone exceeds it fails locally (a request rejects, a reply is
 * replaced by an error reply, a notification is logged), so the peer never drops
 * the connection for it.
 */
export class Connection {
  /** Id of the peer process (from its Hello), once known. */
  peerId = "";
  /** Where the peer listens (from its Hello), once known. */
  peerAddress = "";
  /** Arbitrary per-connection state for services (e.g. interned function ids). */
  readonly state = new Map<string, unknown>();
  private out: Message[] = [];
  private flushScheduled = false;
  private nextRid = 1;
  private readonly pending = new Map<
    number,
    { resolve: (v: unknown) => void; reject: (e: Error) => void; sink?: Uint8Array }
  >();
  /** The batch of the bulk frame whose payload is streaming into a sink (see bulkTarget). */
  private bulkBatch: Message[] | undefined = undefined;
  private closed = false;
  private closeError: Error | undefined;
  private readonly closeListeners: Array<(err: Error) => void> = [];
  private readonly packr = new envelope.Packr({ useRecords: true, moreTypes: false });
  private readonly unpackr = new envelope.Unpackr({ useRecords: true, mapsAsObjects: true });
  private readonly decoder: FrameDecoder;
  private gate: ((msg: Message) => void) | undefined;
  private warnedUnknown = false;
  private readonly flushBound = () => {
    this.flushScheduled = false;
    this.flush();
  };

  /**
   * @param maxFrameBytes incoming frames longer than this (or empty) destroy the
   *   connection with the decoder's RangeError; outgoing ones are split or failed
   *   (see the class doc). Default: TSRAY_MAX_FRAME_BYTES.
   * @param clock times `refuse`'s wait for the last frame to drain.
   */
  constructor(
    readonly link: Link,
    private readonly handler: MessageHandler,
    private readonly errors: ErrorCodec,
    private readonly maxFrameBytes: number = config().maxFrameBytes,
    private readonly clock: Clock = realClock,
  ) {
    const decoder = new FrameDecoder((body) => this.onFrame(body), maxFrameBytes, {
      target: (head, n) => this.bulkTarget(head, n),
      done: (target) => this.bulkDone(target),
    });
    this.decoder = decoder;
    link.bind({
      data: (chunk: Buffer) => {
        try {
          decoder.push(chunk);
        } catch (err) {
          this.destroy(err instanceof Error ? err : new Error(String(err)));
        }
      },
      // A link error (ECONNRESET, EPIPE: the peer died) closes the connection like a close
      // does: pending and later requests reject with RuntimeUnavailableError (the errno error
      // as its cause), so callers see one typed error for "the peer is gone".
      close: (err) =>
        this.markClosed(
          err === undefined
            ? new RuntimeUnavailableError(`connection to ${this.describe()} closed`)
            : err instanceof RayError
              ? err
              : new RuntimeUnavailableError(`connection to ${this.describe()} failed: ${err.message}`, {
                  cause: err,
                }),
        ),
    });
  }

  /** True once the link has closed; later sends are dropped. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Queue a message; it leaves in the next flush (same tick). */
  send(msg: Message): void {
    if (this.closed) return;
    if (this.out.push(msg) >= FLUSH_EVERY) {
      this.flush();
      return;
    }
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(this.flushBound);
    }
  }

  /**
   * Send a request and wait for its reply body, whose type the protocol binds to the
   * request's kind (`ReplyOf`). Rejects with the remote error, or when the connection closes.
   */
  request<K extends RequestKind>(body: RequestBodyOf<K>, opts?: { sink?: Uint8Array }): Promise<ReplyOf<K>> {
    if (this.closed)
      return Promise.reject(this.closeError ?? new RuntimeUnavailableError("connection closed"));
    const rid = this.nextRid++;
    const msg = { ...body, rid } as Message;
    return new Promise<ReplyOf<K>>((resolve, reject) => {
      this.pending.set(rid, { resolve: resolve as (v: unknown) => void, reject, sink: opts?.sink });
      this.send(msg);
    });
  }

  /** The rid the next request() will use (lets callers refer to a request before sending it). */
  peekNextRid(): number {
    return this.nextRid;
  }

  /** Register a listener called once when the connection closes (immediately if already closed). */
  onClose(fn: (err: Error) => void): void {
    if (this.closed) fn(this.closeError!);
    else this.closeListeners.push(fn);
  }

  /**
   * Until `open()`, hand every incoming message to `gate` instead of the handler and
   * refuse frames longer than `maxFrameBytes` (the handshake: see handshake.ts).
   */
  guard(gate: (msg: Message) => void, maxFrameBytes: number): void {
    this.gate = gate;
    this.decoder.maxFrameBytes = maxFrameBytes;
  }

  /** Lift the guard: messages reach the handler, frames may be up to the connection's limit. */
  open(): void {
    this.gate = undefined;
    this.decoder.maxFrameBytes = this.maxFrameBytes;
  }

  /** Flush queued messages now. */
  flush(): void {
    if (this.out.length === 0 || this.closed) return;
    const batch = this.out;
    this.out = [];
    this.writeBatch(batch);
  }

  private writeBatch(batch: Message[]): void {
    // Each large bytes reply ends a frame of its own, so its bytes need no copy (bulk.ts).
    let from = 0;
    for (let i = 0; i < batch.length; i++) {
      const bulk = splitBulk(batch[i]!);
      if (!bulk) continue;
      const part = from === 0 && i === batch.length - 1 ? batch : batch.slice(from, i + 1);
      if (!this.writeBulk(part, bulk)) this.writePacked(part);
      from = i + 1;
    }
    if (from === 0) this.writePacked(batch);
    else if (from < batch.length) this.writePacked(batch.slice(from));
  }

  private writePacked(batch: Message[]): void {
    let frame: Buffer;
    try {
      // The codec leaves room for the length prefix before the body: the frame is one
      // buffer and one write(2), not a writev of two (measured: writev was ~12% of a
      // process making synchronous calls).
      frame = this.packr.pack(batch, RESERVE_LENGTH_PREFIX);
    } catch (err) {
      // A message that cannot be encoded is a bug in the sender; fail loudly but keep the channel.
      for (const m of batch) this.failLocal(m, err);
      return;
    }
    if (frame.length - 4 > this.maxFrameBytes) {
      this.oversized(batch, frame.length - 4);
      return;
    }
    frame.writeUInt32LE(frame.length - 4, 0);
    this.link.write(frame);
  }

  /**
   * A batch ending in a large bytes reply (see bulk.ts): packed without the bytes,
   * then the bytes written from where they lie (e.g. the object store's arena, pinned
   * by the requester until it has every chunk). False: send it the plain way.
   */
  private writeBulk(batch: Message[], [stub, bytes]: [Message, Uint8Array]): boolean {
    let frame: Buffer;
    try {
      frame = this.packr.pack([...batch.slice(0, -1), stub], RESERVE_LENGTH_PREFIX);
    } catch {
      return false;
    }
    const head = bulkHead(frame, bytes.length);
    if (head.length - 4 + bytes.length > this.maxFrameBytes) return false;
    this.link.write(head);
    this.link.write(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length));
    return true;
  }

  /** A batch too long for one frame: halves go separately; one message alone fails locally. */
  private oversized(batch: Message[], bytes: number): void {
    if (batch.length > 1) {
      const mid = batch.length >> 1;
      this.writePacked(batch.slice(0, mid));
      this.writePacked(batch.slice(mid));
      return;
    }
    const m = batch[0]!;
    const err = new ProtocolError(
      `a message of kind ${m.t} (${MSG_NAMES.get(m.t) ?? "unknown"}) to ${this.describe()} encodes to ${bytes} bytes, ` +
        `above the frame limit of ${this.maxFrameBytes} bytes (TSRAY_MAX_FRAME_BYTES); large values must go through the object store`,
    );
    if (m.t === Msg.Reply) this.writeBatch([{ t: Msg.Reply, rid: m.rid, err: this.errors.encode(err) }]);
    else if ((m as { rid?: number }).rid !== undefined) this.failLocal(m, err);
    else log.error(`${err.message}; the notification was dropped`);
  }

  /** Close the link; pending requests reject with `err`. */
  destroy(err?: Error): void {
    this.flush();
    this.markClosed(err ?? new RuntimeUnavailableError(`connection to ${this.describe()} closed`));
    this.link.destroy();
  }

  /**
   * Send `msg` as the last frame and close: the connection counts as closed with
   * `err` at once, whatever else the peer sends is ignored, and the link is
   * destroyed once the frame is written (or after a second if the peer does not read).
   */
  refuse(msg: Message, err: Error): void {
    if (this.closed) return;
    this.out.push(msg);
    this.flush();
    this.gate = () => undefined;
    this.markClosed(err);
    const link = this.link;
    const clock = this.clock;
    const kill = clock.setTimeout(() => link.destroy(), 1000).unref();
    link.end(() => {
      clock.clearTimer(kill);
      link.destroy();
    });
  }

  /** Close after flushing queued messages. */
  end(): void {
    this.flush();
    this.link.end();
  }

  private failLocal(m: Message, err: unknown): void {
    const rid = (m as { rid?: number }).rid;
    if (m.t !== Msg.Reply && rid !== undefined) {
      const p = this.pending.get(rid);
      if (p) {
        this.pending.delete(rid);
        p.reject(err instanceof Error ? err : new Error(String(err)));
      }
    }
  }

  /** A bulk frame's head is in: its payload goes to the sink its request gave, if it fits. */
  private bulkTarget(head: Buffer, payload: number): Uint8Array | undefined {
    const batch = this.unpackBatch(head);
    const sink = this.sinkFor(batch, payload);
    if (sink) this.bulkBatch = batch;
    return sink;
  }

  /** The sink of the request a bulk batch's last reply answers, when it holds exactly `length` bytes. */
  private sinkFor(batch: Message[], length: number): Uint8Array | undefined {
    const last = batch[batch.length - 1] as Reply | undefined;
    const sink = last?.t === Msg.Reply ? this.pending.get(last.rid)?.sink : undefined;
    return sink?.length === length ? sink : undefined;
  }

  private bulkDone(target: Uint8Array): void {
    const batch = this.bulkBatch!;
    this.bulkBatch = undefined;
    setBulk(batch, target);
    this.deliver(batch);
  }

  private onFrame(body: Buffer): void {
    if (body[0] === BULK_MARK) {
      // A bulk frame that arrived whole: its payload is a view of the frame (or lands in the sink).
      if (body.length < 5) throw new TypeError("protocol error: a bulk frame without its head");
      const headLen = body.readUInt32LE(1);
      if (5 + headLen > body.length) throw new TypeError("protocol error: a bulk frame's head exceeds it");
      const batch = this.unpackBatch(body.subarray(5, 5 + headLen));
      let payload: Uint8Array = body.subarray(5 + headLen);
      const sink = this.sinkFor(batch, payload.length);
      if (sink) {
        sink.set(payload);
        payload = sink;
      }
      setBulk(batch, payload);
      this.deliver(batch);
      return;
    }
    this.deliver(this.unpackBatch(body));
  }

  private unpackBatch(body: Buffer): Message[] {
    const batch = this.unpackr.unpack(body) as Message[];
    // Thrown into the link's data handler, which destroys the connection.
    if (!Array.isArray(batch))
      throw new TypeError("protocol error: a frame did not hold a batch of messages");
    return batch;
  }

  private deliver(batch: Message[]): void {
    let i = 0;
    if (this.gate) {
      // The handshake: the guard sees messages until it opens the connection (or closes it).
      while (i < batch.length) {
        // Re-read each time: the guard opens (clears itself) on the handshake's last message.
        const gate = this.gate as ((msg: Message) => void) | undefined;
        if (!gate) break;
        gate(batch[i++]!);
      }
      if (this.closed) return;
    }
    for (; i < batch.length; i++) {
      const msg = batch[i]!;
      if (msg.t === Msg.Reply) this.onReply(msg);
      else this.dispatch(msg);
    }
  }

  private dispatch(msg: Message): void {
    const rid = (msg as { rid?: number }).rid;
    if (!isServedKind(msg.t)) {
      this.onUnknown(msg, rid);
      return;
    }
    let result: unknown;
    try {
      result = this.handler(msg, this);
    } catch (err) {
      if (rid !== undefined) this.send({ t: Msg.Reply, rid, err: this.errors.encode(err) });
      else process.emitWarning(`tsray: handler for message ${msg.t} threw: ${String(err)}`);
      return;
    }
    if (rid === undefined) return;
    if (result instanceof Promise) {
      result.then(
        (body) => this.send({ t: Msg.Reply, rid, body }),
        (err) => this.send({ t: Msg.Reply, rid, err: this.errors.encode(err) }),
      );
    } else {
      this.send({ t: Msg.Reply, rid, body: result });
    }
  }

  private onUnknown(msg: Message, rid: unknown): void {
    const err = unknownKindError(msg.t);
    if (typeof rid === "number") {
      this.send({ t: Msg.Reply, rid, err: this.errors.encode(err) });
      return;
    }
    if (this.warnedUnknown) return;
    this.warnedUnknown = true;
    log.warn(
      `${this.describe()} sent a notification of ${err.message}; dropped (logged once per connection)`,
    );
  }

  private onReply(msg: Reply): void {
    const p = this.pending.get(msg.rid);
    if (!p) return;
    this.pending.delete(msg.rid);
    if (msg.err) p.reject(this.errors.decode(msg.err));
    else p.resolve(msg.body);
  }

  private markClosed(err: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.closeError = err;
    this.out = [];
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    for (const fn of this.closeListeners.splice(0)) fn(err);
  }

  private describe(): string {
    return this.peerId ? `${this.peerId} (${this.peerAddress || "no address"})` : this.peerAddress || "peer";
  }
}
