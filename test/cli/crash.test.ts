// A driver connected to a standalone head, killed with SIGKILL: the head removes its
// session dir. A standalone head (`tsray start --head`) killed with SIGKILL: its workers exit and
// unlink its store segment at once; whatever is left (its head-* session dir, the
// latest-head files, the segment of a head that had no workers) is removed by the
// next `tsray` command. Checked by pid and by path.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { after, afterEach, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { expectAllDead, within } from "../helpers/processes.js";
import { cliEnv, isAlive, killPids, pollUntil, repoRoot, runCli } from "./helpers.js";

// Before tsray is imported (it reads its settings once): a private session root.
const root = mkdtempSync(join(tmpdir(), "tsray-cli-crash-"));
process.env.TSRAY_SESSION_ROOT = root;
const ray = await import("tsray");
const { square } = await import("./fixtures/tasks.js");

const CONNECTED_DRIVER = fileURLToPath(new URL("./fixtures/connected-driver.ts", import.meta.url));

const leftovers = new Set<number>();
// Each test starts from an empty root with no head: a failed one leaves nothing to the next.
afterEach(async () => {
  await ray.shutdown();
  killPids(leftovers);
  leftovers.clear();
  for (const name of readdirSync(root)) rmSync(join(root, name), { recursive: true, force: true });
});
after(() => rmSync(root, { recursive: true, force: true }));

interface HeadRecord {
  address: string;
  pid: number;
  sessionDir: string;
}

async function startHead(): Promise<HeadRecord> {
  const r = await runCli(["start", "--head", "--num-cpus", "2"], root);
  assert.equal(r.code, 0, r.stderr);
  const rec = JSON.parse(readFileSync(join(root, "latest-head.json"), "utf8")) as HeadRecord;
  leftovers.add(rec.pid);
  assert.ok(isAlive(rec.pid));
  assert.ok(existsSync(rec.sessionDir));
  return rec;
}

function segmentsOf(pid: number): string[] {
  return readdirSync("/dev/shm").filter((n) => n.startsWith(`tsray-${pid}-`));
}

/** Kill the head and wait until it is gone (a zombie counts as gone). */
async function killHead(rec: HeadRecord): Promise<void> {
  process.kill(rec.pid, "SIGKILL");
  await expectAllDead([rec.pid], 10_000);
}

/** The next tsray command (any) leaves nothing of the dead head under the root or in /dev/shm. */
async function expectSweptBy(args: string[], rec: HeadRecord): Promise<void> {
  const r = await runCli(args, root);
  assert.equal(existsSync(rec.sessionDir), false, `${rec.sessionDir} removed by \`tsray ${args.join(" ")}\``);
  assert.equal(existsSync(join(root, "latest-head")), false);
  assert.equal(existsSync(join(root, "latest-head.json")), false);
  assert.deepEqual(
    segmentsOf(rec.pid),
    [],
    `no segment of head ${rec.pid} after \`tsray ${args.join(" ")}\``,
  );
  assert.deepEqual(readdirSync(root), [], "nothing left in the session root");
  assert.match(
    r.stderr,
    new RegExp(`the head at .* \\(pid ${rec.pid}\\) is gone; removed its session files`),
  );
}

describe("a driver of a standalone head killed with SIGKILL", () => {
  test("the head removes the driver's session dir", async () => {
    const rec = await startHead();
    const child = spawn(process.execPath, ["--import", "tsx", CONNECTED_DRIVER], {
      cwd: repoRoot,
      env: cliEnv(root),
      stdio: ["ignore", "pipe", "inherit"],
    });
    leftovers.add(child.pid!);
    const exited = new Promise((resolve) => child.once("exit", resolve));
    const line = new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout! }).once("line", resolve);
      child.once("exit", (code, signal) =>
        reject(new Error(`the driver exited (code ${code}, signal ${signal})`)),
      );
    });
    const { sessionDir } = JSON.parse(await within(line, 60_000, "the driver's report")) as {
      sessionDir: string;
    };
    assert.equal(dirname(sessionDir), root);
    assert.ok(existsSync(sessionDir));
    child.kill("SIGKILL");
    await within(exited, 10_000, "the killed driver's exit");
    await pollUntil(() => !existsSync(sessionDir), 10_000, `${sessionDir} to be removed by the head`);
    assert.ok(isAlive(rec.pid), "the head keeps serving");
    const stopped = await runCli(["stop"], root);
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.deepEqual(readdirSync(root), [], "nothing left in the session root");
  });
});

describe("a standalone head killed with SIGKILL", () => {
  test("with workers: they exit and unlink its segment; `tsray stop` removes its session files", async () => {
    const rec = await startHead();
    await ray.init({ address: "auto" });
    assert.equal(await ray.get(square.remote(4)), 16);
    const workers = (await ray.listWorkers()).map((w) => w.pid);
    for (const pid of workers) leftovers.add(pid);
    assert.ok(workers.length > 0, "the head started workers for the driver");
    assert.equal(segmentsOf(rec.pid).length, 1, "the head's store segment exists");

    await killHead(rec);
    await expectAllDead(workers, 10_000);
    await pollUntil(() => segmentsOf(rec.pid).length === 0, 10_000, `the segment of head ${rec.pid} to go`);
    // A standalone head's workers write to <session dir>/workers.log: one quiet line each.
    const log = readFileSync(join(rec.sessionDir, "workers.log"), "utf8");
    for (const pid of workers) {
      const lines = log.split("\n").filter((l) => l.includes(`(pid ${pid})`));
      assert.equal(lines.length, 1, `worker ${pid} logged one line: ${log}`);
      assert.match(lines[0]!, /exiting: its node manager at .* (closed the connection|is gone)$/);
    }
    assert.doesNotMatch(log, /ECONNREFUSED|\n\s+at /, "no stack trace in the workers' log");
    await ray.shutdown();
    await expectSweptBy(["stop"], rec);
  });

  test("without workers: `tsray status` removes its segment and session files", async () => {
    const rec = await startHead();
    // Nobody sees it die: what it left waits for the next command. (Not asserted here: any
    // init() on this machine also removes segments of dead heads.)
    await killHead(rec);
    await expectSweptBy(["status"], rec);
  });
});
