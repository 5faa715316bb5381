import { chmodSync, rmSync } from "node:fs";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { config } from "../config/index.js";
import { RuntimeUnavailableError } from "../errors/index.js";
import { log } from "../util/index.js";
import { Connection, type ErrorCodec, type MessageHandler } from "./connection.js";
import { acceptHandshake, dialHandshake } from "./handshake.js";

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
 * Authentication: every connection, dialed or accepted, runs the handshake of
 * handshake.ts with `secret` before it carries anything; `connect` resolves and
 * `onPeer` runs only after it. An accepted peer that fails it (wrong secret, other
 * version, garbage, too slow) is dropped with one log line; at most
 * TSRAY_MAX_PENDING_HANDSHAKES accepted connections may be in the handshake at once.
 * Unix socket files are made 0600.
 *
 * Failure: a connection that closes is dropped from the cache; the next `connect`
 * dials again. A dial that fails rejects with RuntimeUnavailableError naming the
 * address (AuthenticationError / ProtocolVersionError when the handshake fails).
 */
export class Endpoint {
  private server: Server | undefined;
  private listenPath: string | undefined;
  private readonly byAddress = new Map<Address, Promise<Connection>>();
  private readonly accepted = new Set<Connection>();
  private closing = false;
  private handshaking = 0;
  private floodLogged = false;
  private accepts = 0;
  /** Called for every new connection (accepted or dialed) once its peer is known. */
  onPeer: ((conn: Connection) => void) | undefined;
  /** Unref the server and every socket, so they never keep the process alive (drivers). */
  unrefSockets = false;

  private address: Address = "";

  /**
   * @param secret the session secret (see secret.ts) every peer must prove, and
   *   this endpoint proves to every peer it dials.
   */
  constructor(
    readonly selfId: string,
    private readonly handler: MessageHandler,
    private readonly errors: ErrorCodec,
    private readonly secret: Uint8Array,
  ) {}

  /** The address this endpoint listens on ("" before listen). */
  get listenAddress(): Address {
    return this.address;
  }

  /** Start listening on `address` (a stale Unix socket file is replaced; the new one is 0600). */
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
    // Connecting needs write permission on the file; the handshake is the real gate,
    // this keeps other users from even reaching it (the session dir is 0700 too).
    if ("path" in opts) chmodSync(opts.path, 0o600);
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
        const self = { from: this.selfId, address: this.address };
        dialHandshake(conn, this.secret, config().handshakeTimeoutMs, self, address).then(
          () => {
            resolve(conn);
            this.onPeer?.(conn);
          },
          (err: Error) => reject(err),
        );
      });
    });
  }

  private accept(sock: Socket): void {
    if (this.closing) {
      sock.destroy();
      return;
    }
    const n = ++this.accepts;
    if (this.handshaking >= config().maxPendingHandshakes) {
      // A flood: shed the newcomer at once (it holds nothing yet); log once per flood.
      sock.destroy();
      if (!this.floodLogged) {
        this.floodLogged = true;
        log.warn(
          `${this.selfId}: ${this.handshaking} connections are in the handshake ` +
            "(TSRAY_MAX_PENDING_HANDSHAKES); closing new ones until they finish",
        );
      }
      return;
    }
    if (this.unrefSockets) sock.unref();
    const conn = new Connection(sock, this.handler, this.errors);
    this.accepted.add(conn);
    conn.onClose(() => this.accepted.delete(conn));
    this.handshaking++;
    acceptHandshake(conn, this.secret, config().handshakeTimeoutMs).then(
      (hello) => {
        if (--this.handshaking === 0) this.floodLogged = false;
        if (hello.address && !this.byAddress.has(hello.address)) {
          const p = Promise.resolve(conn);
          this.byAddress.set(hello.address, p);
          conn.onClose(() => this.forget(hello.address, p));
        }
        this.onPeer?.(conn);
      },
      (err: Error) => {
        if (--this.handshaking === 0) this.floodLogged = false;
        // One line per dropped peer; a peer that merely hung up before its Hello is routine.
        const line = `${this.selfId}: dropped unauthenticated connection #${n}: ${err.message}`;
        if (this.closing || err instanceof RuntimeUnavailableError) log.debug(line);
        else log.warn(line);
      },
    );
  }
}
