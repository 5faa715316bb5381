/**
 * What the current process is and what it is running, for getRuntimeContext()
 * and getGpuIds(). Normal-task workers run one task at a time, so a plain module
 * variable is exact for them.
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

interface Current {
  taskId: string | undefined;
  actorId: string | undefined;
  gpuIds: number[];
}
export const current: Current = { taskId: undefined, actorId: undefined, gpuIds: [] };
