// Nodes on one machine behave like separate machines (issue 10, point 7): a head and a
// worker node in two Linux network namespaces the test creates (a veth pair, one IP
// each) and removes, each with its own session root; the node joins with the secret
// passed as --token, as from another machine; a driver in the node's namespace runs a
// task on the head's node across the veth. `tsray stop` in each namespace leaves no
// process and no session directory. Skipped, saying why, where namespaces cannot be made.
import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { expectAllDead } from "../helpers/processes.js";

const cliMain = fileURLToPath(new URL("../../dist/cli/main.js", import.meta.url));
const distIndex = fileURLToPath(new URL("../../dist/index.js", import.meta.url));
const tag = `ts${process.pid % 100000}`;
const nsA = `${tag}a`;
const nsB = `${tag}b`;
const ipA = "10.211.0.1";
const ipB = "10.211.0.2";

function sh(args: string[]): void {
  execFileSync("ip", args, { stdio: "pipe" });
}

/** Make the namespaces and the veth pair; the reason when this machine cannot. */
function setUp(): string | undefined {
  try {
    sh(["netns", "add", nsA]);
  } catch (err) {
    return `cannot create network namespaces here (${(err as Error).message.split("\n")[0]}); run as root with iproute2`;
  }
  sh(["netns", "add", nsB]);
  sh(["link", "add", `${tag}va`, "type", "veth", "peer", "name", `${tag}vb`]);
  sh(["link", "set", `${tag}va`, "netns", nsA]);
  sh(["link", "set", `${tag}vb`, "netns", nsB]);
  sh(["-n", nsA, "addr", "add", `${ipA}/24`, "dev", `${tag}va`]);
  sh(["-n", nsB, "addr", "add", `${ipB}/24`, "dev", `${tag}vb`]);
  for (const [ns, dev] of [
    [nsA, `${tag}va`],
    [nsB, `${tag}vb`],
  ] as const) {
    sh(["-n", ns, "link", "set", dev, "up"]);
    sh(["-n", ns, "link", "set", "lo", "up"]);
  }
  return undefined;
}

function tearDown(): void {
  for (const ns of [nsA, nsB]) {
    try {
      sh(["netns", "delete", ns]); // removes its veth end, and so the pair
    } catch {
      // not made
    }
  }
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run a command in a namespace with its own session root (60 s at most). */
function inNs(ns: string, root: string, cmd: string[], env: Record<string, string> = {}): Promise<Run> {
  const e: NodeJS.ProcessEnv = { ...process.env, TSRAY_SESSION_ROOT: root, ...env };
  delete e.NODE_TEST_CONTEXT;
  return new Promise((resolve) => {
    execFile("ip", ["netns", "exec", ns, ...cmd], { env: e, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? ((err as { code?: number }).code ?? 1) : 0;
      resolve({ code: typeof code === "number" ? code : 1, stdout, stderr });
    });
  });
}

const skip = process.getuid?.() !== 0 ? "network namespaces need root" : setUp();
after(tearDown);

describe("a head and a node in separate network namespaces", { skip, timeout: 120_000 }, () => {
  const rootA = mkdtempSync(join(tmpdir(), "tsray-nsa-"));
  const rootB = mkdtempSync(join(tmpdir(), "tsray-nsb-"));
  after(() => {
    rmSync(rootA, { recursive: true, force: true });
    rmSync(rootB, { recursive: true, force: true });
  });

  test("join with --token across the veth, run a task on the other node, stop both", async () => {
    const head = await inNs(nsA, rootA, [
      process.execPath,
      cliMain,
      "start",
      "--head",
      "--port",
      "0",
      "--num-cpus",
      "1",
      "--resources",
      '{"headonly": 1}',
    ]);
    assert.equal(head.code, 0, head.stderr);
    const rec = JSON.parse(readFileSync(join(rootA, "latest-head.json"), "utf8")) as {
      address: string;
      pid: number;
      sessionDir: string;
    };
    // Bound to every interface, advertised at the namespace's only address.
    assert.equal(rec.address.startsWith(`tcp://${ipA}:`), true, rec.address);
    const token = readFileSync(join(rec.sessionDir, "secret"), "utf8").trim();
    const headHostPort = rec.address.slice("tcp://".length);

    const wrong = await inNs(nsB, rootB, [
      process.execPath,
      cliMain,
      "start",
      "--address",
      headHostPort,
      "--token",
      "ab".repeat(32),
    ]);
    assert.notEqual(wrong.code, 0, "a wrong token must not join");
    assert.match(wrong.stderr, /wrong token|refused|AUTHENTICATION/i);

    const node = await inNs(nsB, rootB, [
      process.execPath,
      cliMain,
      "start",
      "--address",
      headHostPort,
      "--token",
      token,
      "--num-cpus",
      "2",
    ]);
    assert.equal(node.code, 0, node.stderr);
    assert.match(node.stdout, new RegExp(`address: ${ipB.replace(/\./g, "\\.")}:\\d+`));
    const nodeDir = readdirSync(rootB).find((n) => n.startsWith("node-"))!;
    const nodeRec = JSON.parse(readFileSync(join(rootB, nodeDir, "node.json"), "utf8")) as {
      address: string;
      pid: number;
    };

    const driver = join(rootB, "driver.mjs");
    writeFileSync(
      driver,
      [
        `import * as ray from ${JSON.stringify(distIndex)};`,
        `await ray.init({ address: ${JSON.stringify(nodeRec.address.slice(6))} });`,
        "const f = ray.remote(() => ({ node: process.env.TSRAY_NODE_ID, pid: process.pid }));",
        "const local = await ray.get(f.remote());",
        "const remote = await ray.get(f.options({ resources: { headonly: 1 } }).remote());",
        "const nodes = (await ray.nodes()).filter((n) => n.alive).length;",
        "console.log(JSON.stringify({ local, remote, nodes }));",
        "await ray.shutdown();",
      ].join("\n"),
    );
    const ran = await inNs(nsB, rootB, [process.execPath, driver]);
    assert.equal(ran.code, 0, ran.stderr);
    const out = JSON.parse(ran.stdout.trim().split("\n").at(-1)!) as {
      local: { node: string; pid: number };
      remote: { node: string; pid: number };
      nodes: number;
    };
    assert.equal(out.nodes, 2);
    assert.notEqual(out.local.node, out.remote.node, "the headonly task ran on the head's node");

    const stopB = await inNs(nsB, rootB, [process.execPath, cliMain, "stop"]);
    assert.equal(stopB.code, 0, stopB.stderr);
    const stopA = await inNs(nsA, rootA, [process.execPath, cliMain, "stop"]);
    assert.equal(stopA.code, 0, stopA.stderr);
    await expectAllDead([rec.pid, nodeRec.pid, out.local.pid, out.remote.pid], 15_000);
    assert.deepEqual(
      readdirSync(rootB).filter((n) => n.startsWith("node-") || n.startsWith("session-")),
      [],
    );
    assert.equal(existsSync(rec.sessionDir), false);
  });
});
