/**
 * tsray's typed errors. Every class has a stable `code` that survives
 * serialization: an error thrown in one process is rebuilt as the same class in
 * another (see src/serialization). Never throw strings.
 */

const TASK_ERROR_BRAND = Symbol.for("tsray.RayTaskError");

// Class bodies here do not name their own class: a bundler then renames the class
// (`class _RayError`), and `name` is API (err.name, the serialized error). Hence
// `new this(...)` in statics and this set instead of `this === RayError`.
/** Classes whose instanceof also accepts branded task errors (RayError, RayTaskError). */
const BRAND_CHECKED = new Set<Function>();

/** Base class of every tsray error. `code` is stable across versions and processes. */
export class RayError extends Error {
  /** Stable machine-readable identifier of the error kind. */
  readonly code: string = "RAY_ERROR";

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }

  /**
   * A `RayTaskError` rebuilt over a known user error class is an instance of that
   * class (its prototype chain) and also of RayTaskError/RayError (by brand).
   */
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (Function.prototype[Symbol.hasInstance].call(this, value)) return true;
    if (BRAND_CHECKED.has(this) && typeof value === "object" && value !== null) {
      return (value as Record<symbol, unknown>)[TASK_ERROR_BRAND] === true;
    }
    return false;
  }
}

/** User code in a task or actor method threw. `cause` is the original error; the message carries the remote stack. */
export class RayTaskError extends RayError {
  override readonly code: string = "RAY_TASK_ERROR";
  /** Name of the remote function or `Class.method` that failed. */
  functionName = "";
  /** The stack of the original error, as printed in the process that ran the task. */
  remoteStack = "";
  /** pid of the process the task ran in. */
  pid = 0;

  /** Wrap `cause`, thrown by `functionName` in process `pid`. */
  static wrap(functionName: string, cause: unknown, pid: number): RayTaskError {
    const c = cause instanceof Error ? cause : new Error(String(cause));
    const err = new this(taskErrorMessage(functionName, c, pid), { cause });
    err.functionName = functionName;
    err.remoteStack = c.stack ?? String(c);
    err.pid = pid;
    return err;
  }

  /**
   * The error to throw at `get`: when the cause's class is a known non-generic
   * Error subclass, a RayTaskError whose prototype chain includes that class, so
   * both `instanceof RayTaskError` and `instanceof UserError` hold.
   */
  static asUserClass(err: RayTaskError): RayTaskError {
    const cause = err.cause;
    if (!(cause instanceof Error) || cause.constructor === Error || cause instanceof RayError) return err;
    const ctor = cause.constructor as new (...a: unknown[]) => Error;
    let dual = dualClasses.get(ctor);
    if (!dual) {
      dual = class extends ctor {};
      Object.defineProperty(dual, "name", { value: `RayTaskError(${ctor.name})` });
      Object.defineProperty(dual.prototype, TASK_ERROR_BRAND, { value: true });
      dualClasses.set(ctor, dual);
    }
    const out = Object.create(dual.prototype) as RayTaskError;
    for (const key of Reflect.ownKeys(err)) {
      Object.defineProperty(out, key, Object.getOwnPropertyDescriptor(err, key)!);
    }
    Object.defineProperty(out, "name", {
      value: `RayTaskError(${ctor.name})`,
      writable: true,
      configurable: true,
    });
    return out;
  }
}
BRAND_CHECKED.add(RayError).add(RayTaskError);
const dualClasses = new WeakMap<Function, new (...a: unknown[]) => Error>();

function taskErrorMessage(fn: string, cause: Error, pid: number): string {
  const stack = cause.stack ?? `${cause.name}: ${cause.message}`;
  return `${fn} failed in worker pid=${pid}: ${cause.name}: ${cause.message}\n\nRemote traceback:\n${stack}`;
}

/** An actor could not run a call (it failed to start, or died). */
export class RayActorError extends RayError {
  override readonly code: string = "RAY_ACTOR_ERROR";
}

/** The actor is dead: killed, its process died, its node died or its owner died. The message names the cause. */
export class ActorDiedError extends RayActorError {
  override readonly code: string = "ACTOR_DIED";
}

/** `get` did not finish within its `timeout`. */
export class GetTimeoutError extends RayError {
  override readonly code: string = "GET_TIMEOUT";
}

/** The object's value is gone and cannot be rebuilt. */
export class ObjectLostError extends RayError {
  override readonly code: string = "OBJECT_LOST";
}

/** The process that owned the object died, so its value and status are gone. */
export class OwnerDiedError extends ObjectLostError {
  override readonly code: string = "OWNER_DIED";
}

/** The object store and its spill directory are both full. The message gives the sizes. */
export class ObjectStoreFullError extends RayError {
  override readonly code: string = "OBJECT_STORE_FULL";
}

/** The worker running the task died and the retry budget is spent. */
export class WorkerCrashedError extends RayError {
  override readonly code: string = "WORKER_CRASHED";
}

/** The task was cancelled with `ray.cancel`. */
export class TaskCancelledError extends RayError {
  override readonly code: string = "TASK_CANCELLED";
}

/** The node the task, actor or object lived on died. */
export class NodeDiedError extends RayError {
  override readonly code: string = "NODE_DIED";
}

/** No node in the cluster can ever meet the demand. The message says what is missing. */
export class InfeasibleResourcesError extends RayError {
  override readonly code: string = "INFEASIBLE_RESOURCES";
}

/** A value could not be serialized or deserialized (e.g. it holds a function). */
export class SerializationError extends RayError {
  override readonly code: string = "SERIALIZATION_ERROR";
}

/** The runtime is not usable: not initialized, shut down, or a process it needs is gone. */
export class RuntimeUnavailableError extends RayError {
  override readonly code: string = "RUNTIME_UNAVAILABLE";
}

/**
 * A peer did not prove the session secret (wrong, missing or unreadable secret),
 * or this process has no secret for the address it dials. The message says which
 * and where the secret was looked for; it never contains the secret.
 */
export class AuthenticationError extends RayError {
  override readonly code: string = "AUTHENTICATION_FAILED";
}

/** A peer broke the wire protocol: an unknown message kind, an oversized or garbled frame. */
export class ProtocolError extends RayError {
  override readonly code: string = "PROTOCOL_ERROR";
}

/** The two ends speak different protocol versions; the message names both. */
export class ProtocolVersionError extends ProtocolError {
  override readonly code: string = "PROTOCOL_VERSION_MISMATCH";
}

/**
 * A directory tsray keeps its secret, sockets or head records in is not safe to
 * use: not a directory, a symlink, owned by another user, or writable by others.
 */
export class UnsafeDirectoryError extends RayError {
  override readonly code: string = "UNSAFE_DIRECTORY";
}

/**
 * A worker imported the module of a remote function or actor class and did not find
 * it there, or found another one at its place: the definition is not at the module's
 * top level (inside a function, or behind a condition). The message names the
 * definition, the module and the rule. Reaches the caller as the `cause` of a
 * RayTaskError (tasks) or ActorDiedError (actor constructors).
 */
export class RemoteDefinitionError extends RayError {
  override readonly code: string = "REMOTE_DEFINITION_MISMATCH";
}

/** Every tsray error class by its stable code, used to rebuild errors after deserialization. */
export const ERROR_CLASSES: ReadonlyMap<string, new (message: string) => RayError> = new Map<
  string,
  new (
    message: string,
  ) => RayError
>([
  ["RAY_ERROR", RayError],
  ["RAY_TASK_ERROR", RayTaskError],
  ["RAY_ACTOR_ERROR", RayActorError],
  ["ACTOR_DIED", ActorDiedError],
  ["GET_TIMEOUT", GetTimeoutError],
  ["OBJECT_LOST", ObjectLostError],
  ["OWNER_DIED", OwnerDiedError],
  ["OBJECT_STORE_FULL", ObjectStoreFullError],
  ["WORKER_CRASHED", WorkerCrashedError],
  ["TASK_CANCELLED", TaskCancelledError],
  ["NODE_DIED", NodeDiedError],
  ["INFEASIBLE_RESOURCES", InfeasibleResourcesError],
  ["SERIALIZATION_ERROR", SerializationError],
  ["RUNTIME_UNAVAILABLE", RuntimeUnavailableError],
  ["AUTHENTICATION_FAILED", AuthenticationError],
  ["PROTOCOL_ERROR", ProtocolError],
  ["PROTOCOL_VERSION_MISMATCH", ProtocolVersionError],
  ["UNSAFE_DIRECTORY", UnsafeDirectoryError],
  ["REMOTE_DEFINITION_MISMATCH", RemoteDefinitionError],
]);
