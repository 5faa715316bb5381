// The pure lease state machine: events in, decisions out, no processes or sockets.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  type LeaseDecisions,
  LeaseScheduler,
  MAX_START_FAILURES,
  NodeResources,
  type ResourceMap,
} from "../../src/scheduling/index.js";

const RT = "rt";

interface Setup {
  readonly cpus?: number;
  readonly gpus?: number;
  readonly prestart?: number;
  readonly maxIdle?: number;
}

function make(s: Setup = {}): LeaseScheduler<string, string> {
  const total: Record<string, number> = { CPU: s.cpus ?? 2 };
  if (s.gpus) total.GPU = s.gpus;
  const sched = new LeaseScheduler<string, string>({
    resources: new NodeResources(total),
    workerIdPrefix: "n",
    prestartWorkers: s.prestart ?? 0,
    maxIdleWorkers: s.maxIdle ?? -1,
  });
  sched.addRuntime(RT);
  return sched;
}

let rid = 0;
function request(
  sched: LeaseScheduler<string, string>,
  name: string,
  demand: ResourceMap = { CPU: 1 },
  owner = "owner",
  actor?: string,
): LeaseDecisions<string> {
  return sched.requestLease({ request: name, owner, rid: ++rid, actor, demand, runtimeKey: RT });
}

const starts = (d: LeaseDecisions<string>) => d.start.map((s) => s.workerId);
const grants = (d: LeaseDecisions<string>) => d.grant.map((g) => `${g.request}@${g.workerId}`);
const kills = (d: LeaseDecisions<string>) => d.kill.map((k) => k.workerId);

/** Register a started worker and grant what fits (as the shell does after the reply). */
function register(sched: LeaseScheduler<string, string>, workerId: string, now = 0): LeaseDecisions<string> {
  sched.workerRegistered(workerId, now);
  return sched.dispatch();
}

describe("LeaseScheduler grants", () => {
  it("prestarts a pool per runtime once, with ids from the prefix", () => {
    const sched = new LeaseScheduler<string, string>({
      resources: new NodeResources({ CPU: 3 }),
      workerIdPrefix: "abc",
      prestartWorkers: -1,
      maxIdleWorkers: -1,
    });
    assert.deepEqual(starts(sched.addRuntime("a")), ["abc-w1", "abc-w2", "abc-w3"], "one per CPU");
    assert.deepEqual(starts(sched.addRuntime("a")), [], "a known runtime starts nothing");
    assert.equal(sched.worker("abc-w1")?.state, "starting");
  });

  it("grants in arrival order; a request that does not fit does not block later ones", () => {
    const sched = make({ cpus: 2 });
    const big = request(sched, "big", { CPU: 2 });
    assert.deepEqual(starts(big), ["n-w1"], "big fits the free node: a worker starts for it");
    const small = request(sched, "small", { CPU: 1 });
    assert.deepEqual(starts(small), [], "small does not fit while big holds both CPUs");
    assert.deepEqual(grants(register(sched, "n-w1")), ["big@n-w1"]);
    const back = sched.returnLease(1, false, 1);
    assert.deepEqual(grants(back), ["small@n-w1"], "the freed CPUs and worker go to the waiter");
    assert.deepEqual(grants(request(sched, "two", { CPU: 2 })), [], "one CPU is still held");
  });

  it("skips a request that does not fit to grant a later one", () => {
    const sched = make({ cpus: 2 });
    request(sched, "a", { CPU: 1 });
    assert.deepEqual(grants(register(sched, "n-w1")), ["a@n-w1"]);
    const big = request(sched, "big", { CPU: 2 });
    assert.deepEqual(starts(big), [], "big does not fit yet: nothing is started for it");
    const small = request(sched, "small", { CPU: 1 });
    assert.deepEqual(starts(small), ["n-w2"], "small fits although big arrived first");
    assert.deepEqual(grants(register(sched, "n-w2")), ["small@n-w2"]);
    assert.equal(sched.pendingCount, 1, "big still waits");
  });

  it("answers queued requests in arrival order when workers come up", () => {
    const sched = make({ cpus: 4 });
    for (const n of ["a", "b", "c"]) request(sched, n);
    assert.deepEqual(
      grants(register(sched, "n-w2")),
      ["a@n-w2"],
      "the first waiter takes the first idle worker",
    );
    assert.deepEqual(grants(register(sched, "n-w1")), ["b@n-w1"]);
    assert.deepEqual(grants(register(sched, "n-w3")), ["c@n-w3"]);
  });

  it("gives GPU requests workers started with their CUDA_VISIBLE_DEVICES, never a CPU worker", () => {
    const sched = make({ cpus: 4, gpus: 2, prestart: 1 });
    register(sched, "n-w1");
    const d = request(sched, "g", { CPU: 1, GPU: 1 });
    assert.deepEqual(grants(d), [], "the idle pool worker has no GPU list");
    assert.deepEqual(d.start, [{ workerId: "n-w2", runtimeKey: RT, gpuEnv: "0" }]);
    const g = register(sched, "n-w2").grant[0]!;
    assert.deepEqual([g.workerId, [...g.gpuIds]], ["n-w2", [0]]);
  });
});

describe("LeaseScheduler cancel races", () => {
  it("a cancelled request gives back its resources and its starting worker goes to the next request", () => {
    const sched = make({ cpus: 1 });
    request(sched, "a", { CPU: 1 }, "o1");
    const cancelRid = rid;
    assert.deepEqual(starts(request(sched, "b", { CPU: 1 }, "o2")), [], "b waits: a holds the CPU");
    const d = sched.cancel("o1", cancelRid);
    assert.deepEqual(d.cancelled, ["a"]);
    assert.deepEqual(starts(d), [], "b adopts the worker started for a: a cancel spawns nothing");
    assert.deepEqual(grants(register(sched, "n-w1")), ["b@n-w1"]);
  });

  it("a cancel naming another owner's rid, or an answered request, does nothing", () => {
    const sched = make({ cpus: 1, prestart: 1 });
    register(sched, "n-w1");
    const g = request(sched, "a", { CPU: 1 }, "o1");
    assert.deepEqual(grants(g), ["a@n-w1"]);
    // The grant crossed the cancel on the wire: the owner returns the lease it did not want.
    const c = sched.cancel("o1", rid);
    assert.deepEqual([c.cancelled, c.kill, c.start], [[], [], []]);
    assert.equal(sched.leaseCount, 1);
    request(sched, "b", { CPU: 1 }, "o2");
    assert.deepEqual(sched.cancel("o1", rid).cancelled, [], "rid is o2's, not o1's");
    assert.deepEqual(grants(sched.returnLease(g.grant[0]!.leaseId, false, 5)), ["b@n-w1"]);
  });

  it("does not let a request wait on a killed starting worker", () => {
    const sched = make({ cpus: 2 });
    request(sched, "a");
    const t = sched.workerStartTimedOut("n-w1", "did not register in time");
    assert.deepEqual(t.kill, [{ workerId: "n-w1", reason: "did not register in time" }]);
    const d = sched.dispatch();
    assert.deepEqual(starts(d), ["n-w2"], "a gets a fresh worker instead of the doomed one");
    sched.workerRegistered("n-w1", 0);
    assert.deepEqual(grants(sched.dispatch()), [], "a killed worker that registers late is never leased");
    assert.deepEqual(grants(register(sched, "n-w2")), ["a@n-w2"]);
  });
});

describe("LeaseScheduler returns, owners and exits", () => {
  it("a lease returned with kill kills its worker; without, the worker is reused", () => {
    const sched = make({ cpus: 1, prestart: 1 });
    register(sched, "n-w1");
    const a = request(sched, "a").grant[0]!;
    assert.equal(sched.resources.available.CPU, 0);
    const back = sched.returnLease(a.leaseId, false, 1);
    assert.deepEqual(kills(back), []);
    assert.equal(back.resourcesChanged, true);
    assert.equal(sched.worker("n-w1")?.state, "idle");
    const b = request(sched, "b").grant[0]!;
    assert.equal(b.workerId, "n-w1");
    const killed = sched.returnLease(b.leaseId, true, 2);
    assert.deepEqual(kills(killed), ["n-w1"]);
    assert.equal(sched.resources.available.CPU, 1);
    assert.deepEqual(grants(request(sched, "c")), [], "the killed worker is not leased again");
    assert.deepEqual(sched.returnLease(b.leaseId, false, 3).kill, [], "a second return is a no-op");
  });

  it("an owner that is gone loses its requests (unanswered) and its leases' workers", () => {
    const sched = make({ cpus: 2, prestart: 1 });
    register(sched, "n-w1");
    request(sched, "mine", { CPU: 1 }, "gone");
    request(sched, "queued", { CPU: 1 }, "gone");
    request(sched, "other", { CPU: 1 }, "alive");
    assert.equal(sched.resources.available.CPU, 0);
    const d = sched.ownerGone("gone");
    assert.deepEqual(kills(d), ["n-w1"], "its leased worker may be running its tasks");
    assert.deepEqual([d.cancelled, d.grant], [[], []], "nobody is left to answer");
    assert.equal(sched.leaseCount, 0);
    assert.equal(sched.pendingCount, 1, "only the other owner's request waits");
    assert.equal(sched.resources.available.CPU, 1, "the queued request's allocation came back");
  });

  it("a leased worker that exits frees its lease, refills the pool and lets a waiter in", () => {
    const sched = make({ cpus: 1, prestart: 1 });
    register(sched, "n-w1");
    assert.deepEqual(grants(request(sched, "a")), ["a@n-w1"]);
    request(sched, "b");
    const d = sched.workerExited("n-w1", null, "SIGKILL");
    assert.equal(sched.leaseCount, 0);
    assert.deepEqual(starts(d), ["n-w2"], "pool refilled, and b adopts it");
    assert.equal(sched.worker("n-w1"), undefined);
    assert.deepEqual(grants(register(sched, "n-w2")), ["b@n-w2"]);
  });

  it(`fails a runtime after ${MAX_START_FAILURES} exits before registering, rejecting its requests`, () => {
    const sched = make({ cpus: 1 });
    request(sched, "a");
    let d = sched.workerExited("n-w1", 1, null);
    assert.deepEqual(starts(d), ["n-w2"], "one failure: try again");
    // Killed from outside while starting: says nothing about the runtime.
    d = sched.workerExited("n-w2", null, "SIGKILL");
    assert.deepEqual(starts(d), ["n-w3"]);
    sched.workerStartTimedOut("n-w3", "did not register in time");
    d = sched.workerExited("n-w3", null, "SIGKILL");
    assert.deepEqual(starts(d), ["n-w4"], "a start timeout counts: two failures");
    assert.equal(sched.hasRuntime(RT), true);
    d = sched.workerExited("n-w4", 1, null);
    assert.deepEqual(d.failed, [
      {
        runtimeKey: RT,
        reason: "worker processes exit before starting (last: code 1, signal null)",
        rejected: ["a"],
      },
    ]);
    assert.deepEqual(starts(d), [], "nothing more is started for a broken runtime");
    assert.equal(sched.hasRuntime(RT), false);
    assert.equal(sched.resources.available.CPU, 1);
  });

  it("a registered worker's exit resets the start-failure count", () => {
    const sched = make({ cpus: 1 });
    request(sched, "a");
    sched.workerExited("n-w1", 1, null);
    sched.workerExited("n-w2", 1, null);
    assert.deepEqual(grants(register(sched, "n-w3")), ["a@n-w3"]);
    sched.workerExited("n-w3", 0, null);
    request(sched, "b");
    sched.workerExited("n-w4", 1, null);
    sched.workerExited("n-w5", 1, null);
    assert.equal(sched.hasRuntime(RT), true, "two failures since the reset");
  });
});

describe("LeaseScheduler actors, idle workers and blocking", () => {
  it("an actor's worker is dedicated for life and the task pool is refilled", () => {
    const sched = make({ cpus: 2, prestart: 1 });
    register(sched, "n-w1");
    const d = request(sched, "actor", { CPU: 0 }, "owner", "A1");
    assert.deepEqual(grants(d), ["actor@n-w1"]);
    assert.deepEqual(starts(d), ["n-w2"], "the pool is back to one task worker");
    assert.equal(sched.worker("n-w1")?.actorId, "A1");
    const end = sched.returnLease(d.grant[0]!.leaseId, false, 1);
    assert.deepEqual(kills(end), ["n-w1"], "an actor's worker is never reused");
    assert.deepEqual(starts(sched.workerExited("n-w1", null, "SIGKILL")), [], "its exit does not refill");
  });

  it("keeps at most maxIdleWorkers idle, killing the longest idle first", () => {
    const sched = make({ cpus: 4, prestart: 0, maxIdle: 1 });
    for (const n of ["a", "b", "c"]) request(sched, n);
    for (const id of ["n-w1", "n-w2", "n-w3"]) register(sched, id);
    assert.deepEqual(sched.returnLease(2, false, 10).kill, []);
    assert.deepEqual(kills(sched.returnLease(1, false, 20)), ["n-w2"], "n-w2 was idle since 10");
    assert.deepEqual(kills(sched.returnLease(3, false, 30)), ["n-w1"]);
    assert.equal(sched.worker("n-w3")?.state, "idle");
  });

  it("a worker blocked in get lends its CPU to the next request and takes it back", () => {
    const sched = make({ cpus: 1, prestart: 1 });
    register(sched, "n-w1");
    assert.deepEqual(grants(request(sched, "a")), ["a@n-w1"]);
    assert.deepEqual(starts(request(sched, "nested")), [], "no CPU left for the nested task");
    const d = sched.workerBlocked("n-w1", true);
    assert.deepEqual(starts(d), ["n-w2"], "the lent CPU lets the nested request start a worker");
    assert.deepEqual(grants(register(sched, "n-w2")), ["nested@n-w2"]);
    assert.deepEqual(sched.workerBlocked("n-w1", true).start, [], "blocked twice is a no-op");
    sched.workerBlocked("n-w1", false);
    assert.equal(sched.resources.available.CPU, -1, "resuming may oversubscribe the node");
  });

  it("stop cancels every pending request and starts nothing after", () => {
    const sched = make({ cpus: 1 });
    request(sched, "a");
    request(sched, "b");
    assert.deepEqual(sched.stop().cancelled, ["a", "b"]);
    assert.deepEqual(starts(sched.workerExited("n-w1", 1, null)), []);
    assert.deepEqual(starts(request(sched, "c")), []);
  });

  it("refuses to register a worker it did not start", () => {
    const sched = make();
    assert.throws(() => sched.workerRegistered("nope", 0), /unknown worker nope/);
  });
});
