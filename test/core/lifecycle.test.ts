// Lifecycle: init starts a head and worker processes; shutdown, a crashed (SIGKILL,
// SIGTERM) driver, a driver that exits without shutdown and a SIGKILLed head all leave
// no process (checked by pid), session dir or segment (checked by path) behind, and
// orphaned workers exit with one quiet line.
import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { afterEach, describe, test } from "node:test";
import { setImmediate as nextTurn } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import * as ray from "tsray";
import { gpuView, square } from "../fixtures/tasks.js";
import { expectAllDead, isAlive, killPids, pollUntil, within } from "../helpers/processes.js";
import { collectUntil } from "../refcount/helpers.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const CRASH_DRIVER = fileURLToPath(new URL("../fixtures/crash-driver.ts", import.meta.url));

// Every pid a test learns about is killed in teardown if still alive.
const started = new Set<number>();
afterEach(async () => {
  if (ray.isInitialized()) await ray.shutdown();
  killPids(started);
  started.clear();
});

async function livePids(info: ray.ClusterInfo, numCpus: number): Promise<number[]> {
  const workers = await pollUntil(
    async () => {
      const list = await ray.listWorkers();
      return list.filter((w) => w.state !== "starting").length >= numCpus ? list : undefined;
    },
    20_000,
    `${numCpus} registered workers`,
  );
  const pids = [info.headPid!, ...workers.map((w) => w.pid)];
  for (const pid of pids) started.add(pid);
  return pids;
}

/**
 * `n` puts of strings, in a frame of their own: a suspended async test keeps its loop
 * temporaries (the array) reachable, so the caller's refs could never be collected.
 */
async function putAll(n: number, tag: string): Promise<ray.ObjectRef<string>[]> {
  const refs: ray.ObjectRef<string>[] = [];
  for (let i = 0; i < n; i++) refs.push(await ray.put(`${tag} ${i}`));
  return refs;
}

/** Register every ref with `registry` (a frame of its own, as putAll). */
function watch(registry: FinalizationRegistry<number>, refs: readonly object[]): void {
  for (const r of refs) registry.register(r, 0);
}

describe("init and shutdown", () => {
  test("init starts a head and one worker process per CPU; shutdown leaves none and removes the session dir", async () => {
    assert.equal(ray.isInitialized(), false);
    const info = await ray.init({ numCpus: 2, logToDriver: false });
    assert.equal(ray.isInitialized(), true);
    assert.equal(typeof info.headPid, "number");
    assert.notEqual(info.headPid, process.pid);
    assert.ok(existsSync(info.sessionDir), "the session dir exists while running");
    assert.equal(await ray.get(square.remote(5)), 25);
    const pids = await livePids(info, 2);
    assert.ok(pids.length >= 3, `head + 2 workers, got ${pids.join(", ")}`);
    assert.equal(new Set(pids).size, pids.length);
    for (const pid of pids) assert.ok(isAlive(pid), `${pid} should be running`);

    await ray.shutdown();
    assert.equal(ray.isInitialized(), false);
    await expectAllDead(pids, 5_000);
    assert.equal(existsSync(info.sessionDir), false, "the session dir is removed");
  });

  test("shutdown twice (and without init) is safe", async () => {
    await ray.shutdown();
    await ray.init({ numCpus: 1, logToDriver: false });
    await ray.shutdown();
    await ray.shutdown();
    assert.equal(ray.isInitialized(), false);
  });

  test("after shutdown, .remote() and get fail with a clear error", async () => {
    const info = await ray.init({ numCpus: 1, logToDriver: false });
    const ref = square.remote(2);
    assert.equal(await ray.get(ref), 4);
    const pids = await livePids(info, 1);
    await ray.shutdown();
    await expectAllDead(pids, 5_000);
    assert.throws(() => square.remote(3), /not initialized/);
    await assert.rejects(async () => ray.get(ref), /not initialized/);
  });

  test("init after shutdown starts a fresh cluster", async () => {
    const first = await ray.init({ numCpus: 1, logToDriver: false });
    started.add(first.headPid!);
    await ray.shutdown();
    const second = await ray.init({ numCpus: 1, logToDriver: false });
    started.add(second.headPid!);
    assert.notEqual(second.headPid, first.headPid);
    assert.notEqual(second.sessionDir, first.sessionDir);
    assert.equal(await ray.get(square.remote(6)), 36);
    const pids = await livePids(second, 1);
    await ray.shutdown();
    await expectAllDead(pids, 5_000);
  });

  test("refs kept from an earlier session and collected in a later one free none of the later session's objects", async () => {
    // An own object's ref keeps only its sequence number: numbers must not restart per session.
    const first = await ray.init({ numCpus: 1, logToDriver: false });
    started.add(first.headPid!);
    const old: { refs?: ray.ObjectRef<string>[] } = {};
    old.refs = await putAll(50, "old");
    await ray.shutdown();
    const second = await ray.init({ numCpus: 1, logToDriver: false });
    started.add(second.headPid!);
    const fresh = await putAll(50, "new");
    // Counted by a registry of our own (WeakRef.deref would keep them alive through the job).
    let collected = 0;
    const probe = new FinalizationRegistry<number>(() => collected++);
    watch(probe, old.refs);
    old.refs = undefined;
    await collectUntil(() => collected === 50, 10_000, "the earlier session's refs to be collected");
    for (let i = 0; i < 3; i++) await nextTurn(); // the runtime's finalizers ran in the same rounds
    assert.deepEqual(
      await ray.get(fresh),
      fresh.map((_, i) => `new ${i}`),
    );
    const mine = (await ray.memory()).processes.find((p) => p.pid === process.pid);
    assert.equal(mine?.objects, 50, "the later session still tracks each of its puts");
    probe.unregister(probe); // (keeps the registry alive up to here: a collected registry calls nothing)
  });

  test("ignoreReinitError returns the running cluster's info", async () => {
    const info = await ray.init({ numCpus: 1, logToDriver: false });
    started.add(info.headPid!);
    const again = await ray.init({ numCpus: 3, ignoreReinitError: true });
    assert.equal(again.headPid, info.headPid);
    assert.equal(again.sessionDir, info.sessionDir);
  });

  test("a burst of tasks on a fresh cluster starts no more workers than CPUs", async () => {
    // Regression: each cancelled lease request used to start another worker process.
    const info = await ray.init({ numCpus: 2, logToDriver: false });
    started.add(info.headPid!);
    const refs = Array.from({ length: 40 }, (_, i) => square.remote(i));
    assert.equal((await ray.get(refs)).length, 40);
    const workers = await ray.listWorkers();
    for (const w of workers) started.add(w.pid);
    assert.ok(
      workers.length <= 2,
      `a 2-CPU node started ${workers.length} workers for 40 one-CPU tasks: ${JSON.stringify(workers)}`,
    );
  });
});

describe("GPU detection", () => {
  test("init() without numGpus takes the node's GPUs from CUDA_VISIBLE_DEVICES (3,5: two GPUs, ids 3 and 5)", async () => {
    const saved = process.env.CUDA_VISIBLE_DEVICES;
    process.env.CUDA_VISIBLE_DEVICES = "3,5";
    let info: ray.ClusterInfo;
    try {
      info = await ray.init({ numCpus: 2, logToDriver: false });
    } finally {
      if (saved === undefined) delete process.env.CUDA_VISIBLE_DEVICES;
      else process.env.CUDA_VISIBLE_DEVICES = saved;
    }
    await livePids(info, 2);
    assert.equal(info.resources.GPU, 2);
    assert.equal((await ray.clusterResources()).GPU, 2);
    const both = await ray.get(gpuView.options({ numGpus: 2 }).remote());
    assert.deepEqual([...both.gpuIds].sort(), [3, 5]);
    assert.deepEqual(both.cuda?.split(",").map(Number).sort(), [3, 5]);
    const one = await ray.get(gpuView.options({ numGpus: 1 }).remote());
    assert.equal(one.gpuIds.length, 1);
    assert.ok([3, 5].includes(one.gpuIds[0]!), `a detected id, got ${one.gpuIds}`);
    assert.equal(one.cuda, String(one.gpuIds[0]));
    // A task that asked for no GPU sees none, though the driver's environment lists two.
    const none = await ray.get(gpuView.remote());
    assert.deepEqual(none.gpuIds, []);
    assert.equal(none.cuda, "");
    await assert.rejects(ray.get(gpuView.options({ numGpus: 3 }).remote()), ray.InfeasibleResourcesError);
  });
});

describe("a driver process that goes away", () => {
  const children = new Set<ChildProcess>();
  const roots: string[] = [];
  afterEach(() => {
    for (const c of children) if (c.pid) killPids([c.pid]);
    children.clear();
    for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true });
  });

  interface Report {
    headPid: number;
    workerPids: number[];
    sessionDir: string;
    spillFiles: string[];
  }

  /** Start test/fixtures/crash-driver.ts; `stderr` collects its stderr (with workers' when "log"). */
  async function startDriver(
    mode: "hang" | "exit",
    ...flags: Array<"spill" | "log">
  ): Promise<{
    child: ChildProcess;
    exited: Promise<unknown>;
    pids: number[];
    report: Report;
    stderr: string[];
  }> {
    // A private session root: another process's init() (which removes dirs of dead drivers)
    // must not do the cleanup this test checks.
    const sessionRoot = mkdtempSync(join(tmpdir(), "tsray-crash-"));
    roots.push(sessionRoot);
    const child = spawn(process.execPath, ["--import", "tsx", CRASH_DRIVER, mode, ...flags], {
      cwd: ROOT,
      env: { ...process.env, TSRAY_SESSION_ROOT: sessionRoot },
      stdio: ["ignore", "pipe", "pipe"],
    });
    children.add(child);
    started.add(child.pid!);
    const stderr: string[] = [];
    createInterface({ input: child.stderr! }).on("line", (line) => {
      stderr.push(line);
      process.stderr.write(`[crash-driver] ${line}\n`);
    });
    const exited = new Promise((resolve) => child.once("exit", resolve));
    const lines = createInterface({ input: child.stdout! });
    const first = new Promise<string>((resolve, reject) => {
      lines.once("line", resolve);
      child.once("exit", (code, signal) =>
        reject(new Error(`the driver exited before reporting (code ${code}, signal ${signal})`)),
      );
    });
    const report = JSON.parse(await within(first, 60_000, "the driver's pid report")) as Report;
    lines.close();
    assert.equal(dirname(report.sessionDir), sessionRoot);
    const pids = [report.headPid, ...report.workerPids];
    for (const pid of pids) started.add(pid);
    assert.ok(report.workerPids.length >= 2, `the driver saw workers ${report.workerPids.join(", ")}`);
    if (flags.includes("spill")) {
      assert.ok(report.spillFiles.length > 0, "the driver's store spilled an object into its session dir");
      for (const f of report.spillFiles) assert.ok(existsSync(join(report.sessionDir, "spill", f)));
    }
    return { child, exited, pids, report, stderr };
  }

  /** Nothing left in the driver's session root (its session dir was the only entry). */
  function rootEmpty(report: Report): boolean {
    return readdirSync(dirname(report.sessionDir)).length === 0;
  }

  for (const signal of ["SIGKILL", "SIGTERM"] as const) {
    test(`${signal} of a driver: its head and workers exit, its session dir (with spill files) is removed`, async () => {
      const { child, exited, pids, report } = await startDriver("hang", "spill");
      for (const pid of pids) assert.ok(isAlive(pid), `${pid} should be running before the crash`);
      assert.ok(existsSync(report.sessionDir));
      child.kill(signal);
      await within(exited, 10_000, "the killed driver's exit");
      await expectAllDead(pids, 10_000);
      await pollUntil(() => rootEmpty(report), 10_000, `${report.sessionDir} to be removed`);
    });
  }

  test("a driver that exits without shutdown() leaves no process and no session dir", async () => {
    const { exited, pids, report } = await startDriver("exit");
    await within(exited, 20_000, "the driver's exit");
    await expectAllDead(pids, 10_000);
    await pollUntil(() => rootEmpty(report), 10_000, `${report.sessionDir} to be removed`);
  });

  test("SIGKILL of the head: no segment of it left, session dir removed, each worker exits with one quiet line", async () => {
    const { pids, report, stderr } = await startDriver("hang", "log");
    const segments = () => readdirSync("/dev/shm").filter((n) => n.startsWith(`tsray-${report.headPid}-`));
    assert.equal(segments().length, 1, `the head's store segment exists: ${segments().join(", ")}`);
    process.kill(report.headPid, "SIGKILL");
    await expectAllDead(pids, 10_000);
    await pollUntil(() => segments().length === 0, 10_000, `no /dev/shm segment of head ${report.headPid}`);
    await pollUntil(() => rootEmpty(report), 10_000, `${report.sessionDir} to be removed`);
    // A worker's line can reach this end of the pipe after its exit is visible: wait for it.
    for (const pid of report.workerPids) {
      await pollUntil(
        () => stderr.some((l) => l.includes(`(pid ${pid})`)),
        10_000,
        `the orphan line of worker ${pid}`,
      );
      // Whole pids only: the driver's own lines carry `pid=<its pid>`, which may start with a worker's.
      const own = new RegExp(`pid[ =]${pid}\\b`);
      const mine = stderr.filter((l) => own.test(l));
      assert.equal(mine.length, 1, `worker ${pid} printed exactly one line: ${JSON.stringify(mine)}`);
      assert.match(mine[0]!, /exiting: its node manager at .* closed the connection$/);
    }
    assert.deepEqual(
      stderr.filter((l) => /^\s+at |ECONNREFUSED|Error\b/.test(l)),
      [],
      `no stack trace or connection error on stderr: ${JSON.stringify(stderr)}`,
    );
  });
});

describe("a worker that starts when its node manager is already gone", () => {
  const WORKER_MAIN = fileURLToPath(new URL("../../dist/worker/main.js", import.meta.url));
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  /** A Unix socket file nobody listens on: what a SIGKILLed node manager leaves (connect gives ECONNREFUSED). */
  function deadSocket(dir: string): string {
    const path = join(dir, "head.sock");
    const r = spawnSync(process.execPath, [
      "-e",
      `require("node:net").createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, "SIGKILL"))`,
    ]);
    assert.equal(r.signal, "SIGKILL");
    assert.ok(existsSync(path), "the killed listener left its socket file");
    return path;
  }

  for (const sessionDirGone of [false, true]) {
    test(`exits 0 with one line and no stack trace (${sessionDirGone ? "session dir removed too" : "socket refuses"})`, async () => {
      const dir = mkdtempSync(join(tmpdir(), "tsray-orphan-"));
      dirs.push(dir);
      const nmAddress = deadSocket(dir);
      const sessionDir = sessionDirGone ? join(dir, "gone") : dir;
      const child = spawn(process.execPath, ["--expose-gc", WORKER_MAIN], {
        env: {
          ...process.env,
          TSRAY_WORKER_ID: "orphan-w1",
          TSRAY_NM_ADDRESS: nmAddress,
          TSRAY_SESSION_DIR: sessionDir,
        },
        stdio: ["ignore", "ignore", "pipe"],
      });
      started.add(child.pid!);
      let err = "";
      child.stderr!.on("data", (d: Buffer) => {
        err += d.toString();
      });
      const [code, signal] = await within(
        new Promise<[number | null, string | null]>((resolve) =>
          child.once("close", (c, s) => resolve([c, s])),
        ),
        20_000,
        "the orphaned worker's exit",
      );
      assert.deepEqual([code, signal], [0, null], `exit status; stderr: ${err}`);
      const lines = err.trimEnd().split("\n");
      assert.equal(lines.length, 1, `one line on stderr, got: ${err}`);
      assert.match(
        lines[0]!,
        new RegExp(`^tsray worker orphan-w1 \\(pid ${child.pid}\\) exiting: its node manager at .* is gone$`),
      );
      assert.doesNotMatch(err, /ECONNREFUSED|\n\s+at /);
    });
  }
});
