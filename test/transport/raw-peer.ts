/**
 * A hand-driven wire peer for tests: a raw socket that records every message it
 * reads and can run the dialer's side of the handshake itself (with the right
 * secret, a wrong one, or another version). The proofs are computed here from the
 * protocol's definition, independently of src/transport/handshake.ts.
 */
import { createHmac, randomBytes } from "node:crypto";
import { once } from "node:events";
import { createConnection, type Socket } from "node:net";
import { Msg, PROTOCOL_VERSION } from "../../src/protocol/index.js";
import { pollUntil, within } from "../helpers/processes.js";
import { batchFrame, recordFrames } from "./helpers.js";

/** A message as a raw peer sees it. */
export type RawMessage = Record<string, unknown> & { t: unknown };

/** What `handshake` may vary to test refusals. */
export interface HandshakeVariant {
  /** Version to claim (default: PROTOCOL_VERSION). */
  readonly v?: number;
  /** Secret to prove with (default: the right one passed to handshake). */
  readonly secret?: Uint8Array;
  readonly from?: string;
  readonly address?: string;
}

/** One raw connection. `close` (or `RawPeer.closeAll`) destroys it. */
export class RawPeer {
  private static readonly open = new Set<RawPeer>();
  readonly messages: RawMessage[] = [];
  closed = false;

  private constructor(readonly sock: Socket) {
    const frames = recordFrames(sock);
    // recordFrames pushes batches; flatten them as they come.
    sock.on("data", () => {
      while (frames.length > 0) this.messages.push(...(frames.shift() as RawMessage[]));
    });
    sock.on("error", () => undefined);
    sock.on("close", () => {
      this.closed = true;
      RawPeer.open.delete(this);
    });
  }

  /** Connect to a Unix socket path or `tcp://host:port`. */
  static async connect(address: string): Promise<RawPeer> {
    const opts = address.startsWith("tcp://")
      ? { host: new URL(address).hostname, port: Number(new URL(address).port) }
      : { path: address };
    const sock = createConnection(opts);
    const peer = new RawPeer(sock);
    RawPeer.open.add(peer);
    await within(once(sock, "connect"), 10_000, `connect to ${address}`);
    return peer;
  }

  /** Destroy every RawPeer still open (test teardown). */
  static closeAll(): void {
    for (const p of RawPeer.open) p.sock.destroy();
    RawPeer.open.clear();
  }

  /** The first recorded message matching `pred`, waiting up to `ms`. */
  next(pred: (m: RawMessage) => boolean, ms: number, what: string): Promise<RawMessage> {
    return pollUntil(() => this.messages.find(pred), ms, what);
  }

  /** Send one frame holding `batch`. */
  send(batch: unknown[]): void {
    this.sock.write(batchFrame(batch));
  }

  /**
   * Run the dialer's side: wait for Challenge, send Hello with a proof made with
   * `secret` (or the variant's). Returns the acceptor's answer (Welcome or Refused).
   */
  async handshake(secret: Uint8Array, variant: HandshakeVariant = {}): Promise<RawMessage> {
    const challenge = await this.next((m) => m.t === Msg.Challenge, 10_000, "the acceptor's Challenge");
    const nonce = randomBytes(32);
    const from = variant.from ?? `raw-${process.pid}`;
    const proof = createHmac("sha256", variant.secret ?? secret)
      .update(Buffer.from("tsray-hello\0"))
      .update(challenge.nonce as Uint8Array)
      .update(nonce)
      .update(Buffer.from(from))
      .digest();
    this.send([
      { t: Msg.Hello, from, address: variant.address ?? "", v: variant.v ?? PROTOCOL_VERSION, nonce, proof },
    ]);
    return this.next((m) => m.t === Msg.Welcome || m.t === Msg.Refused, 10_000, "Welcome or Refused");
  }

  /** Resolves once the other side closed the connection; throws after `ms`. */
  async waitClosed(ms: number, what: string): Promise<void> {
    await pollUntil(() => this.closed, ms, what);
  }

  close(): void {
    this.sock.destroy();
  }
}
