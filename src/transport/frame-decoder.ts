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
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;

  /**
   * @param maxFrameBytes frames longer than this are refused; may be changed between
   *   pushes (the handshake holds it low until the peer is authenticated).
   */
  constructor(
    private readonly onFrame: (body: Buffer) => void,
    public maxFrameBytes: number,
  ) {}

  /** Feed bytes from the socket; calls onFrame for every complete frame, in order. Throws on an empty or oversized frame. */
  push(chunk: Buffer): void {
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
