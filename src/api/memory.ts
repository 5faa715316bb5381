import { requireCoreWorker } from "../core-worker/index.js";
import {
  Msg,
  type ObjectMemoryInfo,
  type ObjectStoreStats,
  type ProcessMemoryInfo,
  type Requester,
} from "../protocol/index.js";
import { checkKeys, show } from "./validate.js";

export type { ObjectStoreStats } from "../protocol/index.js";

/** One live object, cluster-wide: who owns it, its size, and who keeps it alive and why. */
export interface ObjectSummary {
  id: string;
  /** Address of the owning process. */
  owner: string;
  /** pid of the owning process (when it reported). */
  ownerPid: number | undefined;
  size: number;
  state: ObjectMemoryInfo["state"];
  /** Every process that holds it, with the reasons. */
  heldBy: Array<{ pid: number; workerId: string; reasons: string[] }>;
}

/** What `memory()` returns: per-process totals, every live object, and each node's object store. */
export interface MemorySummary {
  processes: Array<{
    pid: number;
    workerId: string;
    kind: ProcessMemoryInfo["kind"];
    rss: number;
    /** V8 heap in use, garbage not yet collected included. */
    heapUsed: number;
    /** Full collections the process ran on its own (workers collect after tasks); 0 for drivers. */
    fullGcs: number;
    /**
     * True for a worker that finished tasks recently and has not run its idle
     * collection yet: wait for false before reading `heapUsed` as what it retains.
     */
    gcPending: boolean;
    objects: number;
    bytes: number;
  }>;
  objects: ObjectSummary[];
  /**
   * The shared-memory object store of each node, as its node manager counts it
   * (Ray's `ray memory --stats-only`): capacity, bytes and objects in use, pinned,
   * spilled. One entry per node asked: today the local node.
   */
  objectStores: ObjectStoreStats[];
}

/** Options of {@link memory}. */
export interface MemoryOptions {
  /**
   * Run a full garbage collection in every process (drivers included) before it
   * reports, so refs and views that are only garbage are released first. The
   * releases it causes reach owners and the store shortly after: poll `memory()`
   * for the state you expect. Default false.
   */
  collectGarbage?: boolean;
}

function reasons(o: ObjectMemoryInfo): string[] {
  const r: string[] = [];
  if (o.localRefs > 0) r.push(`${o.localRefs} local ref${o.localRefs === 1 ? "" : "s"}`);
  if (o.lent > 0) r.push(`argument of ${o.lent} pending call${o.lent === 1 ? "" : "s"}`);
  if (o.pins > 0) r.push(`in ${o.pins} returned value${o.pins === 1 ? "" : "s"} not yet registered`);
  if (o.containedIn > 0) r.push(`inside ${o.containedIn} other object${o.containedIn === 1 ? "" : "s"}`);
  if (o.borrowers.length > 0)
    r.push(`borrowed by ${o.borrowers.length} process${o.borrowers.length === 1 ? "" : "es"}`);
  return r;
}

/** Merge per-process reports and store stats into a cluster-wide view (also used by `tsray memory`). */
export function summarizeMemory(
  reports: ProcessMemoryInfo[],
  objectStores: ObjectStoreStats[] = [],
): MemorySummary {
  const byAddress = new Map(reports.map((p) => [p.address, p]));
  const objects = new Map<string, ObjectSummary>();
  const processes: MemorySummary["processes"] = [];
  for (const p of reports) {
    let bytes = 0;
    for (const o of p.objects) {
      let s = objects.get(o.id);
      if (!s) {
        s = {
          id: o.id,
          owner: o.owner,
          ownerPid: byAddress.get(o.owner)?.pid,
          size: 0,
          state: o.state,
          heldBy: [],
        };
        objects.set(o.id, s);
      }
      if (o.owner === p.address) {
        s.size = o.size;
        s.state = o.state;
        bytes += o.size;
      }
      s.heldBy.push({ pid: p.pid, workerId: p.workerId, reasons: reasons(o) });
    }
    processes.push({
      pid: p.pid,
      workerId: p.workerId,
      kind: p.kind,
      rss: p.rss,
      heapUsed: p.heapUsed,
      fullGcs: p.fullGcs,
      gcPending: p.gcPending,
      objects: p.objects.length,
      bytes,
    });
  }
  return { processes, objects: [...objects.values()], objectStores };
}

/** The GetMemoryInfo request for `opts`, checked (shared with `tsray memory`). */
export function memoryRequest(
  opts: unknown,
  where: string,
): { t: typeof Msg.GetMemoryInfo; collect?: boolean } {
  if (opts === undefined) return { t: Msg.GetMemoryInfo };
  checkKeys(opts, ["collectGarbage"], where);
  const collect = opts.collectGarbage;
  if (collect !== undefined && typeof collect !== "boolean") {
    throw new TypeError(`${where}: collectGarbage must be true or false, got ${show(collect)}`);
  }
  return collect ? { t: Msg.GetMemoryInfo, collect: true } : { t: Msg.GetMemoryInfo };
}

/**
 * Every live object in the cluster's processes (on the local node), with its owner,
 * size, and who holds it and why (local refs, pending calls, borrowers, containing
 * objects), each process's RSS and heap, and the node's object-store usage
 * (`objectStores`): the tool for "why is memory growing?". Also `tsray memory`.
 * Throws TypeError for bad options; RuntimeUnavailableError if tsray is not running.
 */
export async function memory(opts?: MemoryOptions): Promise<MemorySummary> {
  const request = memoryRequest(opts, "memory()");
  const core = requireCoreWorker("memory()");
  return fetchMemory((body) => core.call(body), request);
}

/**
 * Ask a node manager (through `call`) for its processes' reports and its store's
 * stats, and merge them: `memory()` and `tsray memory` alike.
 */
export async function fetchMemory(
  call: Requester,
  request: ReturnType<typeof memoryRequest>,
): Promise<MemorySummary> {
  const [reports, store] = await Promise.all([call(request), call({ t: Msg.GetStoreStats })]);
  return summarizeMemory(reports, [store]);
}
