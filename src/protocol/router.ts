/**
 * Routers derived from the service maps: a service lists one handler per kind it
 * serves (`Handlers<S, C>`, checked at compile time) and gets a dispatch function
 * that finds a handler with one array lookup.
 */
import type { Message } from "./catalogue.js";
import type { MsgKind } from "./kinds.js";
import type { Handlers, Service } from "./services.js";

/** A service's dispatcher for incoming messages. */
export interface Router<C> {
  /**
   * Run the handler of `msg.t`: its return value is the request's reply (or
   * nothing, for a notification). A kind the service does not serve throws the
   * error `notServed(t)` returned (never an empty success).
   */
  handle(msg: Message, conn: C): unknown;
  /** Whether the service has a handler for kind `t`. */
  serves(t: number): boolean;
  /** Every kind the service serves, ascending. */
  readonly kinds: readonly MsgKind[];
}

type AnyHandler<C> = (msg: Message, conn: C) => unknown;

/**
 * Build the router of service `S` from its handlers. `notServed` makes the error for
 * a kind it has no handler for (src/transport's `notServed`, naming the service).
 */
export function router<S extends Service, C>(
  handlers: Handlers<S, C>,
  notServed: (t: unknown) => Error,
): Router<C> {
  // Kinds are small integers (< 256, see Msg): a dense array is the cheapest lookup.
  const table: Array<AnyHandler<C> | undefined> = new Array(256).fill(undefined);
  const kinds: MsgKind[] = [];
  // The map types tie each key to its handler's message type; the table erases it, so
  // the one place that calls a handler passes it only messages of its own kind.
  for (const [key, fn] of Object.entries(handlers as Record<string, AnyHandler<C>>)) {
    const t = Number(key);
    table[t] = fn;
    kinds.push(t as MsgKind);
  }
  kinds.sort((a, b) => a - b);
  return {
    handle(msg, conn) {
      const fn = table[msg.t];
      if (fn === undefined) throw notServed(msg.t);
      return fn(msg, conn);
    },
    serves: (t) => table[t] !== undefined,
    kinds,
  };
}
