import assert from "node:assert/strict";
import { test } from "node:test";
import { ALLOCATOR_ALIGNMENT, Allocator } from "../../src/shm/index.js";

test("offsets and sizes are 64-byte aligned; 0 bytes still gets a block", () => {
  const a = new Allocator(1 << 20);
  const offsets = [1, 63, 64, 65, 1000, 0].map((n) => a.alloc(n));
  for (const o of offsets) assert.equal((o ?? -1) % ALLOCATOR_ALIGNMENT, 0);
  assert.deepEqual(offsets, [0, 64, 128, 192, 320, 1344]);
  assert.equal(a.sizeOf(192), 128);
  assert.equal(a.used, 64 * 3 + 128 + 1024 + 64);
  assert.equal(a.count, 6);
});

test("capacity is rounded down to 64 and exhaustion returns null", () => {
  const a = new Allocator(1000);
  assert.equal(a.capacity, 960);
  assert.equal(a.alloc(961), null);
  assert.equal(a.alloc(960), 0);
  assert.equal(a.alloc(1), null);
  assert.equal(a.largestFree, 0);
  a.free(0);
  assert.equal(a.largestFree, 960);
  assert.equal(new Allocator(0).alloc(0), null);
});

test("freeing neighbours coalesces back into one block", () => {
  const a = new Allocator(64 * 100);
  const x = a.alloc(640)!;
  const y = a.alloc(640)!;
  const z = a.alloc(640)!;
  a.free(x);
  a.free(z); // merges with the tail
  assert.equal(a.blocks().length, 3);
  a.free(y); // merges with both sides
  assert.deepEqual(a.blocks(), [{ offset: 0, size: 6400, free: true }]);
  assert.equal(a.used, 0);
  assert.equal(a.largestFree, 6400);
  assert.equal(a.alloc(6400), 0, "the whole arena is one block again");
});

test("freed blocks are reused before fresh space, best fit first", () => {
  const a = new Allocator(1 << 20);
  const small = a.alloc(256)!;
  a.alloc(64);
  const big = a.alloc(1024)!;
  a.alloc(64);
  const highWater = a.highWater;
  a.free(big);
  a.free(small);
  assert.equal(a.alloc(200), small, "best fit: the 256-byte hole, not the 1024-byte one");
  assert.equal(a.alloc(512), big, "a freed block beats the untouched tail");
  assert.equal(a.alloc(512), big + 512, "the rest of that block comes next");
  assert.equal(a.highWater, highWater, "no fresh pages were used");
});

test("steady-state alloc/free stays on warm pages", () => {
  const a = new Allocator(1 << 30);
  const live: number[] = [];
  let seed = 7;
  const rand = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  for (let i = 0; i < 20; i++) live.push(a.alloc(1 << 20)!);
  const warm = a.highWater;
  for (let i = 0; i < 5000; i++) {
    const k = Math.floor(rand() * live.length);
    a.free(live[k]);
    live[k] = a.alloc(Math.floor(rand() * (1 << 20)) + 1)!;
  }
  assert.ok(a.highWater <= warm + (1 << 21), `high water grew from ${warm} to ${a.highWater}`);
});

test("double free and foreign offsets are TypeErrors with clear messages", () => {
  const a = new Allocator(1 << 16);
  const x = a.alloc(128)!;
  const y = a.alloc(128)!;
  a.free(x);
  assert.throws(() => a.free(x), { name: "TypeError", message: /double free: offset 0 / });
  assert.throws(() => a.free(y + 64), {
    name: "TypeError",
    message: /inside the block allocated at 128, not at its start/,
  });
  assert.throws(() => a.free(1 << 20), { name: "TypeError", message: /outside the arena/ });
  assert.throws(() => a.free(-1), TypeError);
  a.free(y);
  assert.throws(() => a.free(y), { name: "TypeError", message: /double free/ });
});

test("bad sizes are TypeErrors", () => {
  const a = new Allocator(1 << 16);
  for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 60, "64" as unknown as number]) {
    assert.throws(() => a.alloc(bad), TypeError, String(bad));
  }
  for (const bad of [-64, 0.5, Number.NaN]) assert.throws(() => new Allocator(bad), TypeError);
});

test("random alloc/free keeps the block list consistent", () => {
  const capacity = 64 * 4096;
  const a = new Allocator(capacity);
  const live = new Map<number, number>();
  let seed = 42;
  const rand = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  for (let step = 0; step < 20_000; step++) {
    if (live.size > 0 && rand() < 0.45) {
      const keys = [...live.keys()];
      const k = keys[Math.floor(rand() * keys.length)];
      a.free(k);
      live.delete(k);
    } else {
      const size = Math.floor(rand() * 8000);
      const largest = a.largestFree;
      const o = a.alloc(size);
      assert.equal(o === null, Math.max(64, Math.ceil(size / 64) * 64) > largest);
      if (o !== null) live.set(o, a.sizeOf(o)!);
    }
    if (step % 97 === 0 || step > 19_900) {
      const blocks = a.blocks();
      let end = 0;
      let used = 0;
      for (let i = 0; i < blocks.length; i++) {
        const b = blocks[i];
        assert.equal(b.offset, end, "blocks tile the arena");
        end += b.size;
        if (i > 0) assert.ok(!(b.free && blocks[i - 1].free), "no two free neighbours");
        if (!b.free) {
          used += b.size;
          assert.equal(live.get(b.offset), b.size);
        }
      }
      assert.equal(end, capacity);
      assert.equal(used, a.used);
      assert.equal(live.size, a.count);
    }
  }
});
