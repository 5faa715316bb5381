import {
  accessSync,
  closeSync,
  constants,
  existsSync,
  fstatSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readSync,
  statfsSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkByteCount, checkOpen, checkRange } from "./checks.js";
import { noSpaceError, ShmError, toShmError } from "./errors.js";
import { listSegmentFiles } from "./list-segments.js";
import { checkSegmentName } from "./names.js";
import { pollParentDeath, signalNumber } from "./parent-death.js";
import type { CreateSegmentOptions, ParentDeathMechanism, Segment, ShmBackend } from "./types.js";

/** Largest single read/write handed to the kernel (Linux caps one call near 2 GiB). */
const IO_CHUNK = 1 << 30;

/**
 * Where fallback segments live: `$TSRAY_SHM_DIR`, else /dev/shm when writable (then
 * native and fallback processes on one machine share the same segments), else
 * `<tmpdir>/tsray-shm-fallback`.
 */
export function fallbackDirectory(): string {
  const fromEnv = process.env.TSRAY_SHM_DIR;
  if (fromEnv !== undefined && fromEnv !== "") return fromEnv;
  try {
    accessSync("/dev/shm", constants.W_OK);
    return "/dev/shm";
  } catch {
    return join(tmpdir(), "tsray-shm-fallback");
  }
}

/** A segment backed by a file read and written with `node:fs`; `read` returns copies. */
class FileSegment implements Segment {
  readonly name: string;
  readonly size: number;
  readonly zeroCopy = false;
  #fd: number | null;

  constructor(name: string, size: number, fd: number) {
    this.name = name;
    this.size = size;
    this.#fd = fd;
  }

  get closed(): boolean {
    return this.#fd === null;
  }

  #open(): number {
    checkOpen(this.name, this.#fd === null);
    return this.#fd!;
  }

  read(offset: number, length: number): Uint8Array {
    const fd = this.#open();
    checkRange(this.name, this.size, offset, length);
    const out = new Uint8Array(length);
    let done = 0;
    try {
      while (done < length) {
        const n = readSync(fd, out, done, Math.min(IO_CHUNK, length - done), offset + done);
        if (n === 0) break; // the file shrank: the rest reads as zeros
        done += n;
      }
    } catch (error) {
      throw toShmError(error, this.name, "read");
    }
    return out;
  }

  write(offset: number, data: ArrayBufferView): void {
    const fd = this.#open();
    checkRange(this.name, this.size, offset, data.byteLength);
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    let done = 0;
    try {
      while (done < bytes.byteLength) {
        done += writeSync(fd, bytes, done, Math.min(IO_CHUNK, bytes.byteLength - done), offset + done);
      }
    } catch (error) {
      throw toShmError(error, this.name, "write");
    }
  }

  async pretouch(offset = 0, length?: number): Promise<void> {
    this.#open();
    checkByteCount(offset, "offset");
    checkRange(this.name, this.size, offset, length ?? Math.max(0, this.size - offset));
  }

  close(): void {
    const fd = this.#fd;
    if (fd === null) return;
    this.#fd = null;
    closeSync(fd);
  }
}

/** The pure-JS backend: files under {@link fallbackDirectory}, copies on every read. */
export class JsShmBackend implements ShmBackend {
  readonly kind = "js-fallback";
  /** The directory holding the segment files. */
  readonly directory: string;

  constructor(directory: string = fallbackDirectory()) {
    this.directory = directory;
  }

  #path(name: string): string {
    return join(this.directory, name.slice(1));
  }

  createSegment(name: string, size: number, options: CreateSegmentOptions = {}): Segment {
    checkSegmentName(name);
    checkByteCount(size, "segment size", 1);
    if (!existsSync(this.directory)) mkdirSync(this.directory, { recursive: true, mode: 0o700 });
    const path = this.#path(name);
    let fd: number;
    try {
      fd = openSync(path, constants.O_CREAT | constants.O_EXCL | constants.O_RDWR, 0o600);
    } catch (error) {
      throw toShmError(error, name, "open");
    }
    try {
      const fs = statfsSync(this.directory);
      const available = fs.bavail * fs.bsize;
      if (fs.blocks > 0 && size > available) throw noSpaceError(name, size, available, this.directory);
      ftruncateSync(fd, size);
      if (options.reserve === true) this.#reserve(fd, size);
    } catch (error) {
      closeSync(fd);
      try {
        unlinkSync(path);
      } catch {
        // Already gone; the original error is the one to report.
      }
      throw toShmError(error, name, "ftruncate");
    }
    return new FileSegment(name, size, fd);
  }

  /** Writes zeros over the whole file so every block is allocated now. */
  #reserve(fd: number, size: number): void {
    const zeros = new Uint8Array(Math.min(size, 1 << 24));
    for (let done = 0; done < size; ) {
      done += writeSync(fd, zeros, 0, Math.min(zeros.byteLength, size - done), done);
    }
  }

  openSegment(name: string): Segment {
    checkSegmentName(name);
    let fd: number;
    try {
      fd = openSync(this.#path(name), constants.O_RDWR);
    } catch (error) {
      throw toShmError(error, name, "open");
    }
    const size = fstatSync(fd).size;
    if (size === 0) {
      closeSync(fd);
      throw new ShmError(
        `EINVAL: shared-memory segment "${name}" is empty (size 0)`,
        "EINVAL",
        name,
        -22,
        "fstat",
      );
    }
    return new FileSegment(name, size, fd);
  }

  unlinkSegment(name: string): boolean {
    checkSegmentName(name);
    try {
      unlinkSync(this.#path(name));
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return false;
      throw toShmError(error, name, "unlink");
    }
  }

  listSegments(prefix?: string): string[] {
    return listSegmentFiles(this.directory, prefix);
  }

  setParentDeathSignal(
    signal: NodeJS.Signals | number = "SIGKILL",
    parentPid: number = process.ppid,
  ): ParentDeathMechanism {
    const sig = signalNumber(signal);
    checkByteCount(parentPid, "parentPid");
    return pollParentDeath(sig, parentPid);
  }
}
