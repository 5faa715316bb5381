// ObjectManager's two ways to settle an owned return (issue 16, point 5): failOwned
// makes every read reject, whatever it is handed; settleOwned stores a value, and a
// value that happens to be an encoded error (the user returned it) reads back as a value.
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { KeepAlive } from "../../src/core-worker/keep-alive.js";
import { ObjectManager } from "../../src/core-worker/object-manager.js";
import type { ObjectRef } from "../../src/core-worker/object-ref.js";
import { RuntimeUnavailableError, TaskCancelledError } from "../../src/errors/index.js";
import { encode, encodeError } from "../../src/serialization/index.js";
import type { Endpoint } from "../../src/transport/index.js";

const keepAlive = new KeepAlive(false);
const om = new ObjectManager("w1", { listenAddress: "addr-w1" } as unknown as Endpoint, keepAlive);
after(() => {
  om.close();
  keepAlive.close();
});

/** `n` pending owned returns: their ids and refs. */
function pending(n: number): { ids: string[]; refs: ObjectRef<unknown>[] } {
  const ids: string[] = [];
  const refs: ObjectRef<unknown>[] = [];
  om.createPending(om.allocate(n), n, ids, refs);
  return { ids, refs };
}

test("failOwned: get rejects with the error, for a read before and after it failed", async () => {
  const { ids, refs } = pending(1);
  const waiting = om.get(refs, 10_000); // registered as a waiter while pending
  om.failOwned(ids[0]!, encodeError(new TaskCancelledError("cancelled")));
  await assert.rejects(waiting, TaskCancelledError);
  await assert.rejects(om.get(refs), TaskCancelledError);
});

test("failOwned with an Error object (past the types) still rejects: an error never settles as a value", async () => {
  const { ids, refs } = pending(1);
  om.failOwned(ids[0]!, new RuntimeUnavailableError("head gone") as unknown as Uint8Array);
  await assert.rejects(om.get(refs), (err: Error) => {
    assert.ok(err instanceof RuntimeUnavailableError, `got ${err.constructor.name}`);
    assert.equal(err.message, "head gone");
    return true;
  });
});

test("settleOwned with an encoded error value (the user returned it) resolves with that error", async () => {
  const { ids, refs } = pending(1);
  om.settleOwned(ids[0]!, encode(new TypeError("returned")));
  const [v] = await om.get(refs);
  assert.ok(v instanceof TypeError, `got ${String(v)}`);
  assert.equal((v as Error).message, "returned");
});
