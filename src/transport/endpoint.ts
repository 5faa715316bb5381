import { config } from "../config/index.js";
import { RuntimeUnavailableError } from "../errors/index.js";
import { type Clock, log, realClock, type Timer } from "../util/index.js";
import { Connection, type ErrorCodec, type MessageHandler } from "./connection.js";
import { acceptHandshake, dialHandshake } from "./handshake.js";
import type { Link, Listener, Network } from "./link.js";
import { socketNetwork } from "./socket-network.js";

/** A listen/dial address: a Unix socket path, or `tcp://host:port` (or a MemoryNetwork name). */
export type Address = string;

/** What an Endpoint runs on; both default to the real thing. */
export interface EndpointOptions {
  /** Dials and listens (default: real sockets). */
  network?: Network;
  /** Times handshakes (default: real time). */
  clock?: Clock;
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
 * Unix socket files are made 0600. The network and clock are injected
 * (`EndpointOptions`), so the same endpoint runs on the in-memory network.
 *
 * Failure: a connection that closes is dropped from the cache; the next `connect`
 * dials again. A dial that fails rejects with RuntimeUnavailableError naming the
 * address (AuthenticationError / ProtocolVersionError when the handshake fails).
 */
export class Endpoint {
  private readonly listeners: Listener[] = [];
  private readonly network: Network;
  private readonly clock: Clock;
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
    opts: EndpointOptions = {},
  ) {
    this.network = opts.network ?? socketNetwork;
    this.clock = opts.clock ?? realClock;
  }

  /** The address others reach this endpoint at: its first listen's (or what that listen advertised); "" before. */
  get listenAddress(): Address {
    return this.address;
  }

  /**
   * Start listening on `address` (a stale Unix socket file is replaced; the new one is
   * 0600). May be called again to listen on more addresses (e.g. a node's Unix socket
   * for its workers and its TCP port for other machines); the first call's address is
   * the one advertised, or `advertise` when given (a TCP bind to 0.0.0.0 is reached
   * at the machine's address). `tcp://host:0` binds a free port: `advertise` may then
   * say `tcp://host:0` too and gets the port bound.
   */
  async listen(address: Address, advertise?: Address): Promise<void> {
    const listener = await this.network.listen(address, (link) => this.accept(link));
    this.listeners.push(listener);
    if (this.unrefSockets) listener.unref();
    if (this.listeners.length > 1) return;
    let advertised = advertise ?? listener.address;
    const port = /:(\d+)$/.exec(listener.address)?.[1];
    if (advertise?.endsWith(":0") && port) advertised = `${advertise.slice(0, -1)}${port}`;
    this.address = advertised;
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
    for (const l of this.listeners) l.close();
    for (const p of this.byAddress.values())
      p.then(
        (c) => c.destroy(),
        () => undefined,
      );
    for (const c of this.accepted) c.destroy();
    this.byAddress.clear();
    this.accepted.clear();
  }

  private forget(address: Address, p: Promise<Connection>): void {
    if (this.byAddress.get(address) === p) this.byAddress.delete(address);
  }

  private async dial(address: Address): Promise<Connection> {
    if (this.closing) throw new RuntimeUnavailableError("endpoint is closed");
    let link: Link;
    try {
      // Bounded: a host that drops SYNs would otherwise keep a caller waiting for minutes.
      const ms = config().connectTimeoutMs;
      const dialing = this.network.dial(address, { unref: this.unrefSockets });
      let timer: Timer | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = this.clock.setTimeout(() => {
          dialing.then(
            (l) => l.destroy(),
            () => undefined,
          );
          reject(new Error(`no answer within ${ms} ms (TSRAY_CONNECT_TIMEOUT_MS)`));
        }, ms);
        timer.unref();
      });
      try {
        link = await Promise.race([dialing, late]);
      } finally {
        this.clock.clearTimer(timer);
      }
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      throw new RuntimeUnavailableError(`cannot connect to ${address}: ${why}`, { cause: err });
    }
    const conn = new Connection(link, this.handler, this.errors, undefined, this.clock);
    conn.peerAddress = address;
    const self = { from: this.selfId, address: this.address };
    await dialHandshake(conn, this.secret, config().handshakeTimeoutMs, this.clock, self, address);
    this.onPeer?.(conn);
    return conn;
  }

  private accept(link: Link): void {
    if (this.closing) {
      link.destroy();
      return;
    }
    const n = ++this.accepts;
    if (this.handshaking >= config().maxPendingHandshakes) {
      // A flood: shed the newcomer at once (it holds nothing yet); log once per flood.
      link.destroy();
      if (!this.floodLogged) {
        this.floodLogged = true;
        log.warn(
          `${this.selfId}: ${this.handshaking} connections are in the handshake ` +
            "(TSRAY_MAX_PENDING_HANDSHAKES); closing new ones until they finish",
        );
      }
      return;
    }
    if (this.unrefSockets) link.unref();
    const conn = new Connection(link, this.handler, this.errors, undefined, this.clock);
    this.accepted.add(conn);
    conn.onClose(() => this.accepted.delete(conn));
    this.handshaking++;
    acceptHandshake(conn, this.secret, config().handshakeTimeoutMs, this.clock).then(
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
