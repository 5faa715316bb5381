/** Every offset and block size the {@link Allocator} hands out is a multiple of this. */
export const ALLOCATOR_ALIGNMENT = 64;

interface Block {
  offset: number;
  size: number;
  free: boolean;
  prev: Block | null;
  next: Block | null;
}

function badArg(message: string): TypeError {
  return Object.assign(new TypeError(message), { code: "ERR_INVALID_ARG_VALUE" });
}

function alignUp(n: number): number {
  return Math.ceil(n / ALLOCATOR_ALIGNMENT) * ALLOCATOR_ALIGNMENT;
}

/**
 * A first-party arena allocator over the byte range `[0, capacity)` of a shared
 * segment. Pure bookkeeping: it never touches the memory.
 *
 * Policy: freed blocks are reused before fresh space (best fit, lowest offset on
 * ties), and fresh space is cut from the low end of the trailing free region, so a
 * steady stream of allocations keeps landing on pages that were already touched.
 * Neighbouring free blocks always coalesce. Offsets and sizes are multiples of 64.
 *
 * Costs: `alloc` and `free` are O(log n) searches plus an O(n) array splice over the
 * free blocks (a memmove; fine for thousands of blocks).
 */
export class Allocator {
  /** Usable bytes: the constructor's capacity rounded down to a multiple of 64. */
  readonly capacity: number;
  #used = 0;
  #highWater = 0;
  #allocated = new Map<number, Block>();
  /** Free blocks other than the tail, sorted by size then offset. */
  #free: Block[] = [];
  /** The last block in address order when it is free (the untouched end of the arena). */
  #tail: Block | null = null;
  #head: Block | null = null;

  /** @param capacity arena size in bytes (a non-negative safe integer). */
  constructor(capacity: number) {
    if (typeof capacity !== "number" || !Number.isSafeInteger(capacity) || capacity < 0) {
      throw badArg(`allocator capacity must be a non-negative safe integer, got ${String(capacity)}`);
    }
    this.capacity = capacity - (capacity % ALLOCATOR_ALIGNMENT);
    if (this.capacity > 0) {
      this.#tail = { offset: 0, size: this.capacity, free: true, prev: null, next: null };
      this.#head = this.#tail;
    }
  }

  /** Bytes in allocated blocks (sizes rounded up to 64). */
  get used(): number {
    return this.#used;
  }

  /** Bytes not allocated (possibly fragmented; see {@link largestFree}). */
  get available(): number {
    return this.capacity - this.#used;
  }

  /** Size of the largest block `alloc` could return right now. */
  get largestFree(): number {
    const inner = this.#free.length > 0 ? this.#free[this.#free.length - 1].size : 0;
    return Math.max(inner, this.#tail?.size ?? 0);
  }

  /** End of the highest byte ever allocated: pages below it have been handed out before. */
  get highWater(): number {
    return this.#highWater;
  }

  /** Number of allocated blocks. */
  get count(): number {
    return this.#allocated.size;
  }

  /**
   * Reserves `size` bytes (rounded up to a multiple of 64; 0 reserves 64) and returns
   * the block's offset, or `null` when no free block is large enough.
   * @throws TypeError if `size` is not a non-negative safe integer.
   */
  alloc(size: number): number | null {
    if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0) {
      throw badArg(`allocation size must be a non-negative safe integer, got ${String(size)}`);
    }
    const need = Math.max(ALLOCATOR_ALIGNMENT, alignUp(size));
    if (need > this.capacity) return null;
    let block: Block;
    const index = this.#lowerBound(need, 0);
    if (index < this.#free.length) {
      block = this.#free[index];
      this.#free.splice(index, 1);
      if (block.size > need) this.#insertFree(this.#split(block, need));
    } else if (this.#tail !== null && this.#tail.size >= need) {
      block = this.#tail;
      this.#tail = block.size > need ? this.#split(block, need) : null;
    } else {
      return null;
    }
    block.free = false;
    this.#allocated.set(block.offset, block);
    this.#used += block.size;
    this.#highWater = Math.max(this.#highWater, block.offset + block.size);
    return block.offset;
  }

  /**
   * Returns the block at `offset` (a value `alloc` returned) to the free space,
   * merging it with free neighbours.
   * @throws TypeError on a double free or an offset that is not a block's start.
   */
  free(offset: number): void {
    if (typeof offset !== "number" || !Number.isSafeInteger(offset) || offset < 0) {
      throw badArg(`offset to free must be a non-negative safe integer, got ${String(offset)}`);
    }
    let block = this.#allocated.get(offset);
    if (block === undefined) throw badArg(this.#describeBadFree(offset));
    this.#allocated.delete(offset);
    this.#used -= block.size;
    block.free = true;

    const prev = block.prev;
    if (prev?.free) {
      this.#removeFree(prev);
      prev.size += block.size;
      this.#unlink(block);
      block = prev;
    }
    const next = block.next;
    if (next?.free) {
      if (next === this.#tail) this.#tail = null;
      else this.#removeFree(next);
      block.size += next.size;
      this.#unlink(next);
    }
    if (block.next === null) this.#tail = block;
    else this.#insertFree(block);
  }

  /** Size in bytes of the allocated block at `offset` (rounded up to 64), or undefined. */
  sizeOf(offset: number): number | undefined {
    return this.#allocated.get(offset)?.size;
  }

  /** Allocated and free blocks in address order (for tests and diagnostics). */
  blocks(): { offset: number; size: number; free: boolean }[] {
    const out: { offset: number; size: number; free: boolean }[] = [];
    for (let b = this.#head; b !== null; b = b.next)
      out.push({ offset: b.offset, size: b.size, free: b.free });
    return out;
  }

  /** Cuts `block` to `size` bytes and returns the rest as a new free block after it. */
  #split(block: Block, size: number): Block {
    const rest: Block = {
      offset: block.offset + size,
      size: block.size - size,
      free: true,
      prev: block,
      next: block.next,
    };
    if (block.next !== null) block.next.prev = rest;
    block.next = rest;
    block.size = size;
    return rest;
  }

  #unlink(block: Block): void {
    if (block.prev !== null) block.prev.next = block.next;
    else this.#head = block.next;
    if (block.next !== null) block.next.prev = block.prev;
  }

  /** First index in #free whose (size, offset) is >= (size, offset). */
  #lowerBound(size: number, offset: number): number {
    let lo = 0;
    let hi = this.#free.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const b = this.#free[mid];
      if (b.size < size || (b.size === size && b.offset < offset)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  #insertFree(block: Block): void {
    this.#free.splice(this.#lowerBound(block.size, block.offset), 0, block);
  }

  #removeFree(block: Block): void {
    const index = this.#lowerBound(block.size, block.offset);
    if (this.#free[index] !== block) throw new Error("allocator free list is corrupt");
    this.#free.splice(index, 1);
  }

  #describeBadFree(offset: number): string {
    if (offset >= this.capacity)
      return `cannot free offset ${offset}: outside the arena of ${this.capacity} bytes`;
    for (let b = this.#head; b !== null; b = b.next) {
      if (offset >= b.offset && offset < b.offset + b.size) {
        if (b.free) return `double free: offset ${offset} is not allocated (it is already free)`;
        return `cannot free offset ${offset}: it lies inside the block allocated at ${b.offset}, not at its start`;
      }
    }
    return `cannot free offset ${offset}: not an allocated block`;
  }
}
