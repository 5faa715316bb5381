// Issue 16, point 1: no command comes from the wire. A peer of a `tsray start --head
// --port` head sends the RegisterDriver of an attacker (execPath /bin/sh, execArgv
// ["-c", "touch <file>"]) and a RequestLease over a real TCP socket: the head must
// start nothing, the file must never appear, and the reply must name the field. A
// real driver then still runs tasks, in workers started with the head's own node, the
// absolute tsx loader of tsray's installation and the driver's cwd.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { pathToFileURL } from "node:url";
import { connectHead, type HeadClient } from "../../src/cli/head-client.js";
import { Msg, type RequestBody } from "../../src/protocol/index.js";
import { isAlive, killPids, pollUntil, repoRoot, runCli } from "./helpers.js";

// Before tsray is imported (it reads its settings once): a private session root.
const root = mkdtempSync(join(tmpdir(), "tsray-wire-"));
process.env.TSRAY_SESSION_ROOT = root;
const ray = await import("tsray");
const { workerPid } = await import("./fixtures/tasks.js");

const leftovers = new Set<number>();
let client: HeadClient | undefined;
after(async () => {
  client?.close();
  await ray.shutdown();
  killPids(leftovers);
  rmSync(root, { recursive: true, force: true });
});

/** pids whose parent is `pid` (zombies included: a child not yet reaped still counts as started). */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === pid) out.push(Number(name));
    } catch {
      // Exited while listing.
    }
  }
  return out;
}

type Outcome = { ok: true; value: unknown } | { ok: false; err: Error & { code?: string; field?: string } };
function settle(p: Promise<unknown>): Promise<Outcome> {
  return p.then(
    (value) => ({ ok: true as const, value }),
    (err: Error) => ({ ok: false as const, err }),
  );
}
function rejected(o: Outcome, what: string): Error & { code?: string; field?: string } {
  if (o.ok) assert.fail(`${what} was accepted: ${JSON.stringify(o.value)}`);
  return o.err;
}

describe("RegisterDriver carries no command", () => {
  test("an attacker's execPath/execArgv plus a lease over TCP start nothing; a real driver still works", async () => {
    const started = await runCli(["start", "--head", "--port", "0", "--num-cpus", "1"], root);
    assert.equal(started.code, 0, started.stderr);
    const rec = JSON.parse(readFileSync(join(root, "latest-head.json"), "utf8")) as {
      address: string;
      pid: number;
    };
    leftovers.add(rec.pid);
    assert.match(rec.address, /^tcp:\/\//);
    client = await connectHead(rec.address, 20_000);
    const marker = join(root, "attacker-ran");
    const send = (body: unknown) => settle(client!.request(body as RequestBody));

    const register = await send({
      t: Msg.RegisterDriver,
      jobId: "0001",
      runtime: {
        execPath: "/bin/sh",
        execArgv: ["-c", `touch ${marker}`],
        cwd: root,
        jobId: "0001",
        namespace: "default",
      },
      embedded: false,
    });
    const key = register.ok ? (register.value as { runtimeKey: string }).runtimeKey : "000000000000";
    const lease = await send({ t: Msg.RequestLease, demand: { CPU: 1 }, runtimeKey: key });
    const view = (await client.request({ t: Msg.GetNodeResources })) as { workers: unknown[] };

    // A child not yet reaped is listed; a reaped one has already run its command.
    assert.deepEqual(childrenOf(rec.pid), [], "the head started a process for the attacker");
    assert.equal(existsSync(marker), false, "the attacker's command ran on the head");
    assert.deepEqual(view.workers, []);
    const err = rejected(register, "the attacker's RegisterDriver");
    assert.equal(err.code, "ERR_INVALID_ARG_VALUE");
    assert.equal(err.field, "runtime.execPath");
    assert.match(err.message, /runtime\.execPath is not accepted \(got "\/bin\/sh"\)/);
    assert.match(err.message, /loader, cwd, jobId, namespace/);
    const leaseErr = rejected(lease, "the attacker's RequestLease");
    assert.match(leaseErr.message, /unknown runtime/);
    assert.equal(leaseErr.code, "PROTOCOL_ERROR", "the node manager's refusal lost its type on the wire");

    // Only choices pass, and only valid ones: each refusal names the field and starts nothing.
    const runtime = { loader: "tsx", cwd: root, jobId: "0001", namespace: "default" };
    const cases: Array<[Record<string, unknown>, string, RegExp]> = [
      [
        { ...runtime, loader: "/bin/sh" },
        "runtime.loader",
        /one of "tsx", "strip-types", "none", got "\/bin\/sh"/,
      ],
      [{ ...runtime, execArgv: ["-c", `touch ${marker}`] }, "runtime.execArgv", /not accepted/],
      [{ ...runtime, cwd: "relative/dir" }, "runtime.cwd", /absolute/],
      [{ ...runtime, cwd: join(root, "missing") }, "runtime.cwd", /existing directory/],
    ];
    for (const [rt, field, message] of cases) {
      const o = await send({ t: Msg.RegisterDriver, jobId: "0001", runtime: rt, embedded: false });
      const e = rejected(o, `RegisterDriver with ${JSON.stringify(rt)}`);
      assert.equal(e.field, field, e.message);
      assert.match(e.message, message);
    }
    assert.deepEqual(childrenOf(rec.pid), []);
    assert.equal(existsSync(marker), false);

    // A real driver (this one, under tsx) still runs tasks there.
    await ray.init({ address: rec.address });
    const pid = await ray.get(workerPid.remote());
    leftovers.add(pid);
    const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
    assert.equal(argv[0], process.execPath, `worker argv: ${argv.join(" ")}`);
    const tsx = pathToFileURL(createRequire(join(repoRoot, "package.json")).resolve("tsx")).href;
    assert.equal(argv[argv.indexOf("--import") + 1], tsx, `worker argv: ${argv.join(" ")}`);
    assert.equal(argv.includes("tsx"), false, `a bare tsx is resolved from the cwd: ${argv.join(" ")}`);
    assert.equal(readlinkSync(`/proc/${pid}/cwd`), process.cwd());
    await ray.shutdown();

    const stopped = await runCli(["stop"], root);
    assert.equal(stopped.code, 0, stopped.stderr);
    await pollUntil(() => !isAlive(rec.pid) && !isAlive(pid), 15_000, "the head and its worker to exit");
  });
});
