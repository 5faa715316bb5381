// Cleanup of store segments (issues 5, 16): /dev/shm holds one segment per head,
// `tsray-<head pid>-store-<n>`. It is removed at shutdown(), by the head when its
// driver crashed, by the driver and the workers of a head that was SIGKILLed, and,
// when nobody saw it die, by the next init (stale segments are recognised by the dead
// pid in their name).
import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, rmSync, writeFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { after, afterEach, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import * as ray from "tsray";
import { useCluster } from "../helpers/cluster.js";
import { expectAllDead, isAlive, killPids, pollUntil, within } from "../helpers/processes.js";
import { MiB, storeSegments } from "./helpers.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const STORE_DRIVER = fileURLToPath(new URL("../fixtures/store-driver.ts", import.meta.url));

/** A pid that is certainly dead now: a process that already exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ["-e", ""]);
  assert.ok(child.pid && !isAlive(child.pid));
  return child.pid;
}

// Created before init (hooks run in registration order, useCluster's before comes next).
const staleDead = `/dev/shm/tsray-${deadPid()}-store-1`;
const liveOther = `/dev/shm/tsray-${process.pid}-store-999999`;
before(() => {
  writeFileSync(staleDead, "left by a head that died");
  writeFileSync(liveOther, "belongs to a live process");
});

const cluster = useCluster({ numCpus: 2, objectStoreMemory: 32 * MiB, logToDriver: false });

// Registered after useCluster's: runs after its shutdown.
after(() => {
  rmSync(liveOther, { force: true });
  rmSync(staleDead, { force: true });
  assert.deepEqual(storeSegments(cluster.info.headPid!), [], "shutdown() removed the store segment");
});

// Every pid a test learns about is killed in teardown if still alive.
const started = new Set<number>();
afterEach(() => {
  killPids(started);
  started.clear();
});

interface DriverReport {
  headPid: number;
  workerPids: number[];
  segments: string[];
  objectStore: string;
  ok: boolean;
}

/** Start test/fixtures/store-driver.ts; resolves with its first report line. */
async function startDriver(mode: "hang" | "shutdown"): Promise<{
  child: ChildProcess;
  exited: Promise<unknown>;
  report: DriverReport;
  /** The driver's next stdout line (lines are queued, none is lost). */
  nextLine: (what: string) => Promise<string>;
}> {
  const child = spawn(process.execPath, ["--import", "tsx", STORE_DRIVER, mode], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "inherit"],
  });
  started.add(child.pid!);
  const exited = new Promise((resolve) => child.once("exit", resolve));
  const queued: string[] = [];
  let waiter: ((line: string) => void) | undefined;
  createInterface({ input: child.stdout! }).on("line", (line) => {
    if (waiter) {
      waiter(line);
      waiter = undefined;
    } else queued.push(line);
  });
  const nextLine = (what: string): Promise<string> => {
    const line = queued.shift();
    if (line !== undefined) return Promise.resolve(line);
    const next = new Promise<string>((resolve, reject) => {
      waiter = resolve;
      child.once("exit", (code, signal) =>
        reject(new Error(`the driver exited before ${what} (code ${code}, signal ${signal})`)),
      );
    });
    return within(next, 30_000, what);
  };
  const report = JSON.parse(await nextLine("its report")) as DriverReport;
  started.add(report.headPid);
  for (const pid of report.workerPids) started.add(pid);
  assert.equal(report.ok, true, "the driver read its object back intact");
  return { child, exited, report, nextLine };
}

describe("store segment cleanup", () => {
  test("init removed the stale segment of a dead pid, and kept the one of a live pid", () => {
    assert.equal(existsSync(staleDead), false, `${staleDead} should have been removed by init`);
    assert.equal(existsSync(liveOther), true, `${liveOther} belongs to a live process and must stay`);
  });

  test("while running, the head's store segment is in /dev/shm", async () => {
    const segs = storeSegments(cluster.info.headPid!);
    assert.equal(segs.length, 1, `one store segment for head ${cluster.info.headPid}: ${segs.join(", ")}`);
    const ref = await ray.put(new Float64Array(MiB).fill(1));
    assert.equal((await ray.get(ref))[MiB - 1], 1);
    ref.release();
  });

  test("a crashed (SIGKILLed) driver: its head removes the segment and exits", async () => {
    const { child, exited, report } = await startDriver("hang");
    assert.equal(report.segments.length, 1, `the driver's head has a segment: ${report.segments.join(", ")}`);
    assert.deepEqual(storeSegments(report.headPid), report.segments);
    child.kill("SIGKILL");
    await within(exited, 10_000, "the killed driver's exit");
    await pollUntil(
      () => storeSegments(report.headPid).length === 0,
      10_000,
      `the segment of head ${report.headPid} to disappear`,
    );
    await expectAllDead([report.headPid, ...report.workerPids], 10_000);
  });

  test("a head killed with SIGKILL: its driver and workers remove its segment at once; the next init and shutdown work", async () => {
    const crashed = await startDriver("hang");
    const [segment] = crashed.report.segments;
    assert.ok(segment, "the driver's head has a segment");
    process.kill(crashed.report.headPid, "SIGKILL");
    await expectAllDead([crashed.report.headPid, ...crashed.report.workerPids], 10_000);
    // The head cannot remove it; its driver (which saw the child exit) and its workers (whose
    // node-manager connection closed) do, without waiting for a next init.
    await pollUntil(
      () => !existsSync(`/dev/shm/${segment}`),
      10_000,
      `the segment ${segment} of SIGKILLed head ${crashed.report.headPid} to be removed`,
    );
    crashed.child.kill("SIGKILL");
    await within(crashed.exited, 10_000, "the orphaned driver's exit");

    const next = await startDriver("shutdown");
    assert.equal(next.report.segments.length, 1);
    const { after: left } = JSON.parse(await next.nextLine("its shutdown")) as { after: string[] };
    assert.deepEqual(left, [], "shutdown() in that driver removed its segment");
    await within(next.exited, 10_000, "the driver's exit");
    await expectAllDead([next.report.headPid, ...next.report.workerPids], 10_000);
  });
});
