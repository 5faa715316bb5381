/** Which implementation serves shared memory in this process. */
export type ShmBackendKind = "native" | "js-fallback";

/**
 * One named shared-memory segment mapped (native) or opened (fallback) by this process.
 *
 * Offsets and lengths are byte counts; every access is bounds-checked and throws
 * `RangeError` outside `[0, size)`. A closed segment throws on every access.
 */
export interface Segment {
  /** POSIX shared-memory name, e.g. `/tsray-1234-7`. */
  readonly name: string;
  /** Size in bytes, fixed at creation. */
  readonly size: number;
  /** True when `read` returns views over the shared pages (native backend). */
  readonly zeroCopy: boolean;
  /** True once `close` ran. */
  readonly closed: boolean;
  /**
   * Bytes `[offset, offset + length)`: a zero-copy view over the shared pages for the
   * native backend (other processes' writes show through it), a fresh copy for the
   * fallback.
   */
  read(offset: number, length: number): Uint8Array;
  /** Copies `data` into the segment at `offset`. */
  write(offset: number, data: ArrayBufferView): void;
  /** Zero-copy view of `[offset, offset + length)`; only present when `zeroCopy` is true. */
  view?(offset: number, length: number): Uint8Array;
  /**
   * Faults the pages of `[offset, offset + length)` in from a background thread so later
   * writes hit warm pages. Resolves when done; a no-op for the fallback.
   */
  pretouch(offset?: number, length?: number): Promise<void>;
  /**
   * Throws away this process's private (copy-on-write) changes to the pages of a
   * range, so it shows the shared contents again. A no-op where not supported.
   */
  discard?(offset: number, length: number): void;
  /**
   * Releases this process's mapping (native: the ArrayBuffer is detached, so views
   * obtained earlier become empty, and the pages are unmapped shortly after) or file
   * descriptor (fallback). The segment itself stays until `unlinkSegment`. Idempotent.
   */
  close(): void;
}

/** Options for {@link ShmBackend.createSegment}. */
export interface CreateSegmentOptions {
  /**
   * Allocate every page up front (posix_fallocate) so the segment can never run out
   * of /dev/shm space later (which would kill the process with SIGBUS on a write).
   * Costs time proportional to the size. Default false.
   */
  reserve?: boolean;
}

/** How {@link ShmBackend.setParentDeathSignal} arranged the signal. */
export type ParentDeathMechanism = "prctl" | "poll";

/** The operations every shared-memory backend provides. */
export interface ShmBackend {
  /** Which implementation this is. */
  readonly kind: ShmBackendKind;
  /**
   * Creates a new segment of `size` bytes (zero-filled) and maps it. Throws an
   * {@link ShmError} with code `EEXIST` if the name is taken, `ENOSPC` if the
   * shared-memory file system cannot hold `size` bytes, `ERANGE` if this Node.js
   * cannot expose that many bytes as one ArrayBuffer.
   */
  createSegment(name: string, size: number, options?: CreateSegmentOptions): Segment;
  /**
   * Maps an existing segment read-write; its size is the segment's. `ENOENT` if absent.
   * With `copyOnWrite`, this process's writes stay private (other processes never see
   * them) and `Segment.discard` drops them again (native only; the fallback copies anyway).
   */
  openSegment(name: string, options?: { copyOnWrite?: boolean }): Segment;
  /** Removes the name; mappings stay valid until closed. Returns false when it did not exist. */
  unlinkSegment(name: string): boolean;
  /** Names of existing segments that start with `prefix` (default `/tsray-`), sorted. */
  listSegments(prefix?: string): string[];
  /**
   * Makes this process receive `signal` (default SIGKILL) when its parent dies. If the
   * parent with pid `parentPid` (default `process.ppid`) is already gone, the signal is
   * sent at once. Linux native uses prctl(PR_SET_PDEATHSIG); elsewhere an unref'd timer
   * polls `process.ppid`.
   */
  setParentDeathSignal(signal?: NodeJS.Signals | number, parentPid?: number): ParentDeathMechanism;
}
