// Connection over real Unix sockets: batching into one write, ordering, failure of
// pending and later requests on close, error replies that keep their class and
// code, and bad frames that close the connection with the protocol error.
import assert from "node:assert/strict";
import { once } from "node:events";
import type { Socket } from "node:net";
import { after, afterEach, describe, test } from "node:test";
import {
  ObjectStoreFullError,
  ProtocolError,
  RayError,
  RuntimeUnavailableError,
} from "../../src/errors/index.js";
import { type Message, Msg } from "../../src/protocol/index.js";
import { Connection, type MessageHandler, SocketLink } from "../../src/transport/index.js";
import { pollUntil, within } from "../helpers/processes.js";
import { removeTempDirs } from "../helpers/temp.js";
import {
  batchFrame,
  countWrites,
  destroyAll,
  envelope,
  errorCodec,
  frame,
  recordFrames,
  socketPair,
} from "./helpers.js";

afterEach(destroyAll);
after(removeTempDirs);

/** A notification the tests send: Unpin carries an id list and needs no reply. */
function note(i: number): Message {
  return { t: Msg.Unpin, ids: [String(i)] };
}

/** The number a test message carries (Unpin's id, or GetObject's id). */
function num(msg: unknown): number {
  const m = msg as Message;
  return Number(m.t === Msg.GetObject ? m.id : (m as { ids: string[] }).ids[0]);
}

interface Side {
  conn: Connection;
  socket: Socket;
  /** Every message this side's handler received, in order. */
  seen: Message[];
}

/** Two Connections over one Unix socket; each records what it receives and answers with `handler`. */
async function connected(
  handler: MessageHandler = () => undefined,
  maxFrameBytes?: number,
): Promise<[Side, Side]> {
  const pair = await socketPair();
  const side = (socket: Socket): Side => {
    const seen: Message[] = [];
    const conn = new Connection(
      new SocketLink(socket),
      (msg, c) => {
        seen.push(msg);
        return handler(msg, c);
      },
      errorCodec,
      maxFrameBytes,
    );
    return { conn, socket, seen };
  };
  return [side(pair.a), side(pair.b)];
}

const never = new Promise<never>(() => undefined);

describe("Connection batching and order", () => {
  test("many sends in one synchronous run leave in one write, as one frame, in order", async () => {
    const pair = await socketPair();
    const writes = countWrites(pair.a);
    const frames = recordFrames(pair.b);
    const conn = new Connection(new SocketLink(pair.a), () => undefined, errorCodec);
    for (let i = 0; i < 200; i++) conn.send(note(i));
    assert.equal(writes.count, 0, "nothing is written before the run of sends ends");
    await pollUntil(() => frames.flat().length === 200, 10_000, "200 messages at the peer");
    assert.equal(writes.count, 1, "one write for the whole run");
    assert.equal(frames.length, 1, "one frame for the whole run");
    assert.deepEqual(frames[0]!.map(num), [...Array(200).keys()]);
  });

  test("a long synchronous run is flushed every 256 messages, in order", async () => {
    const pair = await socketPair();
    const writes = countWrites(pair.a);
    const frames = recordFrames(pair.b);
    const conn = new Connection(new SocketLink(pair.a), () => undefined, errorCodec);
    for (let i = 0; i < 1000; i++) conn.send(note(i));
    assert.ok(writes.count >= 1, "the first 256 leave before the run ends");
    await pollUntil(() => frames.flat().length === 1000, 10_000, "1000 messages at the peer");
    // 256 + 256 + 256 + 232; writes queued behind a busy socket may merge, never split.
    assert.ok(writes.count >= 2 && writes.count <= 4, `${writes.count} writes`);
    assert.ok(frames.length >= 2 && frames.length <= 4, `${frames.length} frames`);
    assert.deepEqual(frames.flat().map(num), [...Array(1000).keys()]);
  });

  test("messages and replies arrive in send order, both ways at once", async () => {
    const [a, b] = await connected((msg) => (msg.t === Msg.GetObject ? { echo: msg.id } : undefined));
    const replies: Array<Promise<unknown>> = [];
    for (let i = 0; i < 300; i++) {
      if (i % 3 === 0) replies.push(a.conn.request({ t: Msg.GetObject, id: String(i) }));
      else a.conn.send(note(i));
      if (i % 2 === 0) b.conn.send(note(i / 2));
    }
    const bodies = await within(Promise.all(replies), 10_000, "100 requests");
    assert.deepEqual(
      bodies,
      replies.map((_, k) => ({ echo: String(k * 3) })),
    );
    assert.deepEqual(b.seen.map(num), [...Array(300).keys()]);
    await pollUntil(() => a.seen.length === 150, 10_000, "150 messages at a");
    assert.deepEqual(a.seen.map(num), [...Array(150).keys()]);
  });
});

describe("Connection bulk replies", () => {
  test("a large { d } reply is written from where its bytes lie and arrives intact, in order with the others", async () => {
    const big = new Uint8Array(3 << 20);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7 + 3) & 0xff;
    // Replies to GetObject "b<k>" are bulk (a view into `big`), others small.
    const [a] = await connected((msg) => {
      if (msg.t !== Msg.GetObject) return undefined;
      const k = Number(msg.id.slice(1));
      return msg.id.startsWith("b") ? { d: big.subarray(k, k + (1 << 20)) } : { d: new Uint8Array([k]) };
    });
    const asks: Array<Promise<unknown>> = [];
    for (let k = 0; k < 6; k++)
      asks.push(a.conn.request({ t: Msg.GetObject, id: `${k % 2 ? "b" : "s"}${k}` }));
    const got = (await within(Promise.all(asks), 10_000, "6 replies")) as Array<{ d: Uint8Array }>;
    for (let k = 0; k < 6; k++) {
      const d = got[k]!.d;
      if (k % 2)
        assert.deepEqual(Buffer.from(d), Buffer.from(big.subarray(k, k + (1 << 20))), `bulk reply ${k}`);
      else assert.deepEqual([...d], [k]);
    }
  });
});

describe("Connection bulk replies into a sink", () => {
  test("a request's sink receives a bulk reply's bytes as they arrive; a sink of the wrong size is left alone", async () => {
    const big = new Uint8Array(5 << 20);
    for (let i = 0; i < big.length; i++) big[i] = (i * 13 + 1) & 0xff;
    const [a] = await connected((msg) =>
      msg.t === Msg.GetObject ? { d: big.subarray(0, Number(msg.id)) } : undefined,
    );
    const sink = new Uint8Array(big.length);
    const small = a.conn.request({ t: Msg.GetObject, id: "3" });
    const r = (await within(
      a.conn.request({ t: Msg.GetObject, id: String(big.length) }, { sink }),
      10_000,
      "the bulk reply",
    )) as { d: Uint8Array };
    assert.equal(r.d, sink, "the reply's bytes are the sink itself");
    assert.equal(Buffer.compare(Buffer.from(sink), Buffer.from(big)), 0);
    assert.deepEqual([...((await small) as { d: Uint8Array }).d], [1, 14, 27]);
    const wrong = new Uint8Array(10);
    const r2 = (await a.conn.request({ t: Msg.GetObject, id: String(1 << 20) }, { sink: wrong })) as {
      d: Uint8Array;
    };
    assert.notEqual(r2.d, wrong);
    assert.equal(Buffer.compare(Buffer.from(r2.d), Buffer.from(big.subarray(0, 1 << 20))), 0);
  });
});

describe("Connection close", () => {
  test("pending requests reject with the close reason when the peer closes; onClose runs once", async () => {
    const [a, b] = await connected(() => never);
    const closes: Error[] = [];
    a.conn.onClose((err) => closes.push(err));
    const pending = [1, 2, 3].map((i) => a.conn.request({ t: Msg.GetObject, id: String(i) }));
    const outcomes = Promise.allSettled(pending);
    await pollUntil(() => b.seen.length === 3, 10_000, "3 requests at the peer");
    b.conn.destroy();
    const settled = await within(outcomes, 10_000, "pending requests to settle");
    assert.equal(closes.length, 1);
    const reason = closes[0]!;
    assert.ok(reason instanceof RuntimeUnavailableError, String(reason));
    assert.equal(reason.code, "RUNTIME_UNAVAILABLE");
    assert.match(reason.message, /connection to .* closed/);
    for (const s of settled) {
      assert.equal(s.status, "rejected");
      assert.equal((s as PromiseRejectedResult).reason, reason, "rejected with the close reason itself");
    }
    assert.equal(a.conn.isClosed, true);
  });

  test("a socket error (the peer died: EPIPE, ECONNRESET) rejects pending requests with RuntimeUnavailableError, the errno error as cause", async () => {
    const [a, b] = await connected(() => never);
    const closes: Error[] = [];
    a.conn.onClose((err) => closes.push(err));
    const pending = a.conn.request({ t: Msg.GetObject, id: "1" });
    const outcome = pending.then(
      () => undefined,
      (err: unknown) => err,
    );
    await pollUntil(() => b.seen.length === 1, 10_000, "the request at the peer");
    const epipe = Object.assign(new Error("write EPIPE"), { code: "EPIPE", errno: -32, syscall: "write" });
    a.socket.destroy(epipe);
    const err = await within(outcome, 10_000, "the pending request to settle");
    // A raw errno error here crashed workers that test for RuntimeUnavailableError (peer gone).
    assert.ok(err instanceof RuntimeUnavailableError, `rejected with ${String(err)}`);
    assert.match(err.message, /connection to .* failed: write EPIPE/);
    assert.equal(err.cause, epipe);
    assert.deepEqual(closes, [err]);
    await assert.rejects(a.conn.request({ t: Msg.GetObject, id: "2" }), (later: unknown) => later === err);
  });

  test("requests after close reject with the close reason; sends are dropped; late onClose runs at once", async () => {
    const [a, b] = await connected();
    const reason = new RuntimeUnavailableError("test closed it");
    a.conn.destroy(reason);
    assert.equal(a.conn.isClosed, true);
    await assert.rejects(a.conn.request({ t: Msg.GetObject, id: "late" }), (err) => err === reason);
    assert.doesNotThrow(() => a.conn.send(note(1)));
    let late: Error | undefined;
    a.conn.onClose((err) => {
      late = err;
    });
    assert.equal(late, reason);
    await within(once(b.socket, "close"), 10_000, "the peer to see the close");
    assert.equal(b.conn.isClosed, true);
    assert.deepEqual(b.seen, [], "nothing sent after close reached the peer");
  });

  test("destroy flushes what was queued before it", async () => {
    const [a, b] = await connected();
    for (let i = 0; i < 5; i++) a.conn.send(note(i));
    a.conn.destroy();
    await pollUntil(() => b.conn.isClosed, 10_000, "the peer to see the close");
    assert.deepEqual(b.seen.map(num), [0, 1, 2, 3, 4]);
  });
});

describe("Connection handler errors", () => {
  const handler: MessageHandler = (msg) => {
    if (msg.t !== Msg.GetObject) throw new Error(`notification handler threw for ${msg.t}`);
    switch (msg.id) {
      case "sync":
        throw new ObjectStoreFullError("store full: wanted 10 bytes, 5 free");
      case "async":
        return Promise.reject(new ObjectStoreFullError("store full later"));
      case "type":
        throw new TypeError("not a number");
      case "string":
        throw "a thrown string";
      default:
        return { ok: msg.id };
    }
  };

  test("a handler that throws or rejects produces an error reply; the typed error keeps its class and code", async () => {
    const [a] = await connected(handler);
    const ask = (id: string) => a.conn.request({ t: Msg.GetObject, id });
    for (const id of ["sync", "async"]) {
      await assert.rejects(ask(id), (err: unknown) => {
        assert.ok(err instanceof ObjectStoreFullError, `${id}: ${String(err)}`);
        assert.ok(err instanceof RayError);
        assert.equal(err.code, "OBJECT_STORE_FULL");
        assert.match(err.message, /store full/);
        return true;
      });
    }
    await assert.rejects(ask("type"), { name: "TypeError", message: "not a number" });
    await assert.rejects(ask("string"), { message: "a thrown string" });
    assert.deepEqual(await ask("fine"), { ok: "fine" }, "the connection serves on after handler errors");
    assert.equal(a.conn.isClosed, false);
  });

  test("a notification handler that throws emits a warning and keeps the connection", async () => {
    const [a] = await connected(handler);
    const warned = once(process, "warning") as Promise<[Error]>;
    a.conn.send(note(7));
    const [warning] = await within(warned, 10_000, "the warning");
    assert.match(warning.message, new RegExp(`handler for message ${Msg.Unpin} threw`));
    assert.deepEqual(await a.conn.request({ t: Msg.GetObject, id: "after" }), { ok: "after" });
  });
});

describe("Connection protocol violations", () => {
  const bad: Array<[string, Buffer, RegExp]> = [
    ["a zero-length frame", frame(Buffer.alloc(0)), /frame of 0 bytes/],
    ["an oversized frame", frame(Buffer.alloc(2000)), /frame of 2000 bytes exceeds the limit of 1024 bytes/],
    ["a frame that is not a batch", frame(envelope.pack(42)), /not hold a batch/],
    [
      "a frame with a truncated batch",
      frame(Buffer.from([0x92, 0x01])),
      /Unexpected end of MessagePack data/,
    ],
  ];
  for (const [what, bytes, message] of bad) {
    test(`${what} closes the connection with the protocol error, after serving the frames before it`, async () => {
      const pair = await socketPair();
      const frames = recordFrames(pair.a);
      const seen: Message[] = [];
      const conn = new Connection(
        new SocketLink(pair.b),
        (msg) => {
          seen.push(msg);
          return { echo: (msg as { id: string }).id };
        },
        errorCodec,
        1024,
      );
      const closed = new Promise<Error>((resolve) => conn.onClose(resolve));
      const pending = conn.request({ t: Msg.GetObject, id: "never answered" });
      pending.catch(() => undefined);
      pair.a.write(Buffer.concat([batchFrame([{ t: Msg.GetObject, rid: 1, id: "good" }]), bytes]));
      const reason = await within(closed, 10_000, "the connection to close");
      assert.match(reason.message, message);
      await assert.rejects(pending, (err) => err === reason);
      assert.deepEqual(
        seen.map((m) => (m as { id: string }).id),
        ["good"],
      );
      await within(once(pair.a, "close"), 10_000, "the sender to see the close");
      const replies = frames.flat() as Array<{ t: number; rid: number; body?: unknown }>;
      assert.ok(
        replies.some((m) => m.t === Msg.Reply && m.rid === 1),
        `the good frame was answered: ${JSON.stringify(replies)}`,
      );
    });
  }
});

describe("Connection frame limit on the sending side", () => {
  test("a batch over the limit leaves as several frames, every message delivered in order", async () => {
    const [a, b] = await connected(() => undefined, 4096);
    const frames = recordFrames(b.socket);
    // 100 notifications of ~200 bytes each: ~20 KiB, five times the limit.
    for (let i = 0; i < 100; i++) a.conn.send({ t: Msg.Unpin, ids: [String(i), "x".repeat(200)] });
    await pollUntil(() => b.seen.length === 100, 10_000, "100 messages at the peer");
    assert.deepEqual(b.seen.map(num), [...Array(100).keys()]);
    assert.ok(frames.length > 1, `split into ${frames.length} frames`);
    assert.equal(b.conn.isClosed, false, "the receiver did not drop the connection");
  });

  test("one message over the limit fails its request with a ProtocolError naming TSRAY_MAX_FRAME_BYTES; the connection stays", async () => {
    const [a, b] = await connected((msg) => ({ echo: (msg as { id: string }).id }), 4096);
    await assert.rejects(a.conn.request({ t: Msg.GetObject, id: "y".repeat(10_000) }), (err: unknown) => {
      assert.ok(err instanceof ProtocolError, String(err));
      assert.match(
        err.message,
        /kind 20 \(GetObject\).*above the frame limit of 4096 bytes \(TSRAY_MAX_FRAME_BYTES\)/,
      );
      return true;
    });
    assert.deepEqual(await a.conn.request({ t: Msg.GetObject, id: "small" }), { echo: "small" });
    assert.equal(b.conn.isClosed, false);
  });

  test("a reply over the limit becomes an error reply for the caller", async () => {
    const [a] = await connected(() => ({ big: "z".repeat(10_000) }), 4096);
    await assert.rejects(a.conn.request({ t: Msg.GetObject, id: "q" }), (err: unknown) => {
      assert.ok(err instanceof ProtocolError, String(err));
      assert.match(err.message, /kind 0 \(Reply\).*TSRAY_MAX_FRAME_BYTES/);
      return true;
    });
  });
});
