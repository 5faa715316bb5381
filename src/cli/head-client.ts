/**
 * A CoreWorker-less connection to a head: dial its address, send requests of the
 * protocol (src/protocol), close. Used by `tsray status` and `tsray stop`.
 */
import { secretForAddress } from "../api/index.js";
import type { Requester } from "../protocol/index.js";
import { errorCodec } from "../serialization/index.js";
import { Endpoint } from "../transport/index.js";
import { withDeadline } from "../util/index.js";

/** Sends requests to one head; `close()` when done. */
export interface HeadClient {
  /** One request to the head, its reply typed by its kind. */
  request: Requester;
  close(): void;
}

/**
 * Connect to the head at `address`, authenticating with the session secret found
 * by `secretForAddress` (its session dir, or TSRAY_AUTH_TOKEN). Every request fails
 * with RuntimeUnavailableError after `timeoutMs` (the head is hung or gone); no
 * secret or a wrong one rejects with AuthenticationError saying so.
 */
export async function connectHead(address: string, timeoutMs = 5000): Promise<HeadClient> {
  const secret = secretForAddress(address);
  const endpoint = new Endpoint(`cli-${process.pid}`, () => undefined, errorCodec, secret);
  try {
    const conn = await withDeadline(endpoint.connect(address), timeoutMs, `connecting to ${address}`);
    return {
      request: (body) => withDeadline(conn.request(body), timeoutMs, `request to the head at ${address}`),
      close: () => endpoint.close(),
    };
  } catch (err) {
    endpoint.close();
    throw err;
  }
}
