// A live embedded head (a real process, its real Unix socket) against peers that do
// not hold the session secret or break the protocol: nothing they send runs, the
// head's memory stays flat, and the real driver keeps being served. Plus the modes
// of the session's files, and the errors an authenticated peer gets for kinds the
// head does not serve.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { afterEach, describe, test } from "node:test";
import * as ray from "tsray";
import { Msg, PROTOCOL_VERSION } from "../../src/protocol/index.js";
import { parseToken } from "../../src/transport/index.js";
import { square } from "../fixtures/tasks.js";
import { useCluster } from "../helpers/cluster.js";
import { isAlive } from "../helpers/processes.js";
import { tempPath } from "../helpers/temp.js";
import { errorCodec } from "./helpers.js";
import { RawPeer } from "./raw-peer.js";

// The head is forked with this environment.
const HANDSHAKE_MS = 3000;
process.env.TSRAY_HANDSHAKE_TIMEOUT_MS = String(HANDSHAKE_MS);
const cluster = useCluster({ numCpus: 1, logToDriver: false });
afterEach(() => RawPeer.closeAll());

/** The head still serves the real driver: a task round trip, and its process lives. */
async function headServes(): Promise<void> {
  const n = Math.floor(Math.random() * 1000);
  assert.equal(await ray.get(square.remote(n), { timeout: 60_000 }), n * n);
  assert.ok(isAlive(cluster.info.headPid!), "the head is alive");
}

function secret(): Buffer {
  const file = join(cluster.info.sessionDir, "secret");
  return parseToken(readFileSync(file, "utf8"), file);
}

/** Resident set of a process, bytes. */
function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(m![1]) * 1024;
}

describe("a live head and peers without the secret", () => {
  test("session root and dir are 0700, the secret and every socket 0600, all owned by this user", async () => {
    await headServes();
    const dir = cluster.info.sessionDir;
    const uid = process.getuid!();
    const mode = (p: string) => statSync(p).mode & 0o777;
    assert.equal(mode(dirname(dir)).toString(8), "700", "session root");
    assert.equal(mode(dir).toString(8), "700", "session dir");
    assert.equal(mode(join(dir, "secret")).toString(8), "600", "secret");
    assert.equal(readFileSync(join(dir, "secret"), "utf8").trim().length, 64, "32 bytes as hex");
    const sockets = readdirSync(dir).filter((f) => f.endsWith(".sock"));
    assert.ok(sockets.includes("head.sock") && sockets.length >= 3, `head, driver and a worker: ${sockets}`);
    for (const s of sockets) {
      assert.equal(mode(join(dir, s)).toString(8), "600", s);
      assert.equal(statSync(join(dir, s)).uid, uid, s);
    }
  });

  test("ShutdownNode without a valid handshake does nothing: no Hello, a wrong proof, a Hello without proof", async () => {
    const bare = await RawPeer.connect(cluster.info.address);
    bare.send([{ t: Msg.ShutdownNode, rid: 1 }]);
    const wrong = await RawPeer.connect(cluster.info.address);
    const answer = await wrong.handshake(secret(), { secret: randomBytes(32) });
    wrong.send([{ t: Msg.ShutdownNode, rid: 1 }]);
    assert.equal(answer.code, "AUTHENTICATION_FAILED");
    // An old-style Hello (no version, no proof) with ShutdownNode behind it in the same frame.
    const old = await RawPeer.connect(cluster.info.address);
    old.send([
      { t: Msg.Hello, from: "intruder", address: "" },
      { t: Msg.ShutdownNode, rid: 1 },
    ]);
    for (const p of [bare, wrong, old]) {
      await p.waitClosed(10_000, "the head to drop the peer");
      assert.equal(p.messages.filter((m) => m.t === Msg.Reply).length, 0, "no reply to ShutdownNode");
    }
    await headServes();
  });

  test("RegisterDriver + RequestLease without the secret start nothing", async () => {
    const marker = tempPath("head-security", "ran");
    const before = (await ray.listWorkers()).map((w) => w.pid).sort();
    const peer = await RawPeer.connect(cluster.info.address);
    const runtime = {
      execPath: "/bin/sh",
      execArgv: ["-c", `touch ${marker}`],
      cwd: "/",
      jobId: "0001",
      namespace: "x",
    };
    peer.send([
      {
        t: Msg.Hello,
        from: "intruder",
        address: "",
        v: PROTOCOL_VERSION,
        nonce: randomBytes(32),
        proof: randomBytes(32),
      },
      { t: Msg.RegisterDriver, rid: 1, jobId: "0001", runtime, embedded: false },
      { t: Msg.RequestLease, rid: 2, demand: { CPU: 1 }, runtimeKey: "" },
    ]);
    await peer.waitClosed(10_000, "the head to drop the peer");
    assert.deepEqual(
      peer.messages.map((m) => m.t),
      [Msg.Challenge, Msg.Refused],
    );
    await headServes();
    assert.deepEqual((await ray.listWorkers()).map((w) => w.pid).sort(), before, "no worker was started");
    assert.equal(existsSync(marker), false, "the command did not run");
  });

  test("a 0xFFFFFFF0 frame header then a stream of bytes: the peer is dropped and the head's memory stays flat", async () => {
    const pid = cluster.info.headPid!;
    const rss0 = rssOf(pid);
    const peer = await RawPeer.connect(cluster.info.address);
    const chunk = randomBytes(1 << 20);
    let sent = 0;
    const limit = 256 << 20;
    const streamed = (async () => {
      peer.sock.write(Buffer.from([0xf0, 0xff, 0xff, 0xff]));
      while (!peer.closed && sent < limit) {
        sent += chunk.length;
        if (!peer.sock.write(chunk)) {
          await new Promise<void>((resolve) => {
            peer.sock.once("drain", resolve);
            peer.sock.once("close", resolve);
          });
        }
      }
    })();
    await peer.waitClosed(30_000, "the head to drop the streaming peer");
    await streamed;
    assert.ok(sent < limit, `dropped after ${sent >> 20} MiB of ${limit >> 20} MiB`);
    const growth = rssOf(pid) - rss0;
    assert.ok(growth < 32 << 20, `head RSS grew by ${growth >> 20} MiB`);
    await headServes();
  });

  test("an HTTP request is dropped at once, long before the handshake timeout", async () => {
    const peer = await RawPeer.connect(cluster.info.address);
    const started = Date.now();
    peer.sock.write("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
    await peer.waitClosed(10_000, "the head to drop the HTTP client");
    const ms = Date.now() - started;
    assert.ok(ms < HANDSHAKE_MS, `dropped after ${ms} ms`);
    await headServes();
  });

  test("a version mismatch is refused naming both versions", async () => {
    const peer = await RawPeer.connect(cluster.info.address);
    const answer = await peer.handshake(secret(), { v: 1 });
    assert.equal(answer.t, Msg.Refused);
    assert.match(
      String(answer.message),
      new RegExp(`version 1, this node speaks version ${PROTOCOL_VERSION}`),
    );
    await peer.waitClosed(10_000, "the head to close");
  });

  test("with the secret, kind 9999 and a kind the head does not serve get errors naming them, not empty successes", async () => {
    const peer = await RawPeer.connect(cluster.info.address);
    assert.equal((await peer.handshake(secret())).t, Msg.Welcome);
    peer.send([
      { t: 9999, rid: 1 },
      { t: Msg.CreateActor, rid: 2, spec: {} },
    ]);
    const errorOf = async (rid: number) => {
      const reply = await peer.next((m) => m.t === Msg.Reply && m.rid === rid, 10_000, `reply ${rid}`);
      assert.equal(
        reply.err instanceof Uint8Array,
        true,
        `reply ${rid} is an error: ${JSON.stringify(reply)}`,
      );
      return errorCodec.decode(reply.err as Uint8Array);
    };
    const unknown = await errorOf(1);
    assert.equal((unknown as { code?: string }).code, "PROTOCOL_ERROR");
    assert.match(unknown.message, /unknown message kind 9999/);
    assert.match((await errorOf(2)).message, /does not serve message kind 75 \(CreateActor\)/);
    assert.equal(peer.closed, false);
    await headServes();
  });
});
