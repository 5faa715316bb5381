// The authentication handshake between real Endpoints over Unix sockets, and raw
// peers that get it wrong: a wrong secret, an impostor acceptor, another protocol
// version, garbage, oversized headers, silent and slow peers, floods of them. Every
// one is dropped, and the endpoint keeps serving a real peer.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { after, afterEach, describe, test } from "node:test";
import { resetConfigForTests } from "../../src/config/index.js";
import {
  AuthenticationError,
  ProtocolError,
  ProtocolVersionError,
  RuntimeUnavailableError,
} from "../../src/errors/index.js";
import { Msg, PROTOCOL_VERSION } from "../../src/protocol/index.js";
import { Connection, Endpoint, SocketLink } from "../../src/transport/index.js";
import { pollUntil, within } from "../helpers/processes.js";
import { removeTempDirs, tempDir } from "../helpers/temp.js";
import { batchFrame, errorCodec, testSecret } from "./helpers.js";
import { RawPeer } from "./raw-peer.js";

// Short enough that the timeout tests are quick, long enough for a loaded machine.
const HANDSHAKE_MS = 1500;
process.env.TSRAY_HANDSHAKE_TIMEOUT_MS = String(HANDSHAKE_MS);
process.env.TSRAY_MAX_PENDING_HANDSHAKES = "4";
resetConfigForTests();

const endpoints: Endpoint[] = [];
const servers: Server[] = [];
afterEach(() => {
  for (const e of endpoints.splice(0)) e.close();
  for (const s of servers.splice(0)) s.close();
  RawPeer.closeAll();
});
after(removeTempDirs);

/** An endpoint with `secret` that answers GetObject with `{ from: id, id }`; `seen` records every kind it handles. */
async function endpoint(id: string, secret: Uint8Array = testSecret, seen: number[] = []): Promise<Endpoint> {
  const ep = new Endpoint(
    id,
    (msg) => {
      seen.push(msg.t);
      return msg.t === Msg.GetObject ? { from: id, id: msg.id } : undefined;
    },
    errorCodec,
    secret,
  );
  endpoints.push(ep);
  await ep.listen(join(tempDir("handshake"), `${id}.sock`));
  return ep;
}

/** A real peer still gets served by `server`. */
async function stillServes(server: Endpoint): Promise<void> {
  const good = await endpoint(`good-${randomBytes(3).toString("hex")}`);
  const conn = await within(good.connect(server.listenAddress), 10_000, "a real peer's connect");
  assert.deepEqual(await conn.request({ t: Msg.GetObject, id: "ok" }), { from: server.selfId, id: "ok" });
}

/** A raw acceptor: sends `challenge` to whoever connects, then `answer(hello)` if given. */
async function fakeAcceptor(
  challenge: Record<string, unknown>,
  answer?: (hello: Record<string, unknown>) => Record<string, unknown>,
): Promise<string> {
  const path = join(tempDir("handshake"), "fake.sock");
  const server = createServer((sock) => {
    sock.on("error", () => undefined);
    sock.write(batchFrame([challenge]));
    const conn = new Connection(new SocketLink(sock), () => undefined, errorCodec);
    conn.guard((hello) => {
      if (answer) sock.write(batchFrame([answer(hello as unknown as Record<string, unknown>)]));
    }, 65536);
  });
  servers.push(server);
  server.listen(path);
  await within(once(server, "listening"), 10_000, "the fake acceptor to listen");
  return path;
}

describe("handshake", () => {
  test("a dialer with the wrong secret is refused with AuthenticationError; the acceptor saw nothing", async () => {
    const seen: number[] = [];
    const server = await endpoint("server", testSecret, seen);
    const intruder = await endpoint("intruder", randomBytes(32));
    await assert.rejects(intruder.connect(server.listenAddress), (err: unknown) => {
      assert.ok(err instanceof AuthenticationError, String(err));
      assert.match(
        err.message,
        /refused the connection: the peer did not prove the session secret \(wrong token\)/,
      );
      return true;
    });
    assert.deepEqual(seen, []);
    await stillServes(server);
  });

  test("a raw peer with the wrong secret is refused, and what it sent after its Hello is not processed", async () => {
    const seen: number[] = [];
    const server = await endpoint("server", testSecret, seen);
    const peer = await RawPeer.connect(server.listenAddress);
    const answer = await peer.handshake(testSecret, { secret: randomBytes(32) });
    peer.send([{ t: Msg.ShutdownNode, rid: 1 }]);
    assert.equal(answer.t, Msg.Refused);
    assert.equal(answer.code, "AUTHENTICATION_FAILED");
    await peer.waitClosed(10_000, "the acceptor to close");
    assert.deepEqual(seen, []);
    assert.equal(peer.messages.filter((m) => m.t === Msg.Reply).length, 0);
  });

  test("the dialer refuses an acceptor that cannot prove the secret (mutual authentication)", async () => {
    const path = await fakeAcceptor(
      { t: Msg.Challenge, v: PROTOCOL_VERSION, nonce: randomBytes(32) },
      () => ({
        t: Msg.Welcome,
        proof: randomBytes(32),
      }),
    );
    const client = await endpoint("client");
    await assert.rejects(client.connect(path), (err: unknown) => {
      assert.ok(err instanceof AuthenticationError, String(err));
      assert.match(err.message, /did not prove the session secret: it is not this session's node/);
      return true;
    });
  });

  test("a version mismatch is refused naming both versions, on either side", async () => {
    const server = await endpoint("server");
    const peer = await RawPeer.connect(server.listenAddress);
    const answer = await peer.handshake(testSecret, { v: 1 });
    assert.equal(answer.t, Msg.Refused);
    assert.equal(answer.code, "PROTOCOL_VERSION_MISMATCH");
    assert.match(
      String(answer.message),
      new RegExp(`peer speaks version 1, this node speaks version ${PROTOCOL_VERSION}`),
    );

    const future = PROTOCOL_VERSION + 1;
    const path = await fakeAcceptor({ t: Msg.Challenge, v: future, nonce: randomBytes(32) });
    const client = await endpoint("client");
    await assert.rejects(client.connect(path), (err: unknown) => {
      assert.ok(err instanceof ProtocolVersionError, String(err));
      assert.match(
        err.message,
        new RegExp(
          `this process speaks version ${PROTOCOL_VERSION}, the node at .* speaks version ${future}`,
        ),
      );
      return true;
    });
    await stillServes(server);
  });

  test("after the handshake an unknown kind is answered with an error naming it; its notification is dropped", async () => {
    const server = await endpoint("server");
    const peer = await RawPeer.connect(server.listenAddress);
    assert.equal((await peer.handshake(testSecret)).t, Msg.Welcome);
    peer.send([{ t: 9999 }, { t: 9999, rid: 1 }, { t: Msg.GetObject, rid: 2, id: "x" }]);
    const reply = await peer.next((m) => m.t === Msg.Reply && m.rid === 1, 10_000, "the reply to kind 9999");
    assert.equal(reply.body, undefined, "no empty success");
    const err = errorCodec.decode(reply.err as Uint8Array);
    assert.ok(err instanceof ProtocolError, String(err));
    assert.match(err.message, /unknown message kind 9999/);
    const ok = await peer.next((m) => m.t === Msg.Reply && m.rid === 2, 10_000, "the reply to GetObject");
    assert.deepEqual(ok.body, { from: "server", id: "x" });
    assert.equal(peer.closed, false);
  });

  test("a peer that sends nothing, or trickles its Hello, is dropped at the handshake timeout", async () => {
    const server = await endpoint("server");
    const silent = await RawPeer.connect(server.listenAddress);
    const slow = await RawPeer.connect(server.listenAddress);
    await slow.next((m) => m.t === Msg.Challenge, 10_000, "the Challenge");
    const hello = batchFrame([{ t: Msg.Hello, from: "slow", address: "", v: PROTOCOL_VERSION }]);
    let sent = 0;
    const drip = setInterval(() => {
      if (sent < hello.length && !slow.closed) slow.sock.write(hello.subarray(sent, ++sent));
    }, 50);
    try {
      const started = Date.now();
      await silent.waitClosed(HANDSHAKE_MS + 10_000, "the silent peer to be dropped");
      await slow.waitClosed(HANDSHAKE_MS + 10_000, "the slow peer to be dropped");
      assert.ok(Date.now() - started >= HANDSHAKE_MS - 200, "dropped by the timeout, not before");
      assert.ok(sent < hello.length, "the slow peer was dropped before its Hello was complete");
    } finally {
      clearInterval(drip);
    }
    await stillServes(server);
  });

  for (const [what, bytes] of [
    ["a frame header of 0xFFFFFFF0", Buffer.from([0xf0, 0xff, 0xff, 0xff])],
    ["an HTTP request", Buffer.from("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")],
    ["a 70 KiB frame", Buffer.concat([Buffer.from([0, 0x18, 1, 0]), Buffer.alloc(100)])],
  ] as const) {
    test(`${what} before the handshake is dropped at once, long before the timeout`, async () => {
      const server = await endpoint("server");
      const peer = await RawPeer.connect(server.listenAddress);
      const started = Date.now();
      peer.sock.write(bytes);
      await peer.waitClosed(10_000, "the acceptor to drop the peer");
      const ms = Date.now() - started;
      assert.ok(ms < HANDSHAKE_MS, `dropped after ${ms} ms, before the ${HANDSHAKE_MS} ms handshake timeout`);
      await stillServes(server);
    });
  }

  test("every dropped peer is logged once, with its reason", async () => {
    const server = await endpoint("logged");
    const lines: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
      if (String(chunk).includes("logged: dropped unauthenticated connection")) lines.push(String(chunk));
      return write(chunk, ...rest);
    }) as typeof process.stderr.write;
    try {
      const peers = await Promise.all([1, 2, 3].map(() => RawPeer.connect(server.listenAddress)));
      // Many bad frames each: still one line per peer.
      for (const p of peers) for (let i = 0; i < 20; i++) p.sock.write(Buffer.from([0xf0, 0xff, 0xff, 0xff]));
      for (const p of peers) await p.waitClosed(10_000, "the acceptor to drop the peer");
      await pollUntil(() => lines.length >= 3, 10_000, "three log lines");
      await stillServes(server);
    } finally {
      process.stderr.write = write;
    }
    assert.equal(lines.length, 3, lines.join(""));
    const numbers = lines.map((l) => /connection #(\d+)/.exec(l)![1]);
    assert.equal(new Set(numbers).size, 3, "one line per connection");
    for (const l of lines) assert.match(l, /frame of 4294967280 bytes exceeds the limit of 65536 bytes/);
  });

  test("connections beyond TSRAY_MAX_PENDING_HANDSHAKES are closed at once; the limit frees up", async () => {
    const server = await endpoint("server");
    const held = await Promise.all([1, 2, 3, 4].map(() => RawPeer.connect(server.listenAddress)));
    for (const p of held) await p.next((m) => m.t === Msg.Challenge, 10_000, "a Challenge");
    const extra = await RawPeer.connect(server.listenAddress);
    await extra.waitClosed(10_000, "the fifth connection to be closed");
    assert.equal(extra.messages.length, 0, "the fifth got no Challenge");
    for (const p of held) p.close();
    // The acceptor sees those closes asynchronously: probe until a newcomer is challenged again.
    await pollUntil(
      async () => {
        const probe = await RawPeer.connect(server.listenAddress);
        await pollUntil(() => probe.closed || probe.messages.length > 0, 10_000, "the probe's fate");
        probe.close();
        return probe.messages.some((m) => m.t === Msg.Challenge);
      },
      10_000,
      "a newcomer to be challenged again",
    );
    await stillServes(server);
  });

  test("a dialer whose acceptor never challenges fails with RuntimeUnavailableError after the timeout", async () => {
    const path = join(tempDir("handshake"), "mute.sock");
    const mute = createServer((sock) => sock.on("error", () => undefined));
    servers.push(mute);
    mute.listen(path);
    await within(once(mute, "listening"), 10_000, "the mute acceptor to listen");
    const client = await endpoint("client");
    await assert.rejects(client.connect(path), (err: unknown) => {
      assert.ok(err instanceof RuntimeUnavailableError, String(err));
      assert.match(err.message, /no handshake from .* within 1500 ms/);
      return true;
    });
    mute.close();
  });
});
