import { ObjectLostError, ObjectStoreFullError, RuntimeUnavailableError } from "../errors/index.js";
import { Msg, type StoreInfo } from "../protocol/index.js";
import { type DecodeContext, decodeValue, type StoreBlob, writeBlob } from "../serialization/index.js";
import { openSegment, type Segment } from "../shm/index.js";
import type { Connection } from "../transport/index.js";
import { type Clock, collectAndSettle, realClock } from "../util/index.js";
import { readSpillFile } from "./spill-file.js";

interface LocalPin {
  count: number;
  offset: number;
  size: number;
}

/** A spilled object the store had no room to restore: read from its file (see StoreLocation). */
interface SpillFileLoc {
  spillFile: string;
  size: number;
  pinned: boolean;
}

/**
 * StoreGets of a spilled object answered with its file before the reader reads it
 * anyway (`pinned`: after collecting garbage, as retryWhenFull) or, when the file
 * vanished each time (restored for another reader meanwhile), gives it up as lost.
 */
const SPILL_FILE_TRIES = 4;

/**
 * One process's access to its node's object store. Writes go through a shared
 * mapping of the arena; reads through a second, copy-on-write mapping, so a process
 * that writes into an array it got changes only its own copy (never the sealed
 * object, never what other processes see). An object stays pinned in the store
 * while any array viewing it is alive in this process (FinalizationRegistry).
 * A spilled object the store has no room to restore is read from its spill file
 * into this process's own memory instead (a copy; the arena is not involved).
 */
export class StoreClient {
  private shared: Segment | undefined;
  private cow: Segment | undefined;
  private readonly pins = new Map<string, LocalPin>();
  private releases: string[] = [];
  private readonly finalizer = new FinalizationRegistry<string>((id) => this.unview(id));

  /**
   * @param decodeContext what refs and handles inside values read here bind to (the
   *   owning core worker's scope; see serialization's DecodeContext)
   * @param clock times the waits between retries of a full store (the core worker's)
   */
  constructor(
    readonly info: StoreInfo,
    private readonly nodeManager: () => Connection,
    private readonly decodeContext?: DecodeContext,
    private readonly clock: Clock = realClock,
  ) {}

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.clock.setTimeout(resolve, ms));
  }

  /** Objects this process holds views of (pinned in the store until those views are collected). */
  get pinnedObjects(): number {
    return this.pins.size;
  }

  /** True when reads are zero-copy views (native addon), false for the copying fallback. */
  get zeroCopy(): boolean {
    return this.info.backend === "native";
  }

  /** Write an encoded value into the store under `id` (create, write, seal). Rejects with ObjectStoreFullError. */
  async put(id: string, blob: StoreBlob): Promise<void> {
    const nm = this.nodeManager();
    const { offset } = await this.create(nm, id, blob.size);
    const seg = this.sharedMapping();
    if (seg.view) writeBlob(seg.view(offset, blob.size), blob);
    else {
      const tmp = new Uint8Array(blob.size);
      writeBlob(tmp, blob);
      seg.write(offset, tmp);
    }
    nm.send({ t: Msg.StoreSeal, id });
  }

  /**
   * Have this node's store pull object `id` (`size` bytes, owned by `owner`) from the
   * other nodes' node managers in `from` (StorePull); resolves once it is sealed here,
   * after which {@link get} reads it in place. Rejects with ObjectLostError when no
   * source can give it, ObjectStoreFullError when there is no room (after collecting
   * garbage and retrying, as for a put).
   */
  async pull(id: string, size: number, owner: string, from: string[]): Promise<void> {
    await this.retryWhenFull(() => this.nodeManager().request({ t: Msg.StorePull, id, size, owner, from }));
  }

  /**
   * Reserve space. Views that are garbage but not yet collected keep objects pinned
   * (JavaScript has no deterministic destructors), so when the store is full we
   * collect garbage here, let the node's other processes collect (StorePressure),
   * and try again before giving up with ObjectStoreFullError.
   */
  private create(nm: Connection, id: string, size: number): Promise<{ offset: number }> {
    return this.retryWhenFull(() => nm.request({ t: Msg.StoreCreate, id, size }));
  }

  /** Run a store request that needs space; see create(). */
  private async retryWhenFull<T>(request: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await request();
      } catch (err) {
        if (!(err instanceof ObjectStoreFullError) || attempt >= 3) throw err;
        await collectAndSettle();
        await this.sleep(20 * (attempt + 1));
      }
    }
  }

  /**
   * Read an object's value in place: large arrays in it are views into the store
   * (copies with the fallback backend), or views of a private copy read from its
   * spill file when the store has no room to restore it. Rejects with
   * ObjectLostError (naming the object and why) if the store no longer has it.
   */
  async get(id: string): Promise<unknown> {
    for (let attempt = 1; ; attempt++) {
      const at = await this.acquire(id);
      if ("count" in at) return this.decodePinned(id, at);
      const last = attempt >= SPILL_FILE_TRIES;
      if (at.pinned && !last) {
        this.releases.push(id);
        this.scheduleRelease();
        await collectAndSettle();
        await this.sleep(20 * attempt);
        continue;
      }
      const bytes = await this.readSpilled(id, at, last);
      if (bytes) return decodeValue(bytes, true, undefined, this.decodeContext);
    }
  }

  /**
   * An object's encoded bytes, copied out of the store (or its spill file): for a reader
   * on another node, which cannot map this node's arena. Holds the pin only while copying.
   * Rejects with ObjectLostError if the store no longer has it.
   */
  async readEncoded(id: string): Promise<Uint8Array> {
    for (let attempt = 1; ; attempt++) {
      const at = await this.acquire(id);
      if ("count" in at) {
        try {
          return Buffer.from(this.cowMapping().read(at.offset, at.size));
        } finally {
          this.unview(id);
        }
      }
      const bytes = await this.readSpilled(id, at, attempt >= SPILL_FILE_TRIES);
      if (bytes) return bytes;
    }
  }

  /** Decode an object pinned in the arena; its views keep the pin (see the class). */
  private decodePinned(id: string, pin: LocalPin): unknown {
    const seg = this.cowMapping();
    const views: ArrayBufferView[] = [];
    let value: unknown;
    try {
      value = decodeValue(seg.read(pin.offset, pin.size), seg.zeroCopy, views, this.decodeContext);
    } catch (err) {
      this.unview(id);
      throw err;
    }
    if (views.length === 0) this.unview(id);
    else {
      pin.count += views.length - 1;
      for (const v of views) this.finalizer.register(v, id);
    }
    return value;
  }

  /**
   * Read a spilled object's file into memory of its own (exactly its size, so blob
   * offsets hold), then give back the store pin that kept the file. Undefined when
   * the file is gone (ENOENT: restored for another reader since the answer; asking
   * again finds it in the arena) and this is not the `last` try.
   */
  private async readSpilled(id: string, loc: SpillFileLoc, last: boolean): Promise<Uint8Array | undefined> {
    const bytes = Buffer.allocUnsafeSlow(loc.size);
    try {
      await readSpillFile(loc.spillFile, bytes);
      return bytes;
    } catch (err) {
      if (!last && (err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw new ObjectLostError(
        `object ${id} is lost: the store had no room to restore it and its spill file ${loc.spillFile} ` +
          `cannot be read: ${(err as Error).message}`,
        { cause: err },
      );
    } finally {
      this.releases.push(id);
      this.scheduleRelease();
    }
  }

  /**
   * Pin an object for this process (one count) and learn where it is: in the arena
   * (a local pin), or in a spill file (the store pin is given back by readSpilled).
   */
  private async acquire(id: string): Promise<LocalPin | SpillFileLoc> {
    let pin = this.pins.get(id);
    if (pin) {
      pin.count++;
      return pin;
    }
    const { locs } = await this.nodeManager().request({
      t: Msg.StoreGet,
      ids: [id],
    });
    const loc = locs[0];
    if (!loc) throw new ObjectLostError(`object ${id} is not in the object store any more`);
    if ("lost" in loc) throw new ObjectLostError(loc.lost);
    pin = this.pins.get(id);
    if (pin) {
      // A concurrent read pinned it first: give our store pin back.
      pin.count++;
      this.releases.push(id);
      this.scheduleRelease();
      return pin;
    }
    if (!Array.isArray(loc)) return loc;
    pin = { count: 1, offset: loc[0], size: loc[1] };
    this.pins.set(id, pin);
    return pin;
  }

  /** The owner freed these objects. */
  free(ids: string[]): void {
    try {
      this.nodeManager().send({ t: Msg.StoreFree, ids });
    } catch {
      // node manager gone: the store went with it
    }
  }

  close(): void {
    this.shared?.close();
    this.cow?.close();
    this.shared = this.cow = undefined;
  }

  private unview(id: string): void {
    const pin = this.pins.get(id);
    if (!pin || --pin.count > 0) return;
    this.pins.delete(id);
    // The last view here is gone: drop the private copies this process's writes made
    // (copy-on-write), so whatever is viewed at these pages next shows the shared
    // bytes. Done now, before the store may reuse the block, rather than at the next
    // get, which then stays a map lookup (it was ~0.5 ms for 1 GiB).
    this.cow?.discard?.(pin.offset, pin.size);
    this.releases.push(id);
    this.scheduleRelease();
  }

  private scheduleRelease(): void {
    if (this.releases.length !== 1) return;
    queueMicrotask(() => {
      const ids = this.releases;
      this.releases = [];
      try {
        this.nodeManager().send({ t: Msg.StoreRelease, ids });
      } catch {
        // node manager gone
      }
    });
  }

  private sharedMapping(): Segment {
    this.shared ??= open(this.info.name, false);
    return this.shared;
  }

  private cowMapping(): Segment {
    this.cow ??= open(this.info.name, true);
    return this.cow;
  }
}

function open(name: string, copyOnWrite: boolean): Segment {
  try {
    return openSegment(name, { copyOnWrite });
  } catch (err) {
    throw new RuntimeUnavailableError(`cannot map the object store ${name}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}
