import type { RuntimeContext } from "../core-worker/index.js";
import { currentCoreWorker, requireCoreWorker } from "../core-worker/index.js";
import { Msg, type NodeInfo, type WorkerInfo } from "../protocol/index.js";

/** GPU ids assigned to the current task or actor ([] in the driver or without GPUs). Reads the default instance. */
export function getGpuIds(): number[] {
  return [...(currentCoreWorker()?.context.gpuIds ?? [])];
}

/** Who and where the caller is: job, node, worker, and the current task/actor in workers (the default instance's). */
export function getRuntimeContext(): RuntimeContext {
  const cw = requireCoreWorker("getRuntimeContext()");
  const current = cw.context;
  const ctx: RuntimeContext = {
    jobId: cw.jobId,
    nodeId: cw.nodeId,
    workerId: cw.opts.workerId,
    isDriver: cw.opts.mode === "driver",
    pid: process.pid,
    ...(current.taskId !== undefined ? { taskId: current.taskId } : {}),
    ...(current.actorId !== undefined ? { actorId: current.actorId } : {}),
  };
  return ctx;
}

/** The nodes of the cluster. */
export async function nodes(): Promise<NodeInfo[]> {
  return requireCoreWorker("nodes()").call({ t: Msg.GetNodes });
}

async function resources(): Promise<{ total: Record<string, number>; available: Record<string, number> }> {
  return requireCoreWorker("clusterResources()").call({ t: Msg.GetClusterResources });
}

/** Total resources of the live nodes, e.g. `{ CPU: 4, GPU: 1, memory: ... }`. */
export async function clusterResources(): Promise<Record<string, number>> {
  return (await resources()).total;
}

/** Resources not held by running tasks/actors right now (zero entries omitted, as in Ray). */
export async function availableResources(): Promise<Record<string, number>> {
  const { available } = await resources();
  return Object.fromEntries(Object.entries(available).filter(([, v]) => v > 0));
}

/** The worker processes of the local node (pid, state): for debugging and leak checks. */
export async function listWorkers(): Promise<WorkerInfo[]> {
  const view = await requireCoreWorker("listWorkers()").call({ t: Msg.GetNodeResources });
  return view.workers;
}
