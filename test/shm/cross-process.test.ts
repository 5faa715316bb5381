// Segments shared between processes: zero-copy for the native backend (a view taken
// before the child writes shows the child's bytes), copies for the fallback, and the
// TSRAY_SHM_BACKEND=js override in a child.
import assert from "node:assert/strict";
import { afterEach, test } from "node:test";
import { getShmBackend, type ShmBackendKind } from "../../src/shm/index.js";
import { ask, isRecord, nextMessage, Resources } from "./fixtures/helpers.js";

const nativeAvailable = (() => {
  try {
    getShmBackend("native");
    return true;
  } catch {
    return false;
  }
})();

const res = new Resources();
afterEach(() => res.cleanup());

async function startServer(backend: ShmBackendKind) {
  const child = res.fork(["serve"], { TSRAY_SHM_BACKEND: backend === "native" ? "native" : "js" });
  await nextMessage(child, (m): m is Record<string, unknown> => isRecord(m) && m.ready === true);
  return child;
}

test("native: a child's writes appear in the parent's existing view (zero-copy)", {
  skip: !nativeAvailable,
}, async () => {
  const shm = getShmBackend("native");
  const name = res.name("xproc");
  const seg = shm.createSegment(name, 1 << 20);
  const view = seg.read(4096, 8); // taken once, never re-read below
  seg.write(0, new Uint8Array([11, 22, 33]));

  const child = await startServer("native");
  const opened = await ask(child, { cmd: "open", name });
  assert.equal(opened.ok, true);
  assert.equal(opened.backend, "native");
  assert.equal(opened.size, 1 << 20);
  assert.equal(opened.zeroCopy, true);

  assert.deepEqual((await ask(child, { cmd: "read", offset: 0, length: 3 })).data, [11, 22, 33]);
  assert.equal((await ask(child, { cmd: "write", offset: 4096, data: [1, 2, 3, 4, 5, 6, 7, 8] })).ok, true);
  assert.deepEqual(view, new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]));

  // And the other way, through the same view.
  view[0] = 200;
  assert.deepEqual((await ask(child, { cmd: "read", offset: 4096, length: 1 })).data, [200]);
  child.send({ cmd: "exit" });
  seg.close();
});

test("fallback: a child's writes are visible to the parent's next read (copy)", async () => {
  const shm = getShmBackend("js-fallback");
  const name = res.name("xproc");
  const seg = shm.createSegment(name, 1 << 20);
  const before = seg.read(4096, 4);
  seg.write(0, new Uint8Array([11, 22, 33]));

  const child = await startServer("js-fallback");
  const opened = await ask(child, { cmd: "open", name });
  assert.equal(opened.ok, true);
  assert.equal(opened.backend, "js-fallback", "TSRAY_SHM_BACKEND=js forces the fallback in the child");
  assert.equal(opened.zeroCopy, false);
  assert.deepEqual((await ask(child, { cmd: "read", offset: 0, length: 3 })).data, [11, 22, 33]);
  await ask(child, { cmd: "write", offset: 4096, data: [1, 2, 3, 4] });
  assert.deepEqual(before, new Uint8Array(4), "an earlier read is a copy");
  assert.deepEqual(seg.read(4096, 4), new Uint8Array([1, 2, 3, 4]));
  child.send({ cmd: "exit" });
  seg.close();
});

test("native and fallback processes share one segment", { skip: !nativeAvailable }, async () => {
  const name = res.name("mixed");
  const seg = getShmBackend("native").createSegment(name, 65536);
  const view = seg.read(100, 2);
  const child = await startServer("js-fallback");
  assert.equal((await ask(child, { cmd: "open", name })).backend, "js-fallback");
  await ask(child, { cmd: "write", offset: 100, data: [7, 9] });
  assert.deepEqual(view, new Uint8Array([7, 9]));
  child.send({ cmd: "exit" });
  seg.close();
});

test("a child opening a missing segment gets ENOENT", async () => {
  const child = await startServer(nativeAvailable ? "native" : "js-fallback");
  const reply = await ask(child, { cmd: "open", name: res.name("absent") });
  assert.equal(reply.ok, false);
  assert.equal(reply.code, "ENOENT");
  assert.match(String(reply.message), /\/tsray-\d+-absent-\d+/);
  child.send({ cmd: "exit" });
});
