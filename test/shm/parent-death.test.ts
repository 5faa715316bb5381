// setParentDeathSignal: the test forks a middle process, which forks a grandchild
// that sets the signal; killing the middle must kill the grandchild. A control
// grandchild without the signal must survive, proving the signal did the work.
import assert from "node:assert/strict";
import { afterEach, test } from "node:test";
import { getShmBackend } from "../../src/shm/index.js";
import { isRecord, nextMessage, pollUntil, processGone, Resources } from "./fixtures/helpers.js";

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

interface GrandchildReport {
  grandchild: number;
  message: { ready: boolean; pid: number; mechanism: string; backend: string };
}

function isReport(m: unknown): m is GrandchildReport {
  return isRecord(m) && typeof m.grandchild === "number" && isRecord(m.message) && m.message.ready === true;
}

async function orphanAfterParentDies(withSignal: boolean, backend: "native" | "js") {
  const middle = res.fork(["middle", withSignal ? "signal" : "none"], { TSRAY_SHM_BACKEND: backend });
  const report = await nextMessage(middle, isReport);
  res.track(report.grandchild);
  assert.ok(!processGone(report.grandchild));
  const middleExited = new Promise((resolve) => middle.once("exit", resolve));
  middle.kill("SIGKILL");
  await middleExited;
  return report;
}

for (const backend of ["native", "js"] as const) {
  const skip = backend === "native" && !nativeAvailable;
  const expected = backend === "native" ? "prctl" : "poll";

  test(`${backend}: a grandchild with the parent-death signal dies with its parent (${expected})`, {
    skip,
  }, async () => {
    const report = await orphanAfterParentDies(true, backend);
    assert.equal(report.message.mechanism, expected);
    const gone = await pollUntil(() => processGone(report.grandchild), 10_000);
    assert.ok(gone, `grandchild ${report.grandchild} still alive 10 s after its parent was killed`);
  });
}

test("control: a grandchild without the signal outlives its parent", async () => {
  const report = await orphanAfterParentDies(false, nativeAvailable ? "native" : "js");
  // Outlives it by more than the signal path ever takes (prctl: immediate; poll: 200 ms).
  const died = await pollUntil(() => processGone(report.grandchild), 1500);
  assert.equal(died, false, "the control grandchild died without a parent-death signal");
});

for (const backend of ["native", "js"] as const) {
  test(`${backend}: setting the signal after the parent is gone signals at once`, {
    skip: backend === "native" && !nativeAvailable,
  }, async () => {
    const child = res.fork(["early"], { TSRAY_SHM_BACKEND: backend });
    let survived = false;
    child.on("message", () => {
      survived = true;
    });
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
      child.once("exit", (c, s) => resolve([c, s])),
    );
    assert.equal(survived, false);
    assert.deepEqual([code, signal], [null, "SIGKILL"]);
  });
}

test("bad signals are TypeErrors; signal 0 clears the setting", () => {
  const shm = getShmBackend(nativeAvailable ? "native" : "js-fallback");
  assert.throws(() => shm.setParentDeathSignal("SIGNOPE" as NodeJS.Signals), TypeError);
  assert.throws(() => shm.setParentDeathSignal(99), TypeError);
  // Signal 0 must not signal even when the named parent is not ours.
  assert.ok(["prctl", "poll"].includes(shm.setParentDeathSignal(0, process.ppid + 1_000_000)));
});
