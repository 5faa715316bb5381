import { checkByteCount, checkOpen, checkRange } from "./checks.js";
import { toShmError } from "./errors.js";
import { listSegmentFiles } from "./list-segments.js";
import type { NativeAddon } from "./load-addon.js";
import { checkSegmentName } from "./names.js";
import { pollParentDeath, signalNumber } from "./parent-death.js";
import type { CreateSegmentOptions, ParentDeathMechanism, Segment, ShmBackend } from "./types.js";

const SHM_DIR = "/dev/shm";

/** A segment mapped into this process; `read` and `view` return views over the shared pages. */
class NativeSegment implements Segment {
  readonly name: string;
  readonly size: number;
  readonly zeroCopy = true;
  readonly #addon: NativeAddon;
  #buffer: ArrayBuffer | null;
  #pretouching = 0;
  #detachPending = false;

  constructor(addon: NativeAddon, name: string, buffer: ArrayBuffer) {
    this.#addon = addon;
    this.name = name;
    this.size = buffer.byteLength;
    this.#buffer = buffer;
  }

  get closed(): boolean {
    return this.#buffer === null;
  }

  /** The whole mapping; throws once closed. */
  get buffer(): ArrayBuffer {
    checkOpen(this.name, this.#buffer === null);
    return this.#buffer!;
  }

  read(offset: number, length: number): Uint8Array {
    return this.view(offset, length);
  }

  view(offset: number, length: number): Uint8Array {
    const buffer = this.buffer;
    checkRange(this.name, this.size, offset, length);
    return new Uint8Array(buffer, offset, length);
  }

  discard(offset: number, length: number): void {
    const buffer = this.buffer;
    checkRange(this.name, this.size, offset, length);
    this.#addon.discard?.(buffer, offset, length);
  }

  write(offset: number, data: ArrayBufferView): void {
    const buffer = this.buffer;
    checkRange(this.name, this.size, offset, data.byteLength);
    new Uint8Array(buffer, offset, data.byteLength).set(
      new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    );
  }

  async pretouch(offset = 0, length?: number): Promise<void> {
    const buffer = this.buffer;
    checkByteCount(offset, "offset");
    const len = length ?? Math.max(0, this.size - offset);
    checkRange(this.name, this.size, offset, len);
    this.#pretouching += 1;
    try {
      await this.#addon.pretouch(buffer, offset, len);
    } catch (error) {
      throw toShmError(error, this.name, "madvise");
    } finally {
      this.#pretouching -= 1;
      // close() during a pretouch defers the unmap so the pool thread never faults.
      if (this.#detachPending && this.#pretouching === 0) {
        this.#detachPending = false;
        this.#addon.detach(buffer);
      }
    }
  }

  close(): void {
    const buffer = this.#buffer;
    if (buffer === null) return;
    this.#buffer = null;
    if (this.#pretouching > 0) this.#detachPending = true;
    else this.#addon.detach(buffer);
  }
}

/** The zero-copy backend over the tsray_shm addon. */
export class NativeShmBackend implements ShmBackend {
  readonly kind = "native";
  readonly #addon: NativeAddon;

  constructor(addon: NativeAddon) {
    this.#addon = addon;
  }

  createSegment(name: string, size: number, options: CreateSegmentOptions = {}): Segment {
    checkSegmentName(name);
    checkByteCount(size, "segment size", 1);
    try {
      return new NativeSegment(
        this.#addon,
        name,
        this.#addon.createSegment(name, size, options.reserve === true),
      );
    } catch (error) {
      throw toShmError(error, name);
    }
  }

  openSegment(name: string, options: { copyOnWrite?: boolean } = {}): Segment {
    checkSegmentName(name);
    try {
      return new NativeSegment(
        this.#addon,
        name,
        this.#addon.openSegment(name, options.copyOnWrite === true),
      );
    } catch (error) {
      throw toShmError(error, name);
    }
  }

  unlinkSegment(name: string): boolean {
    checkSegmentName(name);
    try {
      return this.#addon.unlinkSegment(name);
    } catch (error) {
      throw toShmError(error, name);
    }
  }

  listSegments(prefix?: string): string[] {
    return listSegmentFiles(SHM_DIR, prefix);
  }

  setParentDeathSignal(
    signal: NodeJS.Signals | number = "SIGKILL",
    parentPid: number = process.ppid,
  ): ParentDeathMechanism {
    const sig = signalNumber(signal);
    checkByteCount(parentPid, "parentPid");
    if (this.#addon.setParentDeathSignal(sig, parentPid)) return "prctl";
    return pollParentDeath(sig, parentPid);
  }
}
