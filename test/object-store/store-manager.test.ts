// The node's store bookkeeping on its own (no cluster): a reader that asks for an
// object still being written is answered when the writer seals it, or with null when
// the writer dies first. (A reader can learn of an object before the writer's seal,
// which travels on another connection, reaches the node manager.)
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { StoreManager } from "../../src/object-store/index.js";
import type { Connection } from "../../src/transport/index.js";
import { tempDir } from "../helpers/temp.js";

/** The part of a Connection the store uses: identity, and close listeners. */
function fakeConnection(): { conn: Connection; close: () => void } {
  const listeners: Array<(err: Error) => void> = [];
  const conn = { onClose: (fn: (err: Error) => void) => listeners.push(fn) } as unknown as Connection;
  const close = () => {
    for (const fn of listeners.splice(0)) fn(new Error("closed"));
  };
  return { conn, close };
}

const store = new StoreManager(4 * 1024 * 1024, tempDir("store-manager"));
after(() => store.close());

/** Settles within `ms`, or "pending". */
function state<T>(p: Promise<T>, ms = 50): Promise<T | "pending"> {
  return Promise.race([p, new Promise<"pending">((r) => setTimeout(() => r("pending"), ms))]);
}

test("a get of an object being written waits for its seal, then answers its location", async () => {
  const writer = fakeConnection();
  const reader = fakeConnection();
  const { offset } = await store.create("w/1", 100_000, writer.conn);
  const got = store.get(["w/1"], reader.conn);
  assert.equal(await state(got), "pending", "answered before the seal");
  store.seal("w/1", writer.conn);
  assert.deepEqual(await state(got, 5_000), { locs: [[offset, 100_000]] });
});

test("a get of an object whose writer dies before sealing answers null", async () => {
  const writer = fakeConnection();
  const reader = fakeConnection();
  await store.create("w/2", 100_000, writer.conn);
  const got = store.get(["w/2"], reader.conn);
  assert.equal(await state(got), "pending");
  writer.close();
  assert.deepEqual(await state(got, 5_000), { locs: [null] });
});

test("a get of an unknown object answers null at once", async () => {
  assert.deepEqual(await state(store.get(["nope/1"], fakeConnection().conn)), { locs: [null] });
});
