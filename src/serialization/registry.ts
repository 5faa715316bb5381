import { ExtType, installExtension } from "./codec.js";

/** How a user class crosses processes: `serialize` to plain data, `deserialize` back to an instance. */
export interface Serializer<T, D = unknown> {
  serialize(value: T): D;
  deserialize(data: D): T;
}

type AnyClass = abstract new (...args: never[]) => unknown;
const byName = new Map<string, { Class: AnyClass; s: Serializer<unknown> }>();
const names = new WeakMap<Function, string>();

/**
 * Let instances of `Class` (and its subclasses, unless they register their own)
 * round-trip through tsray. Call it at the top level of a module that both the
 * driver and the remote code import, so every process registers it. The class's
 * name (or `options.name`) identifies it on the wire and must be unique.
 * Error subclasses may omit the serializer: they then travel as errors (message,
 * stack, cause, fields) and come back as instances of `Class`.
 * Throws TypeError on a non-class, a bad serializer, or a name taken by another class.
 */
export function registerSerializer<T, D = unknown>(
  Class: abstract new (...args: never[]) => T,
  serializer?: Serializer<T, D>,
  options: { name?: string } = {},
): void {
  if (typeof Class !== "function" || !Class.prototype) {
    throw new TypeError(`registerSerializer: Class must be a class, got ${typeof Class}`);
  }
  if (serializer === undefined && Class.prototype instanceof Error) {
    // Error classes need no serializer: the error extension keeps message, stack,
    // cause and fields; registering the name lets the receiver rebuild the class.
    const name = options.name ?? Class.name;
    byName.set(name, { Class, s: { serialize: (v) => v, deserialize: (d) => d } });
    names.set(Class, name);
    return;
  }
  if (
    typeof serializer !== "object" ||
    serializer === null ||
    typeof serializer.serialize !== "function" ||
    typeof serializer.deserialize !== "function"
  ) {
    throw new TypeError("registerSerializer: expected { serialize(value), deserialize(data) } functions");
  }
  const name = options.name ?? Class.name;
  if (!name) throw new TypeError("registerSerializer: anonymous class; pass { name } in options");
  const prev = byName.get(name);
  if (prev && prev.Class !== Class) {
    throw new TypeError(
      `registerSerializer: the name "${name}" is already registered for another class; pass a unique { name }`,
    );
  }
  byName.set(name, { Class, s: serializer as Serializer<unknown> });
  names.set(Class, name);
  installExtension(
    Class,
    ExtType.UserClass,
    (v: T) => [names.get((v as object).constructor) ?? name, serializer.serialize(v)],
    readUserClass,
  );
}

function readUserClass(data: unknown): unknown {
  const [name, payload] = data as [string, unknown];
  const entry = byName.get(name);
  if (!entry) {
    throw new TypeError(
      `cannot deserialize an instance of class "${name}": it is not registered in this process (pid ${process.pid}); ` +
        "call registerSerializer at the top level of a module that the remote code imports",
    );
  }
  return entry.s.deserialize(payload);
}

/** The registered class for an error class name, if any. */
export function classForError(name: string): (new (m?: string) => Error) | undefined {
  const e = byName.get(name);
  return e && (e.Class as unknown as { prototype: unknown }).prototype instanceof Error
    ? (e.Class as unknown as new (
        m?: string,
      ) => Error)
    : undefined;
}

/** The wire name of an error's class (registered name, else constructor name). */
export function nameForErrorClass(err: Error): string {
  return names.get(err.constructor) ?? err.constructor?.name ?? err.name ?? "Error";
}
