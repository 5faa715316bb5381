/**
 * Module namespaces this process has imported for tsray: the modules that define
 * remote functions and actor classes, modules named with `registerClass`, and the
 * modules of class instances it decoded. The serializer looks classes up in them by
 * identity (a class travels as its module URL plus export name), so a lookup must be
 * synchronous: each module is imported once, as soon as tsray learns of it, and its
 * namespace is kept here once that import settles.
 *
 * The tables live on globalThis so that two copies of the tsray package in one
 * process (compiled and source) see the same modules, as the code-loading registry does.
 */
type Namespace = Readonly<Record<string, unknown>>;
interface Tables {
  loaded: Map<string, Namespace>;
  loading: Map<string, Promise<Namespace>>;
}
const KEY = Symbol.for("tsray.code-loading.namespaces");
const g = globalThis as unknown as Record<symbol, Tables | undefined>;
const tables: Tables = (g[KEY] ??= { loaded: new Map(), loading: new Map() });

/**
 * Import `url` once per process (later calls share the first import, also its
 * failure) and keep its namespace for loadedModule/loadedModules.
 */
export function importModule(url: string): Promise<Namespace> {
  let p = tables.loading.get(url);
  if (!p) {
    p = (import(url) as Promise<Namespace>).then((ns) => {
      tables.loaded.set(url, ns);
      return ns;
    });
    tables.loading.set(url, p);
  }
  return p;
}

/**
 * Start importing a module tsray should search for classes. Called while that module
 * is still evaluating (its top-level `remote()`), so the import settles once it has
 * finished, without running it again. A failure is reported by whoever needs the module.
 */
export function trackModule(url: string): void {
  importModule(url).catch(() => undefined);
}

/** The namespace of `url` if its import has completed in this process. */
export function loadedModule(url: string): Namespace | undefined {
  return tables.loaded.get(url);
}

/** Every module namespace imported so far, by URL. */
export function loadedModules(): ReadonlyMap<string, Namespace> {
  return tables.loaded;
}

/** Resolves once every import started so far has settled (never rejects). */
export async function modulesSettled(): Promise<void> {
  await Promise.all([...tables.loading.values()].map((p) => p.catch(() => undefined)));
}
