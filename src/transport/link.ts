/**
 * What a Connection runs on: a byte pipe (`Link`) carrying whole frames, and the
 * `Network` that dials and listens for links. Two implementations: real sockets
 * (socket-network.ts) and in-memory queues (memory-network.ts). Connection (batching,
 * rids, pending requests, the handshake guard) and FrameDecoder are shared, so both
 * run the same framing, limits and handshake.
 */

/** Callbacks a Link delivers to; bound once, before any data can arrive. */
export interface LinkHandlers {
  /** Bytes from the peer, in order (a chunk may hold part of a frame, or several). */
  data(chunk: Buffer): void;
  /** The link closed: `err` when it failed, undefined for an orderly close. Called once. */
  close(err?: Error): void;
}

/** One bidirectional byte pipe to a peer. */
export interface Link {
  /** Queue bytes for the peer; a no-op after close. */
  write(bytes: Buffer): void;
  /** Close after the written bytes are delivered; `done` runs once they are. */
  end(done?: () => void): void;
  /** Close now; bytes not yet delivered may be lost. */
  destroy(): void;
  /** Start delivering to `handlers` (once per link). */
  bind(handlers: LinkHandlers): void;
  /** Let the process exit while this link is open. */
  unref(): void;
}

/** A listening address accepting links. */
export interface Listener {
  /** The address peers dial (with the real port for `tcp://host:0`). */
  readonly address: string;
  /** Stop accepting (open links stay) and release the address. */
  close(): void;
  /** Let the process exit while listening. */
  unref(): void;
}

/** Opens links to addresses. */
export interface Dialer {
  /**
   * A link to the listener at `address`; rejects with the cause when none can be made.
   * `unref`: the dial itself must not keep the process alive either.
   */
  dial(address: string, opts?: { unref?: boolean }): Promise<Link>;
}

/** Dials and listens: what an Endpoint needs of the network. */
export interface Network extends Dialer {
  /** Listen on `address`, calling `onLink` for every accepted link. */
  listen(address: string, onLink: (link: Link) => void): Promise<Listener>;
}
