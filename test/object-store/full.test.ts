// ObjectStoreFullError (issue 5): only when spilling is impossible too does a put
// fail, with the sizes in the message; an object larger than the whole store fails at
// once; nothing already stored is lost, and freeing makes room again. Here spilling
// fails because TSRAY_SPILL_DIR lies under a regular file (mkdir fails: ENOTDIR).
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import * as ray from "tsray";
import { makeArray } from "../fixtures/store-tasks.js";
import { useCluster } from "../helpers/cluster.js";
import { pollUntil } from "../helpers/processes.js";
import { tempDir } from "../helpers/temp.js";
import { MiB, patterned, report, storeBytes, storeInUse, storeSegments } from "./helpers.js";

// The head reads its settings when it starts (at init, below): it inherits this.
const blocker = join(tempDir("store-full"), "regular-file");
writeFileSync(blocker, "not a directory");
process.env.TSRAY_SPILL_DIR = join(blocker, "spill");

// Registered before useCluster's after hook (hooks run in registration order): the
// shutdown starts after this. An unusable spill dir once made the head's stop fail, so
// shutdown waited out its deadline (killGraceMs + 3 s) and then SIGKILLed the head.
let shutdownStarted = 0;
after(() => {
  shutdownStarted = Date.now();
});

const cluster = useCluster({ numCpus: 2, objectStoreMemory: 64 * MiB, logToDriver: false });

/** 16 MiB of float64. */
const N16 = 2 * MiB;

// Registered after useCluster's: runs after its shutdown.
after(() => {
  const took = Date.now() - shutdownStarted;
  assert.ok(took < 4000, `shutdown (and the checks that all processes are gone) took ${took} ms`);
  const headPid = cluster.info.headPid!;
  assert.deepEqual(
    storeSegments(headPid),
    [],
    "shutdown removed the store segment (an unusable spill dir is no obstacle)",
  );
});

describe("ObjectStoreFullError when the store is full and spilling fails", () => {
  test("a put beyond capacity rejects with ObjectStoreFullError naming the sizes; stored objects stay intact", async () => {
    const capacity = storeBytes(cluster.info);
    const refs: ray.ObjectRef<Float64Array>[] = [];
    const sums: number[] = [];
    for (let k = 0; k < 3; k++) {
      const a = patterned(N16, k);
      sums.push(report(a).checksum);
      refs.push(await ray.put(a));
    }
    let err: unknown;
    try {
      await ray.put(patterned(N16, 3));
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof ray.ObjectStoreFullError, `expected ObjectStoreFullError, got ${String(err)}`);
    assert.equal(err.name, "ObjectStoreFullError");
    assert.match(err.message, /of 16\.0 MiB \(16781\d+ bytes\)/, "the size of the object");
    assert.match(
      err.message,
      new RegExp(`capacity 64\\.0 MiB \\(${capacity} bytes\\)`),
      "the store's capacity",
    );
    assert.match(err.message, /in use 48\.0 MiB/, "what is in use");
    assert.match(err.message, /spilling to .* failed/, "why nothing could be spilled");

    // Nothing stored was lost.
    for (let k = 0; k < 3; k++) {
      const v = await ray.get(refs[k]!);
      assert.equal(report(v).checksum, sums[k], `object ${k} intact`);
      assert.equal(v[0], -k - 1);
    }

    // Freeing one makes room without spilling.
    refs[0]!.release();
    const next = await pollUntil(
      () =>
        Promise.resolve(ray.put(patterned(N16, 9))).then(
          (r) => r,
          (e: unknown) => {
            if (e instanceof ray.ObjectStoreFullError) return undefined;
            throw e;
          },
        ),
      10_000,
      "a put to fit once an object was released",
    );
    assert.equal((await ray.get(next))[0], -10);
    next.release();
    for (const r of refs.slice(1)) r.release();
  });

  test("an object larger than the whole store rejects with ObjectStoreFullError at once", async () => {
    const capacity = storeBytes(cluster.info);
    await assert.rejects(
      async () => ray.put(new Uint8Array(capacity + MiB)),
      (e: unknown) => {
        assert.ok(e instanceof ray.ObjectStoreFullError, `expected ObjectStoreFullError, got ${String(e)}`);
        assert.match(e.message, /of 65\.0 MiB \(\d+ bytes\) does not fit in the object store at all/);
        assert.match(e.message, new RegExp(`capacity 64\\.0 MiB \\(${capacity} bytes\\)`));
        assert.match(e.message, /objectStoreMemory/, "says how to fix it");
        return true;
      },
    );
    // A task whose return value cannot fit fails with it too (the worker writes returns to the store).
    await assert.rejects(
      async () => ray.get(makeArray.remote((80 * MiB) / 8, 1, 0), { timeout: 30_000 }),
      (e: unknown) => {
        assert.match(String((e as Error).message), /ObjectStoreFullError|does not fit in the object store/);
        return true;
      },
    );
    assert.equal(await storeInUse(), 0, "nothing is left behind by the failed writes");
  });
});
