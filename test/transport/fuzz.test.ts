// Seeded wire fuzzer against a live embedded head: random bytes, truncated and
// mutated handshake frames, mutated valid frames from an authenticated peer, floods
// of connections and slow-loris peers. Afterwards the head still runs a real
// driver's task, its memory is flat and it holds no more file descriptors than
// before. The seed is printed; TSRAY_FUZZ_SEED=<n> replays a run (and
// TSRAY_FUZZ_CASES=<n> changes how many cases run).
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { afterEach, describe, test } from "node:test";
import * as ray from "tsray";
import { Msg, PROTOCOL_VERSION } from "../../src/protocol/index.js";
import { parseToken } from "../../src/transport/index.js";
import { seededRandom } from "../../src/util/index.js";
import { square } from "../fixtures/tasks.js";
import { useCluster } from "../helpers/cluster.js";
import { pollUntil } from "../helpers/processes.js";
import { frame } from "./helpers.js";
import { RawPeer } from "./raw-peer.js";

const envelope = createRequire(import.meta.url)("msgpackr") as typeof import("msgpackr");

const SEED = Number(process.env.TSRAY_FUZZ_SEED) || Math.floor(Math.random() * 2 ** 31);
const CASES = Number(process.env.TSRAY_FUZZ_CASES) || 200;
const HANDSHAKE_MS = 1500;
/** The fuzzing loop stops starting new cases after this long (it prints how many ran). */
const BUDGET_MS = 60_000;
console.log(`wire fuzz seed ${SEED} (replay with TSRAY_FUZZ_SEED=${SEED}), ${CASES} cases`);

// Forked into the head: quick handshake timeouts; one warning per dropped peer would flood the output.
process.env.TSRAY_HANDSHAKE_TIMEOUT_MS = String(HANDSHAKE_MS);
process.env.TSRAY_LOG_LEVEL = "error";
const cluster = useCluster({ numCpus: 1, logToDriver: false });
afterEach(() => RawPeer.closeAll());

const rand = seededRandom(SEED);
const int = (n: number) => Math.floor(rand() * n);
const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => int(256)));

/** Flip, overwrite, insert or drop a few random bytes. */
function mutate(buf: Buffer): Buffer {
  const out = [...buf];
  for (let k = 1 + int(4); k > 0; k--) {
    const at = int(out.length + 1);
    const op = int(4);
    if (op === 0 && out.length > 0) out[at % out.length]! ^= 1 << int(8);
    else if (op === 1 && out.length > 0) out[at % out.length] = int(256);
    else if (op === 2) out.splice(at, 0, int(256));
    else out.splice(at, 1);
  }
  return Buffer.from(out);
}

/** Kinds an authenticated fuzz frame may carry: read-only ones (a trusted peer may stop the node, by design). */
const SAFE_KINDS = new Set<number>([
  Msg.Reply,
  Msg.GetNodes,
  Msg.GetClusterResources,
  Msg.KvGet,
  Msg.GetNodeResources,
  Msg.GetStoreStats,
]);
const isSafe = (t: unknown) =>
  typeof t === "number" && (SAFE_KINDS.has(t) || !Object.values(Msg).includes(t as never));

/** The batch a body decodes to with fresh codec state (as on a new connection), or undefined when it does not. */
function decodes(body: Buffer): unknown[] | undefined {
  try {
    const v = new envelope.Unpackr({ useRecords: true, mapsAsObjects: true }).unpack(body);
    return Array.isArray(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

function pack(batch: unknown[]): Buffer {
  return new envelope.Packr({ useRecords: true, moreTypes: false }).pack(batch);
}

function validBatch(): unknown[] {
  const pool = [
    { t: Msg.GetNodes, rid: 1 + int(100) },
    { t: Msg.GetClusterResources, rid: 1 + int(100) },
    { t: Msg.KvGet, rid: 1 + int(100), ns: "fuzz", key: bytes(int(16)).toString("hex") },
    { t: Msg.GetNodeResources, rid: 1 + int(100) },
    { t: 9000 + int(999), rid: 1 + int(100) },
  ];
  return Array.from({ length: 1 + int(4) }, () => pool[int(pool.length)]!);
}

const SENTINEL_RID = 2 ** 31 - 1;

/** Ends a case: the head closes the peer, or `done` holds, within `ms`; then the peer is closed. */
async function settle(peer: RawPeer, ms: number, done: () => boolean = () => false): Promise<void> {
  await pollUntil(() => peer.closed || done(), ms, `seed ${SEED}: the head to answer or drop a fuzz peer`);
  peer.close();
}

/**
 * A peer the head has sent its Challenge to. A flood in the same wave can fill the head's
 * pending-handshake cap (TSRAY_MAX_PENDING_HANDSHAKES), and then the head closes newcomers
 * at once, as it should: like a real client, reconnect (bounded) until one is let in.
 */
async function challenged(address: string): Promise<RawPeer> {
  for (let attempt = 1; ; attempt++) {
    const peer = await RawPeer.connect(address);
    await pollUntil(
      () => peer.closed || peer.messages.some((m) => m.t === Msg.Challenge),
      10_000,
      `seed ${SEED}: the acceptor's Challenge or a close`,
    );
    if (peer.messages.some((m) => m.t === Msg.Challenge)) return peer;
    peer.close();
    if (attempt === 20) throw new Error(`seed ${SEED}: the head shed 20 connections in a row`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

type Case = (address: string, secret: Buffer) => Promise<void>;

const CASES_BY_NAME: Record<string, Case> = {
  async randomBytes(address) {
    const peer = await RawPeer.connect(address);
    peer.sock.write(bytes(1 + int(8192)));
    // Garbage either breaks the framing at once or is a partial frame left to the timeout.
    await settle(peer, HANDSHAKE_MS + 10_000);
  },
  async truncatedHello(address, secret) {
    const peer = await challenged(address);
    const hello = frame(
      pack([
        {
          t: Msg.Hello,
          from: "fuzz",
          address: "",
          v: PROTOCOL_VERSION,
          nonce: randomBytes(32),
          proof: secret.subarray(0, 32),
        },
      ]),
    );
    peer.sock.write(hello.subarray(0, int(hello.length)));
    await settle(peer, HANDSHAKE_MS + 10_000);
  },
  async mutatedHello(address) {
    const peer = await challenged(address);
    const body = pack([
      {
        t: Msg.Hello,
        from: "fuzz",
        address: "",
        v: PROTOCOL_VERSION,
        nonce: randomBytes(32),
        proof: randomBytes(32),
      },
    ]);
    peer.sock.write(int(2) === 0 ? frame(mutate(body)) : mutate(frame(body)));
    await settle(peer, HANDSHAKE_MS + 10_000);
  },
  async mutatedFrameAfterHandshake(address, secret) {
    const peer = await challenged(address);
    const answer = await peer.handshake(secret);
    assert.equal(answer.t, Msg.Welcome, `seed ${SEED}: the fuzzer's own handshake`);
    let body = mutate(pack(validBatch()));
    for (let tries = 0; tries < 20; tries++) {
      const batch = decodes(body);
      if (!batch || batch.every((m) => isSafe((m as { t?: unknown } | null)?.t))) break;
      body = mutate(pack(validBatch()));
    }
    const batch = decodes(body);
    if (batch && !batch.every((m) => isSafe((m as { t?: unknown } | null)?.t))) {
      peer.close();
      return;
    }
    peer.sock.write(frame(body));
    // A sentinel request in its own frame: answered if the mutated frame was a valid batch.
    peer.sock.write(frame(pack([{ t: Msg.GetNodes, rid: SENTINEL_RID }])));
    await settle(peer, 10_000, () => peer.messages.some((m) => m.t === Msg.Reply && m.rid === SENTINEL_RID));
  },
  async truncatedFrameAfterHandshake(address, secret) {
    const peer = await challenged(address);
    assert.equal((await peer.handshake(secret)).t, Msg.Welcome);
    const whole = frame(pack(validBatch()));
    peer.sock.end(whole.subarray(0, 1 + int(whole.length - 1)));
    await settle(peer, 10_000);
  },
  async flood(address) {
    const peers = await Promise.all(
      Array.from({ length: 20 + int(60) }, () => RawPeer.connect(address).catch(() => undefined)),
    );
    for (const p of peers) if (p && int(2) === 0) p.sock.write(bytes(int(64)));
    for (const p of peers) p?.close();
  },
  async slowLoris(address) {
    const peer = await RawPeer.connect(address);
    const hello = frame(
      pack([
        {
          t: Msg.Hello,
          from: "slow",
          address: "",
          v: PROTOCOL_VERSION,
          nonce: randomBytes(32),
          proof: randomBytes(32),
        },
      ]),
    );
    let sent = 0;
    const drip = setInterval(() => {
      if (!peer.closed && sent < hello.length) peer.sock.write(hello.subarray(sent, ++sent));
    }, 40);
    try {
      await settle(peer, HANDSHAKE_MS + 10_000);
    } finally {
      clearInterval(drip);
    }
  },
};
const NAMES = Object.keys(CASES_BY_NAME);

const rssOf = (pid: number) =>
  Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) * 1024;
const fdsOf = (pid: number) => readdirSync(`/proc/${pid}/fd`).length;

async function runCases(n: number, secret: Buffer, counts: Map<string, number>): Promise<number> {
  const started = Date.now();
  let ran = 0;
  while (ran < n && Date.now() - started < BUDGET_MS) {
    // A few at a time: slow cases overlap, and the head sees concurrent abuse.
    const wave = Array.from({ length: Math.min(16, n - ran) }, () => NAMES[int(NAMES.length)]!);
    await Promise.all(
      wave.map((name) => {
        counts.set(name, (counts.get(name) ?? 0) + 1);
        return CASES_BY_NAME[name]!(cluster.info.address, secret);
      }),
    );
    ran += wave.length;
  }
  return ran;
}

describe("wire fuzzer", () => {
  test("the head survives random, truncated, mutated, flooding and slow peers with flat memory and no fd leak", async () => {
    const pid = cluster.info.headPid!;
    const secretFile = join(cluster.info.sessionDir, "secret");
    const secret = parseToken(readFileSync(secretFile, "utf8"), secretFile);
    assert.equal(await ray.get(square.remote(3)), 9);
    const counts = new Map<string, number>();
    // Warm-up: one-time allocations (code, crypto, buffers) are not growth.
    await runCases(Math.min(24, CASES), secret, counts);
    const fds0 = fdsOf(pid);
    const rss0 = rssOf(pid);
    const ran = await runCases(CASES, secret, counts);
    console.log(
      `seed ${SEED}: ran ${ran} cases after warm-up: ${JSON.stringify(Object.fromEntries(counts))}`,
    );
    assert.ok(ran >= Math.min(CASES, 40), `seed ${SEED}: only ${ran} cases ran within ${BUDGET_MS} ms`);

    assert.equal(
      await ray.get(square.remote(7), { timeout: 60_000 }),
      49,
      `seed ${SEED}: a real task after fuzzing`,
    );
    const fds = await pollUntil(
      () => (fdsOf(pid) <= fds0 ? fdsOf(pid) : 0),
      15_000,
      `seed ${SEED}: the head's fds to return to ${fds0} (now ${fdsOf(pid)})`,
    );
    assert.ok(fds <= fds0);
    const growth = rssOf(pid) - rss0;
    console.log(
      `seed ${SEED}: head rss ${(rss0 / 2 ** 20).toFixed(1)} -> ${(rssOf(pid) / 2 ** 20).toFixed(1)} MiB, fds ${fds0} -> ${fds}`,
    );
    // Runaway growth is the failure (the old transport buffered a 4 GiB frame header's
    // worth). Plain node's own RSS drifts by a few KB per connection churned (measured:
    // heap flat after GC), hence a base plus a little per case.
    const bound = (32 << 20) + ran * 80 * 1024;
    assert.ok(
      growth < bound,
      `seed ${SEED}: head RSS grew by ${(growth / 2 ** 20).toFixed(1)} MiB over ${ran} cases (bound ${(bound / 2 ** 20).toFixed(0)} MiB)`,
    );
  });
});
