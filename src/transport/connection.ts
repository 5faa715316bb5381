import { createRequire } from "node:module";
import type { Socket } from "node:net";
import { RuntimeUnavailableError } from "../errors/index.js";
import { type Message, Msg, type Reply, type RequestBody } from "../protocol/index.js";
import { FrameDecoder } from "./frame-decoder.js";

/**
 * The envelope codec is msgpackr's CommonJS build: a module instance of its own, so
 * the extensions the value codec registers (ObjectRef, typed arrays out of band, ...)
 * do not apply to envelopes. Payload bytes then travel as plain msgpack bin and
 * decode as views into the frame, without copies.
 */
const envelope = createRequire(import.meta.url)("msgpackr") as typeof import("msgpackr");

/** msgpackr option: reserve 4 bytes at the start of the packed buffer (the frame's length). */
const RESERVE_LENGTH_PREFIX = envelope.RESERVE_START_SPACE | 4;

/** Frames larger than this are a protocol violation (values above it go through the object store). */
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
 * One framed, batched, bidirectional message channel over a stream socket.
 *
 * Ordering: messages are delivered in send order. Batching: everything sent in one
 * synchronous run of JavaScript goes out as one frame (one write), flushed in a
 * microtask, so a loop of 1,000 sends costs one syscall.
 * Failure: when the socket closes, every pending request rejects with the close
 * reason and `onClose` listeners run once; sends after close are dropped and
 * requests after close reject with the same reason. A frame that is empty, too
 * long or not a batch destroys the connection with that protocol error (the peer
 * sees a close). A request handler that throws (or rejects) answers with the
 * encoded error, so its class and `code` reach the caller; a notification handler
 * that throws only emits a process warning. Neither closes the connection.
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
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private closed = false;
  private closeError: Error | undefined;
  private readonly closeListeners: Array<(err: Error) => void> = [];
  private readonly packr = new envelope.Packr({ useRecords: true, moreTypes: false });
  private readonly unpackr = new envelope.Unpackr({ useRecords: true, mapsAsObjects: true });
  private readonly flushBound = () => {
    this.flushScheduled = false;
    this.flush();
  };

  /**
   * @param maxFrameBytes incoming frames longer than this (or empty) destroy the
   *   connection with the decoder's RangeError.
   */
  constructor(
    readonly socket: Socket,
    private readonly handler: MessageHandler,
    private readonly errors: ErrorCodec,
    maxFrameBytes: number = MAX_FRAME_BYTES,
  ) {
    socket.setNoDelay?.(true);
    const decoder = new FrameDecoder((body) => this.onFrame(body), maxFrameBytes);
    socket.on("data", (chunk: Buffer) => {
      try {
        decoder.push(chunk);
      } catch (err) {
        this.destroy(err instanceof Error ? err : new Error(String(err)));
      }
    });
    socket.on("error", (err) => this.markClosed(err));
    socket.on("close", () =>
      this.markClosed(new RuntimeUnavailableError(`connection to ${this.describe()} closed`)),
    );
  }

  /** True once the socket has closed; later sends are dropped. */
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

  /** Send a request and wait for its reply body. Rejects with the remote error, or when the connection closes. */
  request<T = unknown>(body: RequestBody): Promise<T> {
    if (this.closed)
      return Promise.reject(this.closeError ?? new RuntimeUnavailableError("connection closed"));
    const rid = this.nextRid++;
    const msg = { ...body, rid } as Message;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(rid, { resolve: resolve as (v: unknown) => void, reject });
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

  /** Flush queued messages now. */
  flush(): void {
    if (this.out.length === 0 || this.closed) return;
    const batch = this.out;
    this.out = [];
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
    frame.writeUInt32LE(frame.length - 4, 0);
    this.socket.write(frame);
  }

  /** Close the socket; pending requests reject with `err`. */
  destroy(err?: Error): void {
    this.flush();
    this.markClosed(err ?? new RuntimeUnavailableError(`connection to ${this.describe()} closed`));
    this.socket.destroy();
  }

  /** Close after flushing queued messages. */
  end(): void {
    this.flush();
    this.socket.end();
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

  private onFrame(body: Buffer): void {
    const batch = this.unpackr.unpack(body) as Message[];
    // Thrown into the socket's data handler, which destroys the connection.
    if (!Array.isArray(batch))
      throw new TypeError("protocol error: a frame did not hold a batch of messages");
    for (let i = 0; i < batch.length; i++) {
      const msg = batch[i]!;
      if (msg.t === Msg.Reply) this.onReply(msg);
      else this.dispatch(msg);
    }
  }

  private dispatch(msg: Message): void {
    const rid = (msg as { rid?: number }).rid;
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
