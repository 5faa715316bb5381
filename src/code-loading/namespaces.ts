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
  /** Imports not settled yet, by start number. */
  unsettled: Map<number, Promise<unknown>>;
  /** Imports started so far. */
  started: number;
}
const KEY = Symbol.for("tsray.code-loading.namespaces");
const g = globalThis as unknown as Record<symbol, Tables | undefined>;
const tables: Tables = (g[KEY] ??= {
  loaded: new Map(),
  loading: new Map(),
  unsettled: new Map(),
  started: 0,
});

/**
 * Import `url` once per process (later calls share the first import, also its
 * failure) and keep its namespace for loadedModule/loadedModules.
 */
export function importModule(url: string): Promise<Namespace> {
  let p = tables.loading.get(url);
  if (!p) {
    const n = tables.started++;
    p = (import(url) as Promise<Namespace>).then((ns) => {
      tables.loaded.set(url, ns);
      return ns;
    });
    tables.loading.set(url, p);
    tables.unsettled.set(n, p);
    p.then(
      () => tables.unsettled.delete(n),
      () => tables.unsettled.delete(n),
    );
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

/** A mark for settledSince: how many imports have started so far. */
export function importMark(): number {
  return tables.started;
}

/**
 * Resolves (never rejects) once the imports started since `mark` have settled;
 * undefined when none is still going (the common case: no promise, no tick).
 * Waiting only for imports started since a mark, never for every pending one, means
 * a module whose top-level await waits for this very task cannot deadlock it.
 */
export function settledSince(mark: number): Promise<void> | undefined {
  let waits: Array<Promise<unknown>> | undefined;
  for (const [n, p] of tables.unsettled) if (n >= mark) (waits ??= []).push(p.catch(() => undefined));
  return waits && Promise.all(waits).then(() => undefined);
}
