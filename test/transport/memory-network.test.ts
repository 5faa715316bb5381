// The in-memory network under a FakeClock: Connections over it keep order and
// batching, answer requests, fail pending requests on a cut, lose frames across a
// partition or by a drop predicate, deliver after a delay, and reorder only across
// links (seeded); real Endpoints run the real handshake over it (wrong secret,
// handshake timeout in fake time).
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { afterEach, describe, test } from "node:test";
import { AuthenticationError, RuntimeUnavailableError } from "../../src/errors/index.js";
import { type Message, Msg } from "../../src/protocol/index.js";
import {
  Connection,
  Endpoint,
  type Link,
  MemoryNetwork,
  type MessageHandler,
} from "../../src/transport/index.js";
import { FakeClock } from "../../src/util/clock.js";
import { errorCodec, testSecret } from "./helpers.js";

const endpoints: Endpoint[] = [];
afterEach(() => {
  for (const e of endpoints.splice(0)) e.close();
});

function note(i: number): Message {
  return { t: Msg.Unpin, ids: [String(i)] };
}

function num(m: Message): number {
  return Number(m.t === Msg.GetObject ? m.id : (m as { ids: string[] }).ids[0]);
}

interface Pair {
  clock: FakeClock;
  net: MemoryNetwork;
  a: Connection;
  b: Connection;
  seenByB: Message[];
}

/** Host "a" dials host "b" over a fresh network; "b" records what it gets and answers GetObject. */
async function pair(seed = 1, net?: MemoryNetwork, clock = new FakeClock()): Promise<Pair> {
  const network = net ?? new MemoryNetwork({ clock, seed });
  const seenByB: Message[] = [];
  const handler: MessageHandler = (msg) => {
    seenByB.push(msg);
    return msg.t === Msg.GetObject ? { echo: msg.id } : undefined;
  };
  let b: Connection | undefined;
  const addr = `mem://b-${Math.random()}`;
  await network.host("b").listen(addr, (link: Link) => {
    b = new Connection(link, handler, errorCodec, undefined, clock);
  });
  const link = await clock.until(network.host("a").dial(addr), 1000);
  const a = new Connection(link, () => undefined, errorCodec, undefined, clock);
  assert.ok(b, "the listener accepted the link");
  return { clock, net: network, a, b, seenByB };
}

describe("MemoryNetwork links", () => {
  test("a synchronous run of sends crosses as one frame, in order; requests get replies", async () => {
    const { clock, net, a, seenByB } = await pair();
    for (let i = 0; i < 200; i++) a.send(note(i));
    await clock.advance(0);
    assert.deepEqual(seenByB.map(num), [...Array(200).keys()]);
    assert.equal(net.stats.delivered, 1, "one frame for the whole run");
    const reply = await clock.until(a.request({ t: Msg.GetObject, id: "x" }), 1000);
    assert.deepEqual(reply, { echo: "x" });
  });

  test("cut fails pending requests like a real close, on both ends, and later requests too", async () => {
    const { clock, net, a, b } = await pair();
    const pending = a.request({ t: Msg.GetObject, id: "lost" });
    const bClosed = new Promise<Error>((resolve) => b.onClose(resolve));
    assert.equal(net.cut("a", "b"), 1);
    const err = await clock.until(
      pending.then(
        () => assert.fail("resolved"),
        (e: unknown) => e,
      ),
      1000,
    );
    assert.ok(err instanceof RuntimeUnavailableError, String(err));
    assert.match(err.message, /closed/);
    assert.ok((await clock.until(bClosed, 1000)) instanceof RuntimeUnavailableError);
    await assert.rejects(a.request({ t: Msg.GetObject, id: "late" }), RuntimeUnavailableError);
    assert.equal(net.openLinks, 0);
  });

  test("end delivers what was written before the close; the peer then sees the close", async () => {
    const { clock, net, a, b, seenByB } = await pair();
    const closed = new Promise<Error>((resolve) => b.onClose(resolve));
    a.send(note(7));
    a.end();
    await clock.until(closed, 1000);
    assert.deepEqual(seenByB.map(num), [7]);
    assert.equal(a.isClosed, true);
    assert.equal(net.openLinks, 0);
  });

  test("a partition stalls frames both ways and refuses dials; heal delivers them in order", async () => {
    const { clock, net, a, seenByB } = await pair();
    net.partition("b", "a");
    a.send(note(1));
    const pending = a.request({ t: Msg.GetObject, id: "stalled" });
    await clock.advance(10_000);
    assert.deepEqual(seenByB, []);
    assert.equal(net.stats.lost, 0);
    await assert.rejects(
      clock.until(net.host("a").dial("mem://nowhere"), 100),
      /ECONNREFUSED mem:\/\/nowhere/,
    );
    await net.host("b").listen("mem://b2", () => undefined);
    await assert.rejects(clock.until(net.host("a").dial("mem://b2"), 100), /a and b are partitioned/);
    net.heal("a", "b");
    a.send(note(2));
    await clock.advance(0);
    const seen = (seenByB as Message[]).map((m) => (m.t === Msg.GetObject ? m.id : num(m)));
    assert.deepEqual(seen, [1, "stalled", 2], "what waited arrives first, in order, then the rest");
    assert.deepEqual(await clock.until(pending, 1000), { echo: "stalled" });
    a.destroy();
  });

  test("drop loses the frames its predicate picks, by decoded message kind", async () => {
    const { clock, net, a, seenByB } = await pair();
    net.drop((f) => f.from === "a" && f.messages().some((m) => (m as Message).t === Msg.Unpin));
    a.send(note(1));
    await clock.advance(0);
    const reply = await clock.until(a.request({ t: Msg.GetObject, id: "kept" }), 1000);
    assert.deepEqual(reply, { echo: "kept" });
    assert.deepEqual(
      seenByB.map((m) => m.t),
      [Msg.GetObject],
      "the Unpin was lost",
    );
    net.drop(undefined);
    a.send(note(3));
    await clock.advance(0);
    assert.deepEqual(seenByB.map(num).slice(-1), [3]);
  });

  test("delay holds every frame for its time on the fake clock", async () => {
    const { clock, net, a, seenByB } = await pair();
    net.delay(50);
    a.send(note(1));
    await clock.advance(49);
    assert.deepEqual(seenByB, [], "not before 50 ms");
    await clock.advance(1);
    assert.deepEqual(seenByB.map(num), [1]);
    assert.throws(() => net.delay(-1), /ms and jitterMs must be >= 0, got -1 and 0/);
  });

  test("with jitter, links keep their own order, are reordered among each other, and the seed fixes the order", async () => {
    const seed = Number(process.env.TEST_SEED ?? Date.now() % 100_000);
    console.log(`memory network jitter seed: ${seed} (TEST_SEED=${seed} to replay)`);
    const run = async (): Promise<string[]> => {
      const clock = new FakeClock();
      const net = new MemoryNetwork({ clock, seed });
      const got: string[] = [];
      const links: Connection[] = [];
      await net.host("sink").listen("mem://sink", (link) => {
        new Connection(
          link,
          (m) => void got.push((m as { ids: string[] }).ids[0]!),
          errorCodec,
          undefined,
          clock,
        );
      });
      for (let l = 0; l < 4; l++) {
        const link = await clock.until(net.host(`src${l}`).dial("mem://sink"), 1000);
        links.push(new Connection(link, () => undefined, errorCodec, undefined, clock));
      }
      net.delay(5, 20);
      for (let i = 0; i < 10; i++) {
        for (let l = 0; l < 4; l++) links[l]!.send({ t: Msg.Unpin, ids: [`${l}:${i}`] });
        await clock.advance(1);
      }
      await clock.advance(100);
      return got;
    };
    const first = await run();
    assert.equal(first.length, 40);
    for (let l = 0; l < 4; l++) {
      const mine = first.filter((s) => s.startsWith(`${l}:`)).map((s) => Number(s.split(":")[1]));
      assert.deepEqual(mine, [...Array(10).keys()], `link ${l} kept its order`);
    }
    const sendOrder = [...Array(10).keys()].flatMap((i) => [0, 1, 2, 3].map((l) => `${l}:${i}`));
    assert.notDeepEqual(first, sendOrder, "jitter reordered frames across links");
    assert.deepEqual(await run(), first, "the same seed gives the same order");
  });
});

describe("Endpoint over the MemoryNetwork", () => {
  function endpoint(
    net: MemoryNetwork,
    clock: FakeClock,
    id: string,
    secret: Uint8Array = testSecret,
  ): Endpoint {
    const ep = new Endpoint(
      id,
      (msg, conn) => (msg.t === Msg.GetObject ? { from: id, peer: conn.peerId, id: msg.id } : undefined),
      errorCodec,
      secret,
      { network: net.host(id), clock },
    );
    endpoints.push(ep);
    return ep;
  }

  test("two endpoints handshake, talk both ways over one connection, and redial after a cut", async () => {
    const clock = new FakeClock();
    const net = new MemoryNetwork({ clock });
    const head = endpoint(net, clock, "head");
    const worker = endpoint(net, clock, "worker");
    await head.listen("mem://head");
    await worker.listen("mem://worker");
    const peers: string[] = [];
    head.onPeer = (c) => peers.push(c.peerId);
    const conn = await clock.until(worker.connect("mem://head"), 10_000);
    assert.deepEqual(await clock.until(conn.request({ t: Msg.GetObject, id: "1" }), 1000), {
      from: "head",
      peer: "worker",
      id: "1",
    });
    assert.deepEqual(peers, ["worker"]);
    const back = await clock.until(head.connect("mem://worker"), 1000);
    assert.equal(net.openLinks, 2, "the head reached the worker over the worker's connection");
    const answer = await clock.until(back.request({ t: Msg.GetObject, id: "2" }), 1000);
    assert.deepEqual(
      answer,
      { from: "worker", peer: "", id: "2" },
      "a dialer learns no peer id (as on sockets)",
    );
    net.cut("worker");
    await clock.advance(0);
    assert.equal(conn.isClosed, true);
    const again = await clock.until(worker.connect("mem://head"), 10_000);
    assert.notEqual(again, conn, "a new connection after the cut");
    assert.deepEqual(await clock.until(again.request({ t: Msg.GetObject, id: "3" }), 1000), {
      from: "head",
      peer: "worker",
      id: "3",
    });
  });

  test("a dialer with the wrong secret is refused with AuthenticationError", async () => {
    const clock = new FakeClock();
    const net = new MemoryNetwork({ clock });
    const head = endpoint(net, clock, "head");
    await head.listen("mem://head");
    const intruder = endpoint(net, clock, "intruder", randomBytes(32));
    const err = await clock.until(
      intruder.connect("mem://head").then(
        () => assert.fail("connected"),
        (e: unknown) => e,
      ),
      10_000,
    );
    assert.ok(err instanceof AuthenticationError, String(err));
    assert.match(err.message, /refused the connection: the peer did not prove the session secret/);
  });

  test("an acceptor that never challenges fails the dial after the handshake timeout, in fake time", async () => {
    const clock = new FakeClock();
    const net = new MemoryNetwork({ clock });
    const mute: Link[] = [];
    await net.host("mute").listen("mem://mute", (link) => mute.push(link));
    const dialer = endpoint(net, clock, "dialer");
    const started = clock.now();
    const err = await clock.until(
      dialer.connect("mem://mute").then(
        () => assert.fail("connected"),
        (e: unknown) => e,
      ),
      60_000,
    );
    assert.ok(err instanceof RuntimeUnavailableError, String(err));
    assert.match(err.message, /no handshake from mem:\/\/mute within 5000 ms \(TSRAY_HANDSHAKE_TIMEOUT_MS\)/);
    assert.equal(clock.now() - started, 5000, "timed by the injected clock");
    assert.equal(mute.length, 1);
  });
});
