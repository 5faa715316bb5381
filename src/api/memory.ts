import { requireCoreWorker } from "../core-worker/index.js";
import { Msg, type ObjectMemoryInfo, type ProcessMemoryInfo } from "../protocol/index.js";

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

/** What `memory()` returns: per-process totals and every live object. */
export interface MemorySummary {
  processes: Array<{
    pid: number;
    workerId: string;
    kind: ProcessMemoryInfo["kind"];
    rss: number;
    objects: number;
    bytes: number;
  }>;
  objects: ObjectSummary[];
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

/** Merge per-process reports into a cluster-wide view (also used by `tsray memory`). */
export function summarizeMemory(reports: ProcessMemoryInfo[]): MemorySummary {
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
      objects: p.objects.length,
      bytes,
    });
  }
  return { processes, objects: [...objects.values()] };
}

/**
 * Every live object in the cluster's processes (on the local node), with its owner,
 * size, and who holds it and why (local refs, pending calls, borrowers, containing
 * objects): the tool for "why is memory growing?". Also `tsray memory`.
 */
export async function memory(): Promise<MemorySummary> {
  const reports = await requireCoreWorker("memory()").call<ProcessMemoryInfo[]>({ t: Msg.GetMemoryInfo });
  return summarizeMemory(reports);
}
