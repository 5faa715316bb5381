// The node's store bookkeeping on its own (no cluster): a reader that asks for an
// object still being written is answered when the writer seals it, or with null when
// the writer dies first. (A reader can learn of an object before the writer's seal,
// which travels on another connection, reaches the node manager.) A spilled object
// the store has no room to restore is answered with its spill file, kept while pinned.
import assert from "node:assert/strict";
import { existsSync, statSync } from "node:fs";
import { after, test } from "node:test";
import { ProtocolError } from "../../src/errors/index.js";
import { StoreManager } from "../../src/object-store/index.js";
import { Msg } from "../../src/protocol/index.js";
import type { Connection } from "../../src/transport/index.js";
import { pollUntil } from "../helpers/processes.js";
import { removeTempDirs, tempDir } from "../helpers/temp.js";

/** The part of a Connection the store uses: identity, close listeners, and notifications (kept in `sent`). */
function fakeConnection(): { conn: Connection; close: () => void; sent: unknown[] } {
  const listeners: Array<(err: Error) => void> = [];
  const sent: unknown[] = [];
  const conn = {
    onClose: (fn: (err: Error) => void) => listeners.push(fn),
    send: (msg: unknown) => sent.push(msg),
  } as unknown as Connection;
  const close = () => {
    for (const fn of listeners.splice(0)) fn(new Error("closed"));
  };
  return { conn, close, sent };
}

const store = new StoreManager(4 * 1024 * 1024, tempDir("store-manager"));
after(() => store.close());
after(removeTempDirs);

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

test("when an owner is gone its objects are freed (a held view defers that) and no new ones are stored for it", async () => {
  const owner = fakeConnection();
  const reader = fakeConnection();
  const other = fakeConnection();
  const before = store.count;
  for (const id of ["gone/1", "gone/2", "alive/1"]) {
    await store.create(id, 10_000, id.startsWith("gone") ? owner.conn : other.conn);
    store.seal(id, id.startsWith("gone") ? owner.conn : other.conn);
  }
  // A reader keeps a view of gone/2; a name sharing the prefix text is not the owner's.
  await store.get(["gone/2"], reader.conn);
  await store.create("gone-not/1", 10_000, other.conn);
  store.seal("gone-not/1", other.conn);
  assert.equal(store.count, before + 4);

  assert.equal(store.freeOwnedBy("gone"), 2);
  assert.equal(store.count, before + 3, "gone/1 freed; gone/2 stays while viewed");
  assert.deepEqual(await state(store.get(["gone/2"], fakeConnection().conn)), { locs: [null] });
  store.release(["gone/2"], reader.conn);
  assert.equal(store.count, before + 2, "the last view released frees gone/2");

  // A worker storing a return value for the gone owner is refused (nobody would free it).
  await assert.rejects(store.create("gone/3", 10_000, other.conn), (err: Error) => {
    assert.equal((err as { code?: string }).code, "OWNER_DIED");
    assert.match(err.message, /owner gone is gone/);
    return true;
  });
  store.free(["alive/1", "gone-not/1"]);
  assert.equal(store.count, before);
});

test("a spilled object with no room to restore it (the store is full of pinned objects) is answered with its spill file", async () => {
  const writer = fakeConnection();
  const reader = fakeConnection();
  const fileReader = fakeConnection();
  const size = 3 * 1024 * 1024;
  await store.create("f/1", size, writer.conn);
  store.seal("f/1", writer.conn);
  await store.create("f/2", size, writer.conn); // two do not fit in 4 MiB: f/1 is spilled
  store.seal("f/2", writer.conn);
  const { locs: pinned } = await store.get(["f/2"], reader.conn);
  assert.ok(Array.isArray(pinned[0]), "f/2 is in the arena, now pinned");

  const { locs } = await store.get(["f/1"], fileReader.conn);
  const loc = locs[0];
  assert.ok(loc && "spillFile" in loc, `f/1 is answered with its spill file, got ${JSON.stringify(loc)}`);
  assert.equal(loc.size, size);
  assert.equal(
    loc.pinned,
    true,
    "nothing could be spilled because all is pinned: the reader may collect and retry",
  );
  assert.equal(statSync(loc.spillFile).size, size, "the spill file holds the whole object");
  // The answer pinned it: a free by its owner keeps the file until that pin goes.
  store.free(["f/1"]);
  assert.ok(existsSync(loc.spillFile), "the file stays while the reader may still read it");
  store.release(["f/1"], fileReader.conn);
  await pollUntil(() => !existsSync(loc.spillFile), 5_000, "the spill file to be removed at the release");

  await assert.rejects(store.create("f/3", size, writer.conn), (err: Error) => {
    assert.equal((err as { code?: string }).code, "OBJECT_STORE_FULL");
    assert.match(
      err.message,
      /^cannot store object f\/3 of 3\.0 MiB .*the objects in memory are pinned by readers/,
    );
    return true;
  });
  assert.deepEqual(
    reader.sent,
    [{ t: Msg.StorePressure }, { t: Msg.StorePressure }],
    "the holder is asked to collect garbage",
  );
  store.release(["f/2"], reader.conn);
  store.free(["f/2"]);
});

test("creating an object twice is refused with a typed ProtocolError (it travels back to the writer)", async () => {
  const writer = fakeConnection();
  await store.create("twice/1", 1000, writer.conn);
  await assert.rejects(store.create("twice/1", 1000, writer.conn), (err: Error) => {
    assert.ok(err instanceof ProtocolError, `got ${err.constructor.name}: ${err.message}`);
    assert.equal(err.code, "PROTOCOL_ERROR");
    assert.match(err.message, /object twice\/1 is already in the store/);
    return true;
  });
  writer.close();
});
