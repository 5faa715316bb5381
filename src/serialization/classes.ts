import {
  callerModuleUrl,
  importModule,
  isEntryModule,
  loadedModule,
  loadedModules,
  settledSince,
  trackModule,
} from "../code-loading/index.js";
import { SerializationError } from "../errors/index.js";
import { addCycleProbe, setInstanceCodec } from "./codec.js";

/**
 * Instances of user classes travel by reference to their class, as pickle does:
 * `[module URL, export name, own enumerable fields]`. The receiver imports the module
 * (once per process), takes the export and rebuilds the instance with
 * `Object.create(Class.prototype)` plus the fields, without running the constructor.
 * A class is found by identity among the exports of the modules tsray knows (see
 * code-loading's namespaces); a class it cannot find is a SerializationError at the
 * encode site, unless the user opted it into plain-object conversion.
 */

/** Where a class is found in every process: its module's URL and export name. */
interface Location {
  readonly url: string;
  readonly name: string;
}
const PLAIN = "plain";
type Route = Location | typeof PLAIN;
type Fields = Record<string, unknown>;

/** How each class's instances travel, once known (lookups by module scan are cached here). */
const routes = new WeakMap<Function, Route>();
/** The module each registerClass(Class) call came from, to explain a failed lookup. */
const registeredIn = new WeakMap<Function, string>();

function nameOf(ctor: Function | undefined): string {
  return ctor?.name ? ctor.name : "(anonymous class)";
}

function pathOf(url: string): string {
  return url.replace(/^file:\/\//, "");
}

function fieldsOf(v: object): Fields {
  const out: Fields = {};
  for (const k of Object.keys(v)) out[k] = (v as Fields)[k];
  return out;
}

/** The class among the loaded modules' exports; a named export wins over `default`. */
function findExport(ctor: Function): Location | undefined {
  let found: Location | undefined;
  for (const [url, ns] of loadedModules()) {
    for (const name of Object.keys(ns)) {
      if (ns[name] !== ctor) continue;
      if (name !== "default") return { url, name };
      found ??= { url, name };
    }
  }
  return found;
}

function inheritsPlain(ctor: Function): boolean {
  for (let c: unknown = Object.getPrototypeOf(ctor); typeof c === "function"; c = Object.getPrototypeOf(c)) {
    if (routes.get(c) === PLAIN) return true;
  }
  return false;
}

function routeFor(ctor: Function): Route | undefined {
  const known = routes.get(ctor);
  if (known) return known;
  const found = findExport(ctor) ?? (inheritsPlain(ctor) ? PLAIN : undefined);
  if (found) routes.set(ctor, found);
  return found;
}

function notFound(ctor: Function): SerializationError {
  const name = nameOf(ctor);
  const reg = registeredIn.get(ctor);
  let why: string;
  if (reg === undefined) {
    why =
      `${name} is not exported from a module tsray knows (one that defines remote functions or actor classes, ` +
      `or that calls registerClass(${name})); classes of the driver's entry script cannot be imported by workers`;
    if (settledSince(0)) why += "; some modules tsray knows are still loading (imported just now?)";
  } else if (loadedModule(reg) === undefined) {
    why = `registerClass(${name}) was called in ${pathOf(reg)}, which has not finished loading yet`;
  } else {
    why = `registerClass(${name}) was called in ${pathOf(reg)}, but that module does not export ${name}`;
  }
  return new SerializationError(
    `cannot serialize an instance of class ${name}: ${why}. Export ${name} from such a module, ` +
      `or call registerSerializer(${name}, { serialize, deserialize }), ` +
      `or registerClass(${name}, { plainObject: true }) to send its instances as plain objects (without their methods)`,
  );
}

function writeInstance(v: object): unknown {
  const proto = Object.getPrototypeOf(v) as { constructor?: unknown };
  const ctor = proto.constructor;
  if (typeof ctor !== "function" || ctor.prototype !== proto) {
    throw new SerializationError(
      "cannot serialize an object whose prototype is not a class's prototype (made with Object.create?): " +
        "send a plain object or an instance of an exported class instead",
    );
  }
  const route = routeFor(ctor);
  if (route === PLAIN) return fieldsOf(v);
  if (!route) throw notFound(ctor);
  return [route.url, route.name, fieldsOf(v)];
}

/** The prototype of (url, name) if that module is loaded here; throws if it exports no such class. */
function protoFor(url: string, name: string): object | undefined {
  const ns = loadedModule(url);
  if (!ns) return undefined;
  const C = ns[name] as { prototype?: unknown } | undefined;
  if (typeof C !== "function" || typeof C.prototype !== "object" || C.prototype === null) {
    throw new SerializationError(
      `cannot deserialize an instance of class ${name}: ${pathOf(url)} does not export a class named ${name} ` +
        `in this process (pid ${process.pid}); the sender and the receiver must run the same code`,
    );
  }
  if (!routes.has(C)) routes.set(C, { url, name });
  return C.prototype;
}

/** Instances decoded before their module was loaded here: fixed once its import settles. */
interface Pending {
  /** Their prototype until then; linked to the class's prototype afterwards (for cycle copies). */
  readonly standIn: object;
  readonly items: object[];
  readonly done: Promise<void>;
}
const pending = new Map<string, Pending>();
/** Fix-ups the decodes since the last classesSettled() call wait for. */
let unsettled = new Set<Promise<void>>();

function pendingFor(url: string, name: string): Pending {
  const key = `${url}\n${name}`;
  let p = pending.get(key);
  if (!p) {
    // Checked only here: a module that is loaded already was never this process's entry.
    if (isEntryModule(url)) {
      throw new SerializationError(
        `cannot deserialize an instance of class ${name}: it comes from ${pathOf(url) || "a script that is not a module file"}, ` +
          "this process's entry script, which tsray does not import again",
      );
    }
    const standIn = Object.create(null) as object;
    const items: object[] = [];
    const done = importModule(url)
      .then(
        () => {
          const proto = protoFor(url, name)!;
          Object.setPrototypeOf(standIn, proto);
          for (const x of items) Object.setPrototypeOf(x, proto);
        },
        (err: unknown) => {
          throw new SerializationError(
            `cannot deserialize an instance of class ${name}: importing ${pathOf(url)} failed ` +
              `in this process (pid ${process.pid}): ${err instanceof Error ? err.message : String(err)}`,
            { cause: err },
          );
        },
      )
      .finally(() => pending.delete(key));
    // Whoever decoded the value reports a failure (classesSettled); never an unhandled rejection.
    done.catch(() => undefined);
    p = { standIn, items, done };
    pending.set(key, p);
  }
  unsettled.add(p.done);
  return p;
}

function readInstance(data: unknown): unknown {
  if (!Array.isArray(data)) return data; // a class opted into plain objects
  const [url, name, fields] = data as [unknown, unknown, Fields];
  if (typeof url !== "string" || typeof name !== "string" || typeof fields !== "object" || fields === null) {
    throw new SerializationError("cannot deserialize a class instance: malformed data");
  }
  const proto = protoFor(url, name);
  const p = proto ? undefined : pendingFor(url, name);
  const target = proto ?? p!.standIn;
  const x = Object.create(target) as object;
  // Own data properties, as the constructor made them: an accessor on the prototype is not called.
  for (const k of Object.keys(fields)) {
    Object.defineProperty(x, k, { value: fields[k], writable: true, enumerable: true, configurable: true });
  }
  addCycleProbe(x, target);
  p?.items.push(x);
  return x;
}

setInstanceCodec({ write: writeInstance, read: readInstance });

/**
 * Resolves when the class instances decoded since the last call have their classes
 * (their modules imported); undefined when there are none, so the hot path stays
 * synchronous. Rejects with a SerializationError when a class cannot be loaded.
 * Every site that hands decoded values to user code calls it right after decoding.
 */
export function classesSettled(): Promise<void> | undefined {
  if (unsettled.size === 0) return undefined;
  const batch = unsettled;
  unsettled = new Set();
  return Promise.all(batch).then(() => undefined);
}

/** Options of {@link registerClass}. */
export interface RegisterClassOptions {
  /**
   * Send instances as plain objects (own enumerable fields, no prototype, no
   * methods) instead of failing when the class cannot be found by module.
   */
  plainObject?: boolean;
}

/**
 * Say how instances of `Class` cross processes. Without options: `Class` is exported
 * by the calling module, which workers can import; call it at that module's top
 * level (modules that define remote functions or actor classes need no call: their
 * exported classes are found automatically). With `{ plainObject: true }`: instances
 * of `Class` and its subclasses travel as plain objects (the old lossy conversion,
 * chosen explicitly). Throws TypeError on a non-class, an Error class (use
 * registerSerializer), bad options, or a call from the driver's entry script.
 */
export function registerClass(
  Class: abstract new (...args: never[]) => unknown,
  options: RegisterClassOptions = {},
): void {
  if (typeof Class !== "function" || typeof Class.prototype !== "object" || Class.prototype === null) {
    throw new TypeError(
      `registerClass: Class must be a class, got ${typeof Class === "function" ? "a function without a prototype" : typeof Class}`,
    );
  }
  const name = nameOf(Class);
  if (Class === Error || Class.prototype instanceof Error) {
    throw new TypeError(
      `registerClass: ${name} is an Error class; errors travel as errors: call registerSerializer(${name}) so they come back as ${name}`,
    );
  }
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new TypeError(
      `registerClass: options must be an object such as { plainObject: true }, got ${String(options)}`,
    );
  }
  for (const key of Object.keys(options)) {
    if (key !== "plainObject")
      throw new TypeError(`registerClass: unknown option "${key}"; the valid option is plainObject`);
  }
  const plain = options.plainObject;
  if (plain !== undefined && typeof plain !== "boolean") {
    throw new TypeError(
      `registerClass: plainObject must be true or false, got ${typeof plain} ${String(plain)}`,
    );
  }
  if (plain) {
    routes.set(Class, PLAIN);
    return;
  }
  const module = callerModuleUrl();
  if (isEntryModule(module)) {
    throw new TypeError(
      `registerClass(${name}) was called from ${module ? `${pathOf(module)}, the driver's entry script` : "code that is not a module file"}, ` +
        `which workers cannot import: move ${name} and this call into a module that the entry script imports, ` +
        "or pass { plainObject: true } to send its instances as plain objects",
    );
  }
  if (routes.get(Class) === PLAIN) routes.delete(Class);
  registeredIn.set(Class, module);
  trackModule(module);
}
