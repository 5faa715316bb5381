/**
 * Splits a byte stream into frames of `[u32 little-endian length][body]`.
 * Chunks are kept as a list and joined once per frame, so a frame that arrives in
 * many chunks is copied once, and frames inside one chunk are not copied at all.
 *
 * Failure: a frame whose length is 0 or above `maxFrameBytes` makes `push` throw a
 * RangeError as soon as its 4-byte header is in (before its body is buffered); the
 * stream cannot be resynchronised after that, so the caller must drop it.
 * Memory: a partial frame costs its bytes plus at most ~64 chunk objects: a peer
 * that trickles a frame in tiny chunks (slow loris) gets its small chunks joined.
 */
/** A bulk frame's body starts with this byte (0xc1: never used by msgpack), then its head's length. */
export const BULK_MARK = 0xc1;
/** Frame length, mark, head length. */
const BULK_PREFIX = 9;

/**
 * Where bulk frames' payloads may go as they arrive. `target` sees the head (the
 * packed batch, its last message's bytes empty) and the payload's length, and returns
 * a buffer of exactly that length to fill, or undefined to have the frame buffered
 * and delivered whole. `done` runs once the target is full.
 */
export interface BulkSink {
  target(head: Buffer, payloadLength: number): Uint8Array | undefined;
  done(target: Uint8Array): void;
}

export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** A bulk frame whose payload streams into a target the sink gave (see BulkSink). */
  private streaming: { target: Uint8Array; filled: number } | undefined = undefined;
  /** The frame now buffering was checked for a bulk head (the check runs once per frame). */
  private checked = false;

  /**
   * @param maxFrameBytes frames longer than this are refused; may be changed between
   *   pushes (the handshake holds it low until the peer is authenticated).
   * @param sink where a bulk frame's payload may go as it arrives (bulk.ts); without
   *   one, or when it declines, bulk frames are buffered and handed to onFrame whole.
   */
  constructor(
    private readonly onFrame: (body: Buffer) => void,
    public maxFrameBytes: number,
    private readonly sink?: BulkSink,
  ) {}

  /** Feed bytes from the socket; calls onFrame for every complete frame, in order. Throws on an empty or oversized frame. */
  push(chunk: Buffer): void {
    const st = this.streaming;
    if (st) {
      const n = Math.min(chunk.length, st.target.length - st.filled);
      st.target.set(n === chunk.length ? chunk : chunk.subarray(0, n), st.filled);
      st.filled += n;
      if (st.filled < st.target.length) return;
      this.streaming = undefined;
      this.sink!.done(st.target);
      if (n < chunk.length) this.push(chunk.subarray(n));
      return;
    }
    this.pushFramed(chunk);
    if (this.sink && this.buffered > 0 && !this.checked) this.tryStream();
  }

  /**
   * The frame being buffered is a bulk frame whose head is in: ask the sink for a
   * target, and if it gives one, stream the payload there instead of buffering it.
   */
  private tryStream(): void {
    if (this.buffered < BULK_PREFIX) return;
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks, this.buffered)];
    const buf = this.chunks[0]!;
    if (buf[4] !== BULK_MARK) {
      this.checked = true;
      return;
    }
    const headLen = buf.readUInt32LE(5);
    const bodyLen = buf.readUInt32LE(0);
    if (headLen + 5 > bodyLen) throw new RangeError(`bulk frame head of ${headLen} bytes exceeds its frame`);
    if (buf.length < BULK_PREFIX + headLen) return;
    this.checked = true;
    const payload = bodyLen - 5 - headLen;
    const target = this.sink!.target(buf.subarray(BULK_PREFIX, BULK_PREFIX + headLen), payload);
    if (!target) return;
    const have = buf.subarray(BULK_PREFIX + headLen);
    const n = Math.min(have.length, payload);
    target.set(have.subarray(0, n), 0);
    this.chunks = [];
    this.buffered = 0;
    this.checked = false;
    if (n < payload) {
      this.streaming = { target, filled: n };
      return;
    }
    this.sink!.done(target);
    if (n < have.length) this.push(have.subarray(n));
  }

  private pushFramed(chunk: Buffer): void {
    if (this.buffered === 0) {
      const rest = this.scan(chunk);
      if (rest) {
        this.chunks.push(rest);
        this.buffered = rest.length;
      }
      return;
    }
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    if (this.buffered < 4) return;
    // Join small pieces: a header split over chunks would otherwise be re-joined on
    // every push, and a trickle of tiny chunks would cost an object per byte. Only
    // while little is buffered, so big frames in big chunks are still copied once.
    if (this.chunks[0]!.length < 4 || (this.chunks.length >= 64 && this.buffered <= 1 << 20)) {
      this.chunks = [Buffer.concat(this.chunks, this.buffered)];
    }
    const head = this.chunks[0]!;
    const need = head.readUInt32LE(0) + 4;
    this.check(need - 4);
    if (this.buffered < need) return;
    const all = Buffer.concat(this.chunks, this.buffered);
    this.chunks = [];
    this.buffered = 0;
    this.checked = false;
    const rest = this.scan(all);
    if (rest) {
      this.chunks.push(rest);
      this.buffered = rest.length;
    }
  }

  private scan(buf: Buffer): Buffer | undefined {
    let off = 0;
    while (buf.length - off >= 4) {
      const len = buf.readUInt32LE(off);
      this.check(len);
      if (buf.length - off - 4 < len) break;
      this.onFrame(buf.subarray(off + 4, off + 4 + len));
      off += 4 + len;
      this.checked = false;
    }
    return off < buf.length ? buf.subarray(off) : undefined;
  }

  private check(len: number): void {
    // Senders never flush an empty batch, so a zero length means the stream is garbled.
    if (len === 0) throw new RangeError("frame of 0 bytes: a frame holds at least one message");
    if (len > this.maxFrameBytes) {
      throw new RangeError(`frame of ${len} bytes exceeds the limit of ${this.maxFrameBytes} bytes`);
    }
  }
}
