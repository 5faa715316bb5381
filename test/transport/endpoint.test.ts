// Endpoint over real Unix sockets: the handshake, one connection per pair of
// processes (used both ways), redial after a close, dial failures naming the address,
// and a peer that breaks the protocol losing its connection while the endpoint serves on.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { after, afterEach, describe, test } from "node:test";
import { RuntimeUnavailableError } from "../../src/errors/index.js";
import { type Message, Msg } from "../../src/protocol/index.js";
import { type Connection, Endpoint } from "../../src/transport/index.js";
import { pollUntil, within } from "../helpers/processes.js";
import { removeTempDirs, tempDir } from "../helpers/temp.js";
import { errorCodec, frame, testSecret } from "./helpers.js";
import { RawPeer } from "./raw-peer.js";

const endpoints: Endpoint[] = [];
afterEach(() => {
  for (const e of endpoints.splice(0)) e.close();
  RawPeer.closeAll();
});
after(removeTempDirs);

/** An endpoint listening in a fresh temp dir; it answers GetObject with `{ from: <its id>, id }`. */
async function endpoint(id: string): Promise<{ ep: Endpoint; seen: Array<[peer: string, msg: Message]> }> {
  const seen: Array<[string, Message]> = [];
  const ep = new Endpoint(
    id,
    (msg, conn) => {
      seen.push([conn.peerId, msg]);
      return msg.t === Msg.GetObject ? { from: id, id: msg.id } : undefined;
    },
    errorCodec,
    testSecret,
  );
  endpoints.push(ep);
  await ep.listen(join(tempDir("endpoint"), `${id}.sock`));
  return { ep, seen };
}

describe("Endpoint", () => {
  test("a dialed connection says Hello and then carries requests both ways", async () => {
    const server = await endpoint("server");
    const client = await endpoint("client");
    const peers: Connection[] = [];
    server.ep.onPeer = (c) => peers.push(c);
    const conn = await client.ep.connect(server.ep.listenAddress);
    assert.deepEqual(await conn.request({ t: Msg.GetObject, id: "x" }), { from: "server", id: "x" });
    assert.deepEqual(server.seen, [["client", { t: Msg.GetObject, rid: 1, id: "x" }]]);
    assert.equal(peers.length, 1);
    assert.equal(peers[0]!.peerId, "client");
    assert.equal(peers[0]!.peerAddress, client.ep.listenAddress);
    // The server reaches the client over the connection the client dialed: no second socket.
    assert.equal(await server.ep.existing(client.ep.listenAddress), peers[0]);
    const back = await server.ep.connect(client.ep.listenAddress);
    assert.equal(back, peers[0]);
    assert.deepEqual(await back.request({ t: Msg.GetObject, id: "y" }), { from: "client", id: "y" });
    assert.equal(
      await client.ep.connect(server.ep.listenAddress),
      conn,
      "connect reuses the open connection",
    );
  });

  test("a closed connection is forgotten and the next connect dials again", async () => {
    const server = await endpoint("server");
    const client = await endpoint("client");
    const first = await client.ep.connect(server.ep.listenAddress);
    await first.request({ t: Msg.GetObject, id: "1" });
    first.destroy();
    assert.equal(await client.ep.existing(server.ep.listenAddress), undefined);
    const second = await client.ep.connect(server.ep.listenAddress);
    assert.notEqual(second, first);
    assert.deepEqual(await second.request({ t: Msg.GetObject, id: "2" }), { from: "server", id: "2" });
  });

  test("a dial that fails rejects with RuntimeUnavailableError naming the address", async () => {
    const client = await endpoint("client");
    const nowhere = join(tempDir("endpoint"), "nobody-listens.sock");
    await assert.rejects(client.ep.connect(nowhere), (err: unknown) => {
      assert.ok(err instanceof RuntimeUnavailableError, String(err));
      assert.ok(err.message.includes(nowhere), err.message);
      return true;
    });
    assert.equal(await client.ep.existing(nowhere), undefined, "the failed dial is not cached");
  });

  test("a connection whose first message is not Hello is closed unserved", async () => {
    const server = await endpoint("server");
    const peer = await RawPeer.connect(server.ep.listenAddress);
    peer.send([{ t: Msg.GetObject, rid: 1, id: "sneaky" }]);
    const refused = await peer.next((m) => m.t === Msg.Refused, 10_000, "Refused");
    assert.match(String(refused.message), /first message was kind 20 \(GetObject\), not Hello/);
    await peer.waitClosed(10_000, "the server to close the socket");
    assert.deepEqual(server.seen, []);
    assert.equal(
      peer.messages.some((m) => m.t === Msg.Reply),
      false,
      "the request got no reply",
    );
  });

  test("a peer that sends a garbled frame after its handshake loses its connection; the endpoint keeps serving others", async () => {
    const server = await endpoint("server");
    const closes = new Map<string, Error>();
    server.ep.onPeer = (c) => c.onClose((err) => closes.set(c.peerId, err));
    const good = await endpoint("good");
    const conn = await good.ep.connect(server.ep.listenAddress);
    await conn.request({ t: Msg.GetObject, id: "before" });

    const peer = await RawPeer.connect(server.ep.listenAddress);
    const answer = await peer.handshake(testSecret, { from: "bad" });
    assert.equal(answer.t, Msg.Welcome);
    // Then an empty frame.
    peer.sock.write(frame(Buffer.alloc(0)));
    await peer.waitClosed(10_000, "the server to close the bad peer's socket");
    await pollUntil(() => closes.get("bad"), 10_000, "the bad peer's connection to close");
    assert.match(closes.get("bad")!.message, /frame of 0 bytes/);

    assert.deepEqual(await conn.request({ t: Msg.GetObject, id: "after" }), { from: "server", id: "after" });
    assert.equal(conn.isClosed, false);
    assert.equal(closes.has("good"), false);
  });

  test("close ends every connection and removes the socket file", async () => {
    const server = await endpoint("server");
    const client = await endpoint("client");
    const conn = await client.ep.connect(server.ep.listenAddress);
    await conn.request({ t: Msg.GetObject, id: "1" });
    const closed = new Promise<Error>((resolve) => conn.onClose(resolve));
    server.ep.close();
    const reason = await within(closed, 10_000, "the client's connection to close");
    assert.ok(reason instanceof RuntimeUnavailableError, String(reason));
    assert.equal(existsSync(server.ep.listenAddress), false);
    await assert.rejects(client.ep.connect(server.ep.listenAddress), RuntimeUnavailableError);
  });
});
