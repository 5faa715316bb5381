// `tsray start --head` / `status` / `stop` with a driver connected through
// `init({ address: "auto" })`; `--block` in the foreground; `--port` over TCP.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { cliEnv, cliMain, isAlive, killPids, pollUntil, runCli } from "./helpers.js";

// Before tsray is imported (it reads its settings once): a private session root.
const root = mkdtempSync(join(tmpdir(), "tsray-cli-"));
process.env.TSRAY_SESSION_ROOT = root;
const ray = await import("tsray");
const { square, workerPid } = await import("./fixtures/tasks.js");

const leftovers = new Set<number>();
after(async () => {
  await ray.shutdown();
  killPids(leftovers);
  rmSync(root, { recursive: true, force: true });
});

interface HeadRecord {
  address: string;
  pid: number;
  nodeId: string;
  sessionDir: string;
}
function readRecord(): HeadRecord {
  const rec = JSON.parse(readFileSync(join(root, "latest-head.json"), "utf8")) as HeadRecord;
  leftovers.add(rec.pid);
  return rec;
}

describe("tsray start --head / status / stop", () => {
  test("a driver connects with address auto, runs tasks, status shows the node, stop ends every process", async () => {
    const started = await runCli(
      ["start", "--head", "--num-cpus", "2", "--resources", '{"cli_res": 1}'],
      root,
    );
    assert.equal(started.code, 0, started.stderr);
    const rec = readRecord();
    assert.match(
      started.stdout,
      new RegExp(`address: ${rec.address.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`),
    );
    assert.match(started.stdout, /init\(\{ address: "auto" \}\)/);
    assert.equal(readFileSync(join(root, "latest-head"), "utf8").trim(), rec.address);
    assert.ok(isAlive(rec.pid));

    const again = await runCli(["start", "--head"], root);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /already running/);

    const info = await ray.init({ address: "auto" });
    assert.equal(info.address, rec.address);
    assert.equal(info.nodeId, rec.nodeId);
    assert.equal(await ray.get(square.remote(7)), 49);
    assert.equal(await ray.get(square.options({ resources: { cli_res: 1 } }).remote(3)), 9);
    const pid = await ray.get(workerPid.remote());
    leftovers.add(pid);

    const text = await runCli(["status"], root);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, new RegExp(rec.nodeId));
    assert.match(text.stdout, /CPU\s+\S+ \/ 2/);
    assert.match(text.stdout, /cli_res/);
    assert.match(text.stdout, new RegExp(`pid ${pid}\\b`));
    const json = await runCli(["status", "--json"], root);
    assert.equal(json.code, 0, json.stderr);
    const status = JSON.parse(json.stdout) as {
      nodes: Array<{ nodeId: string; alive: boolean }>;
      total: { CPU: number };
      headNode: { workers: Array<{ pid: number }> };
    };
    assert.deepEqual(
      status.nodes.map((n) => [n.nodeId, n.alive]),
      [[rec.nodeId, true]],
    );
    assert.equal(status.total.CPU, 2);
    const workers = status.headNode.workers.map((w) => w.pid);
    for (const w of workers) leftovers.add(w);
    assert.ok(workers.includes(pid));

    // A connected driver's shutdown leaves the head running.
    await ray.shutdown();
    assert.ok(isAlive(rec.pid));

    const stopped = await runCli(["stop"], root);
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.match(stopped.stdout, /stopped/);
    await pollUntil(() => !isAlive(rec.pid), 15_000, `head pid ${rec.pid} to exit`);
    await pollUntil(() => workers.every((w) => !isAlive(w)), 15_000, `workers ${workers} to exit`);
    assert.equal(existsSync(join(root, "latest-head")), false);
    assert.equal(existsSync(rec.sessionDir), false);
    await assert.rejects(ray.init({ address: "auto" }), /no running head/);
  });

  test("--block --port 0: TCP head in the foreground until Ctrl-C", async () => {
    const cli = spawn(
      process.execPath,
      [cliMain, "start", "--head", "--block", "--port", "0", "--num-cpus", "1"],
      {
        env: cliEnv(root),
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    leftovers.add(cli.pid!);
    const exited = new Promise<number | null>((resolve) => cli.once("exit", (code) => resolve(code)));
    let out = "";
    let err = "";
    cli.stdout.on("data", (d: Buffer) => (out += d.toString()));
    cli.stderr.on("data", (d: Buffer) => (err += d.toString()));
    await pollUntil(() => /Ctrl-C/.test(out), 30_000, `the head to start (stdout: ${out} stderr: ${err})`);
    const rec = readRecord();
    // Binds every interface; advertises the machine's primary address.
    assert.match(rec.address, /^tcp:\/\/\d+\.\d+\.\d+\.\d+:\d+$/);

    await ray.init({ address: "auto" });
    assert.equal(await ray.get(square.remote(5)), 25);
    await ray.shutdown();

    cli.kill("SIGINT");
    assert.equal(await exited, 0, err);
    await pollUntil(() => !isAlive(rec.pid), 15_000, `head pid ${rec.pid} to exit`);
    assert.equal(existsSync(join(root, "latest-head")), false);
  });
});
