// The reference counter as pure decisions (issue 9, point 5): events in, messages and
// local decisions out, no sockets, no timers. Each test drives one RefCounter through
// a sequence of events and checks the outbox after each step, including orderings that
// only a loaded cluster produced before (a release racing its own registration).
import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { KeepAlive } from "../../src/core-worker/keep-alive.js";
import { ObjectManager } from "../../src/core-worker/object-manager.js";
import { ObjectRef, type OwnerHome } from "../../src/core-worker/object-ref.js";
import { PENDING } from "../../src/core-worker/object-table.js";
import { RefCounter, type RefOut } from "../../src/core-worker/ref-counter.js";
import { CoreWorkerScope } from "../../src/core-worker/scope.js";
import type { Endpoint } from "../../src/transport/index.js";
import { gc } from "./helpers.js";

const SELF = "addr-self";
const OWNER_A = "addr-a";
const OWNER_B = "addr-b";
const PEER = "addr-peer";

function counter(): RefCounter {
  const home: OwnerHome = { prefix: "self/", address: SELF, scope: new CoreWorkerScope() };
  return new RefCounter(home);
}

/** The outbox as short strings ("add addr-a a/1,a/2", "free self/3", ...), emptied. */
function take(rc: RefCounter): string[] {
  const out = rc.outbox.map(show);
  rc.outbox.length = 0;
  return out;
}

function show(m: RefOut): string {
  switch (m.t) {
    case "add":
    case "remove":
      return `${m.t} ${m.to} ${m.ids.join(",")}`;
    case "free":
    case "lost":
      return `${m.t} ${m.entry.id}`;
    default:
      return m.t;
  }
}

/** An owned, settled object with one local ref (as a put makes it). Returns its id. */
function ownPut(rc: RefCounter, seq: number): string {
  const id = `self/${seq}`;
  const e = rc.entry(id, SELF);
  // entry() settles an untracked own id (as lost): to the counter it is a settled object, like a put.
  assert.notEqual(e.state, PENDING);
  e.localRefs = 1;
  e.onFree = () => undefined; // makes the free visible as a `free` decision
  return id;
}

test("a borrowed ref registers once per owner per tick, and its release leaves only after the answer", () => {
  const rc = counter();
  rc.onRefCreated("a/1", OWNER_A);
  rc.onRefCreated("a/2", OWNER_A);
  rc.onRefCreated("b/1", OWNER_B);
  rc.onRefCreated("a/1", OWNER_A); // a second instance: no second registration
  assert.deepEqual(take(rc), ["flush"], "one flush request for the whole tick");
  rc.flush();
  assert.deepEqual(take(rc), ["add addr-a a/1,a/2", "add addr-b b/1"]);
  assert.equal(rc.allRegistered, false);

  rc.onRefReleased("a/2");
  assert.deepEqual(take(rc), [], "no RemoveBorrower (nor flush) while an AddBorrower is unanswered");
  rc.onAddReply(["b/1"], []);
  assert.deepEqual(
    take(rc),
    [],
    "still one AddBorrower unanswered (to a): the barrier holds for every owner",
  );
  rc.onAddReply(["a/1", "a/2"], []);
  assert.deepEqual(take(rc), ["registered", "remove addr-a a/2"]);
  assert.equal(rc.allRegistered, true);
  assert.equal(rc.size, 2, "a/1 (two instances) and b/1 are still held");

  rc.onRefReleased("a/1");
  assert.deepEqual(take(rc), [], "one instance of a/1 is still alive");
  rc.onRefReleased("a/1");
  rc.onRefReleased("b/1");
  assert.deepEqual(take(rc), ["flush"]);
  rc.flush();
  assert.deepEqual(take(rc), ["remove addr-a a/1", "remove addr-b b/1"]);
  assert.equal(rc.size, 0);
});

test("race replay: a ref dropped and received again in one tick never leaves the owner's borrower set", () => {
  const rc = counter();
  rc.onRefCreated("a/1", OWNER_A);
  rc.flush();
  take(rc);
  rc.onAddReply(["a/1"], []);
  assert.deepEqual(take(rc), ["registered"]);
  // The last instance is collected, and a task result carrying the same ref is decoded
  // before the tick ends: the queued RemoveBorrower must not leave, nor a new AddBorrower.
  rc.onRefReleased("a/1");
  rc.onRefCreated("a/1", OWNER_A);
  rc.flush();
  assert.deepEqual(take(rc), ["flush"], "nothing to send: the remove was cancelled by the new instance");
  assert.equal(rc.allRegistered, true);
  rc.onRefReleased("a/1");
  rc.flush();
  assert.deepEqual(take(rc), ["flush", "remove addr-a a/1"], "released for good: now it goes");
});

test("race replay: a release queued while a registration is in flight waits, then goes with the answer", () => {
  const rc = counter();
  rc.onRefCreated("a/1", OWNER_A);
  rc.flush();
  take(rc);
  rc.onAddReply(["a/1"], []);
  take(rc);
  rc.onRefCreated("b/1", OWNER_B); // a new registration starts...
  rc.flush();
  assert.deepEqual(take(rc), ["flush", "add addr-b b/1"]);
  rc.onRefReleased("a/1"); // ...and an unrelated release queues behind it
  assert.deepEqual(take(rc), []);
  rc.onAddReply(["b/1"], []);
  assert.deepEqual(take(rc), ["registered", "remove addr-a a/1"]);
});

test("owner side: borrowers keep an object alive; the last RemoveBorrower frees it", () => {
  const rc = counter();
  const id = ownPut(rc, 7);
  assert.deepEqual(rc.onAddBorrower([id, "self/999"], PEER), { missing: ["self/999"] });
  rc.onRefReleased(7); // the owner's own ref (its key is the sequence number)
  assert.deepEqual(take(rc), [], "a borrower still holds it");
  assert.ok(rc.owned(id));
  rc.onRemoveBorrower([id], PEER);
  assert.deepEqual(take(rc), [`free ${id}`]);
  assert.equal(rc.owned(id), undefined);
});

test("owner side: a borrower that dies drops its borrows and the pins kept for it", () => {
  const rc = counter();
  const borrowed = ownPut(rc, 1);
  const pinned = ownPut(rc, 2);
  rc.onAddBorrower([borrowed], PEER);
  rc.pinFor(PEER, [[pinned, SELF]]);
  rc.onRefReleased(1);
  rc.onRefReleased(2);
  assert.deepEqual(take(rc), [], "borrowed and pinned: both alive");
  rc.onPeerGone(PEER);
  assert.deepEqual(take(rc).sort(), [`free ${borrowed}`, `free ${pinned}`]);
  assert.equal(rc.size, 0);
});

test("pins: only the peer they were kept for can unpin them", () => {
  const rc = counter();
  const id = ownPut(rc, 3);
  rc.pinFor(PEER, [[id, SELF]]);
  rc.onRefReleased(3);
  rc.onUnpin([id], "addr-stranger");
  assert.deepEqual(take(rc), [], "an Unpin from another process is ignored");
  rc.onUnpin([id], PEER);
  assert.deepEqual(take(rc), [`free ${id}`]);
});

test("lending: an argument outlives its last ref until the call is over", () => {
  const rc = counter();
  const id = ownPut(rc, 4);
  const e = rc.entry(id, SELF);
  e.lent++; // prepareArgs
  rc.onRefReleased(4);
  assert.deepEqual(take(rc), [], "lent to a pending call");
  rc.unlend([e]);
  assert.deepEqual(take(rc), [`free ${id}`]);
});

test("nested refs: an object keeps the refs inside it; freeing it releases them", () => {
  const rc = counter();
  const outer = ownPut(rc, 5);
  rc.setContains(rc.entry(outer, SELF), [["a/9", OWNER_A]]);
  assert.deepEqual(take(rc), ["flush"]);
  rc.flush();
  assert.deepEqual(take(rc), ["add addr-a a/9"], "registers for a borrowed ref inside an owned value");
  rc.onAddReply(["a/9"], []);
  assert.deepEqual(take(rc), ["registered"]);
  rc.onRefReleased(5);
  assert.deepEqual(
    take(rc),
    [`free ${outer}`, "flush"],
    "the outer object goes, then the inner one's release",
  );
  rc.flush();
  assert.deepEqual(take(rc), ["remove addr-a a/9"]);
});

test("owner gone or object already freed: an unreachable owner unblocks, a missing id is lost", () => {
  const rc = counter();
  rc.onRefCreated("a/1", OWNER_A);
  rc.onRefCreated("b/1", OWNER_B);
  rc.flush();
  take(rc);
  rc.onAddReply(["a/1"], []); // the shell answers an unreachable owner with "nothing missing"
  rc.onAddReply(["b/1"], ["b/1"]);
  assert.deepEqual(take(rc), ["lost b/1", "registered"]);
  assert.equal(rc.allRegistered, true);
});

test("released by hand, then collected: the collection is skipped, the other instance still counts", async () => {
  // Through the facade, with the real ref hooks and finalizer (no sockets: owned objects only).
  const keepAlive = new KeepAlive(false);
  const om = new ObjectManager("w1", { listenAddress: "addr-w1" } as unknown as Endpoint, keepAlive);
  try {
    const ref = om.put("kept") as ObjectRef<unknown>;
    const id = ref.id;
    const weak = (() => {
      const copy = new ObjectRef(id, "addr-w1"); // a second instance, keyed by id (as deserialized)
      copy.release();
      return new WeakRef(copy);
    })();
    assert.ok(om.owned(id), "the first instance still holds it");
    // deref() keeps its target alive until the current job ends: never collect in the job that called it.
    const collect = gc();
    const deadline = Date.now() + 10_000;
    for (;;) {
      collect();
      await delay(10); // finalizers run after the collection, as tasks
      if (weak.deref() === undefined) break;
      assert.ok(
        Date.now() < deadline,
        "timed out after 10000 ms waiting for the released copy to be collected",
      );
      await delay(1);
    }
    collect();
    await delay(10); // the copy's finalizer has surely run by now (it ran with the collection that cleared it)
    assert.ok(om.owned(id), "the collection of a released copy must not release again");
    ref.release();
    assert.equal(om.owned(id), undefined, "the last ref released frees it at once");
  } finally {
    om.close();
    keepAlive.close();
  }
});
