import { chmodSync, rmSync } from "node:fs";
import { createConnection, createServer, type Socket } from "node:net";
import type { Link, LinkHandlers, Listener, Network } from "./link.js";

function socketOptions(address: string): { path: string } | { host: string; port: number } {
  if (address.startsWith("tcp://")) {
    const u = new URL(address);
    return { host: u.hostname, port: Number(u.port) };
  }
  return { path: address };
}

/** A Link over a connected `net.Socket` (Nagle off: frames are already batched). */
export class SocketLink implements Link {
  constructor(readonly socket: Socket) {
    socket.setNoDelay?.(true);
  }

  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  end(done?: () => void): void {
    this.socket.end(done);
  }

  destroy(): void {
    this.socket.destroy();
  }

  bind(handlers: LinkHandlers): void {
    // The handler itself is the listener: no extra call per chunk on the receive path.
    this.socket.on("data", handlers.data);
    this.socket.on("error", (err) => handlers.close(err));
    this.socket.on("close", () => handlers.close());
  }

  unref(): void {
    this.socket.unref();
  }
}

/**
 * The real network: Unix domain sockets (an address is a path; the socket file is
 * made 0600 and a stale one replaced) and TCP (`tcp://host:port`).
 */
export const socketNetwork: Network = {
  dial(address, opts) {
    return new Promise<Link>((resolve, reject) => {
      const sock = createConnection(socketOptions(address));
      sock.once("error", reject);
      if (opts?.unref) sock.unref();
      sock.once("connect", () => {
        sock.off("error", reject);
        resolve(new SocketLink(sock));
      });
    });
  },

  async listen(address, onLink) {
    const opts = socketOptions(address);
    if ("path" in opts) rmSync(opts.path, { force: true });
    const server = createServer((sock) => onLink(new SocketLink(sock)));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      if ("path" in opts) server.listen(opts.path, () => resolve());
      else server.listen(opts.port, opts.host, () => resolve());
    });
    // Connecting needs write permission on the file; the handshake is the real gate,
    // this keeps other users from even reaching it (the session dir is 0700 too).
    if ("path" in opts) chmodSync(opts.path, 0o600);
    let bound = address;
    if ("port" in opts && opts.port === 0) {
      const a = server.address();
      if (a && typeof a === "object") bound = `tcp://${opts.host}:${a.port}`;
    }
    const listener: Listener = {
      address: bound,
      close() {
        server.close();
        if ("path" in opts) rmSync(opts.path, { force: true });
      },
      unref() {
        server.unref();
      },
    };
    return listener;
  },
};
