// Addresses as users write them and as the transport dials them. A Unix socket is a
// path; TCP is `tcp://host:port` inside tsray and `host:port` for users (as Ray's).
import { networkInterfaces } from "node:os";

const HOST_PORT = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;

/**
 * The transport address for what a user wrote: `host:port` becomes `tcp://host:port`;
 * `tcp://host:port` and socket paths (starting with `/` or `.`) stay as they are.
 * @throws TypeError naming `what` and the valid forms for anything else (a port
 *   outside 1..65535 included).
 */
export function normalizeAddress(raw: string, what: string): string {
  const s = raw.trim();
  if (s.startsWith("/") || s.startsWith(".")) return s;
  const hp = s.startsWith("tcp://") ? s.slice(6) : s;
  const m = HOST_PORT.exec(hp);
  const port = m ? Number(m[2]) : Number.NaN;
  if (!m || !(port >= 1 && port <= 65535)) {
    throw new TypeError(
      `${what} must be "host:port" (port 1-65535, e.g. "10.0.0.1:6380"), a head's Unix socket path, or "auto"; got ${JSON.stringify(raw)}`,
    );
  }
  return `tcp://${m[1]}:${port}`;
}

/** The host part of a `tcp://host:port` address (undefined for a socket path). */
export function tcpHost(address: string): string | undefined {
  if (!address.startsWith("tcp://")) return undefined;
  const hp = address.slice(6);
  return hp.slice(0, hp.lastIndexOf(":"));
}

/** What users are shown: `host:port` for TCP, the path for a socket. */
export function displayAddress(address: string): string {
  return address.startsWith("tcp://") ? address.slice(6) : address;
}

/** This machine's primary address: the first non-internal IPv4 address, else 127.0.0.1 (as Ray picks its node IP). */
export function primaryAddress(): string {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === "IPv4" && !a.internal) return a.address;
  }
  return "127.0.0.1";
}
