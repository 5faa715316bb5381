import { rmSync } from "node:fs";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { RuntimeUnavailableError } from "../errors/index.js";
import { type Hello, type Message, Msg } from "../protocol/index.js";
import { Connection, type ErrorCodec, type MessageHandler } from "./connection.js";

/** A listen/dial address: a Unix socket path, or `tcp://host:port`. */
export type Address = string;

function socketOptions(address: Address): { path: string } | { host: string; port: number } {
  if (address.startsWith("tcp://")) {
    const u = new URL(address);
    return { host: u.hostname, port: Number(u.port) };
  }
  return { path: address };
}

/**
 * A process's network presence: one listening socket plus a cache of outgoing
 * connections, one per peer address. Any connection carries messages both ways;
 * when a peer dials us, we reuse that connection to reach the peer (by its Hello).
 *
 * Failure: a connection that closes is dropped from the cache; the next `connect`
 * dials again. A dial that fails rejects with RuntimeUnavailableError naming the address.
 */
export class Endpoint {
  private server: Server | undefined;
  private listenPath: string | undefined;
  private readonly byAddress = new Map<Address, Promise<Connection>>();
  private readonly accepted = new Set<Connection>();
  private closing = false;
  /** Called for every new connection (accepted or dialed) once its peer is known. */
  onPeer: ((conn: Connection) => void) | undefined;
  /** Unref the server and every socket, so they never keep the process alive (drivers). */
  unrefSockets = false;

  constructor(
    readonly selfId: string,
    private readonly handler: MessageHandler,
    private readonly errors: ErrorCodec,
    private address: Address = "",
  ) {}

  /** The address this endpoint listens on ("" before listen). */
  get listenAddress(): Address {
    return this.address;
  }

  /** Start listening on `address` (a stale Unix socket file is replaced). */
  async listen(address: Address): Promise<void> {
    const opts = socketOptions(address);
    if ("path" in opts) {
      rmSync(opts.path, { force: true });
      this.listenPath = opts.path;
    }
    const server = createServer((sock) => this.accept(sock));
    this.server = server;
    if (this.unrefSockets) server.unref();
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      if ("path" in opts) server.listen(opts.path, () => resolve());
      else server.listen(opts.port, opts.host, () => resolve());
    });
    if ("port" in opts && opts.port === 0) {
      const a = server.address();
      if (a && typeof a === "object") address = `tcp://${opts.host}:${a.port}`;
    }
    this.address = address;
  }

  /** A connection to `address`, dialing it (with Hello) if none is open. */
  connect(address: Address): Promise<Connection> {
    const cached = this.byAddress.get(address);
    if (cached) return cached;
    const p = this.dial(address);
    this.byAddress.set(address, p);
    p.then(
      (conn) => conn.onClose(() => this.forget(address, p)),
      () => this.forget(address, p),
    );
    return p;
  }

  /** An already-open connection to `address`, if any (no dialing). */
  async existing(address: Address): Promise<Connection | undefined> {
    const p = this.byAddress.get(address);
    return p ? p.catch(() => undefined) : undefined;
  }

  /** Close the server and every connection. */
  close(): void {
    this.closing = true;
    this.server?.close();
    for (const p of this.byAddress.values())
      p.then(
        (c) => c.destroy(),
        () => undefined,
      );
    for (const c of this.accepted) c.destroy();
    this.byAddress.clear();
    this.accepted.clear();
    if (this.listenPath) rmSync(this.listenPath, { force: true });
  }

  private forget(address: Address, p: Promise<Connection>): void {
    if (this.byAddress.get(address) === p) this.byAddress.delete(address);
  }

  private dial(address: Address): Promise<Connection> {
    if (this.closing) return Promise.reject(new RuntimeUnavailableError("endpoint is closed"));
    return new Promise<Connection>((resolve, reject) => {
      let sock: Socket;
      try {
        sock = createConnection(socketOptions(address));
      } catch (err) {
        reject(new RuntimeUnavailableError(`cannot connect to ${address}: ${String(err)}`));
        return;
      }
      const onError = (err: Error) => {
        reject(new RuntimeUnavailableError(`cannot connect to ${address}: ${err.message}`, { cause: err }));
      };
      sock.once("error", onError);
      if (this.unrefSockets) sock.unref();
      sock.once("connect", () => {
        sock.off("error", onError);
        const conn = new Connection(sock, this.handler, this.errors);
        conn.peerAddress = address;
        const hello: Hello = { t: Msg.Hello, from: this.selfId, address: this.address };
        conn.send(hello);
        resolve(conn);
        this.onPeer?.(conn);
      });
    });
  }

  private accept(sock: Socket): void {
    if (this.closing) {
      sock.destroy();
      return;
    }
    if (this.unrefSockets) sock.unref();
    const handler: MessageHandler = (msg: Message, c) => {
      if (msg.t === Msg.Hello) {
        c.peerId = msg.from;
        c.peerAddress = msg.address;
        if (msg.address && !this.byAddress.has(msg.address)) {
          const p = Promise.resolve(c);
          this.byAddress.set(msg.address, p);
          c.onClose(() => this.forget(msg.address, p));
        }
        this.onPeer?.(c);
        return undefined;
      }
      if (!c.peerId) {
        c.destroy(new RuntimeUnavailableError("protocol error: first message was not Hello"));
        return undefined;
      }
      return this.handler(msg, c);
    };
    const conn = new Connection(sock, handler, this.errors);
    this.accepted.add(conn);
    conn.onClose(() => this.accepted.delete(conn));
  }
}
