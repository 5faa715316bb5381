/**
 * What the current process is and what it is running, for getRuntimeContext()
 * and getGpuIds(). Normal-task workers run one task at a time, so one task context
 * per core worker is exact for them.
 */
export interface RuntimeContext {
  /** Id of the job (driver session) this process works for. */
  readonly jobId: string;
  /** Id of the node this process runs on. */
  readonly nodeId: string;
  /** Id of this process's core worker. */
  readonly workerId: string;
  /**
   * The task being run now (workers only). In an actor with maxConcurrency > 1 whose calls
   * interleave at awaits, read it before the method's first await: after one it names the
   * call that started last (tracking it across awaits, with AsyncLocalStorage, costs every
   * call of such actors about 15-40% more worker CPU on Node 20).
   */
  readonly taskId?: string;
  /** The actor this process hosts (actor workers only). */
  readonly actorId?: string;
  /** True in the driver. */
  readonly isDriver: boolean;
  /** This process's pid. */
  readonly pid: number;
}

/**
 * What one core worker is running now (executor state, one per core worker, not per
 * process): written by its executors, read by getRuntimeContext()/getGpuIds() through
 * the default instance.
 */
export interface TaskContext {
  /** The task or call running now (see RuntimeContext.taskId for interleaving actor calls). */
  taskId: string | undefined;
  /** The actor this core worker hosts. */
  actorId: string | undefined;
  /** GPU ids assigned to the running task or the hosted actor. */
  gpuIds: number[];
}

/** A fresh task context: nothing running, no actor, no GPUs. */
export function newTaskContext(): TaskContext {
  return { taskId: undefined, actorId: undefined, gpuIds: [] };
}
