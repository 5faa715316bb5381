import { getHeapStatistics } from "node:v8";
import { type Clock, realClock } from "../util/index.js";

type GcFn = (opts?: { type: "minor" }) => void;

/** What the collector needs to know about the process's refs and store views. */
export interface GcSignals {
  /** Refs or handles created since the last collection (reset by the collector). */
  createdSinceGc: number;
  /** Objects this process holds store views of (pinned until the views are collected). */
  readonly pinnedObjects: number;
}

/** A full collection is worth it once idle when the heap grew this much since the last one. */
const IDLE_GROWTH_BYTES = 4 * 1024 * 1024;
/** Full collections may take at most 1/50 (2%) of the time. */
const FULL_GC_BUDGET = 50;
/**
 * V8 sizes the young generation by the allocation rate of the last 5 s: a collection
 * right after a burst keeps it at its grown size (16 MiB semi-spaces, ~25 MB of RSS
 * more than a fresh worker). One this long into an idle period finds the rate low and
 * shrinks it, giving the pages back.
 */
const QUIET_DELAY_MS = 6000;
/** The quiet collection runs only when the committed heap grew this much since the last one. */
const QUIET_GROWTH_BYTES = 8 * 1024 * 1024;

/**
 * When a worker process collects garbage (JavaScript has no deterministic
 * destructors: dropped refs and store views are released by a collection).
 *
 * After a task or call, a timer looks 20 ms later. While tasks keep finishing:
 * minor collections (cheap; catch short-lived refs) when refs or views were created,
 * every 8th a full one. Once idle (no task finished since the timer was set): a full
 * collection when refs or views were created — refs that lived through a task are
 * usually old — or when the heap grew by 4 MiB since the last full one (tasks that
 * create no refs still leave garbage: messages, decoded arguments; without this an
 * idle worker would keep it, and the RSS it took, until it allocates again). Full
 * collections take at most ~2% of the process's CPU time: one not due yet waits.
 * When the idle collection leaves a committed heap 8 MiB larger than after the last
 * quiet one, a _quiet_ collection follows 6 s later if no task finished meanwhile:
 * only then does V8 shrink the young generation it grew during the burst (see
 * QUIET_DELAY_MS), so an idle worker's RSS returns to its baseline.
 * `gc()` without options: on Node 20, `gc({ type: "major" })` is no full collection
 * (nor is `flavor: "last-resort"`).
 */
export class WorkerCollector {
  private scheduled = false;
  /** Refs or views were seen since the last full collection. */
  private fullDue = false;
  private tasksSinceTimer = 0;
  private collections = 0;
  private fullAllowedAt = 0;
  private heapAfterFull = getHeapStatistics().used_heap_size;
  private committedAfterQuiet = getHeapStatistics().total_heap_size;
  private quietScheduled = false;
  private quietMark = 0;
  private quietDue = 0;
  /** Tasks finished since start (the quiet collection runs only if none finished while it waited). */
  private tasks = 0;
  /** Full collections run so far. */
  fullGcs = 0;

  constructor(
    private readonly signals: GcSignals,
    private readonly gc: GcFn | undefined = (globalThis as { gc?: GcFn }).gc,
    /** Times the idle and quiet collections and the CPU budget. */
    private readonly clock: Clock = realClock,
  ) {}

  /**
   * True while a collection is scheduled: tasks finished recently and the idle
   * collection (or the quiet one after it) has not run yet.
   */
  get pending(): boolean {
    return this.scheduled || this.quietScheduled;
  }

  /** A task or call finished. */
  afterTask(): void {
    this.tasks++;
    this.tasksSinceTimer++;
    if (!this.scheduled) this.schedule(20);
  }

  private get garbage(): boolean {
    return this.signals.createdSinceGc > 0 || this.signals.pinnedObjects > 0;
  }

  private schedule(delayMs: number): void {
    if (!this.gc) return;
    this.scheduled = true;
    this.tasksSinceTimer = 0;
    this.clock.setTimeout(() => this.look(), delayMs).unref();
  }

  private look(): void {
    const gc = this.gc!;
    this.scheduled = false;
    const idle = this.tasksSinceTimer === 0;
    const waitMs = this.fullAllowedAt - this.clock.now();
    // Refs created since the last full collection need one, even once a minor collection reset the count.
    if (this.garbage) this.fullDue = true;
    if (!this.fullDue) {
      if (!idle)
        this.schedule(20); // look again once idle
      else if (getHeapStatistics().used_heap_size - this.heapAfterFull < IDLE_GROWTH_BYTES)
        this.maybeQuiet(gc);
      else if (waitMs > 0) this.schedule(waitMs);
      else {
        this.full(gc);
        this.maybeQuiet(gc);
      }
      return;
    }
    if ((idle || ++this.collections % 8 === 0) && waitMs <= 0) {
      this.full(gc);
      if (idle) this.maybeQuiet(gc);
    } else if (idle) {
      gc({ type: "minor" });
      this.schedule(Math.max(20, waitMs)); // the full collection once it is due
    } else {
      if (this.signals.createdSinceGc > 0) {
        this.signals.createdSinceGc = 0;
        gc({ type: "minor" });
      }
      // Refs that outlived the minor collection (now old) or views still pinned need the full one: look again.
      this.schedule(20);
    }
  }

  private full(gc: GcFn): void {
    this.signals.createdSinceGc = 0;
    this.fullDue = false;
    const cpu = process.cpuUsage();
    gc();
    // Its CPU time, not wall time: on a busy machine waiting for a core is no GC cost.
    const { user, system } = process.cpuUsage(cpu);
    this.fullAllowedAt = this.clock.now() + ((user + system) / 1000) * FULL_GC_BUDGET;
    this.fullGcs++;
    this.heapAfterFull = getHeapStatistics().used_heap_size;
  }

  /** Idle now: (re)arm the quiet collection if the committed heap grew since the last one. */
  private maybeQuiet(gc: GcFn): void {
    if (getHeapStatistics().total_heap_size - this.committedAfterQuiet < QUIET_GROWTH_BYTES) return;
    // Quiet means: no task finished since this idle moment, for QUIET_DELAY_MS.
    this.quietMark = this.tasks;
    this.quietDue = this.clock.now() + QUIET_DELAY_MS;
    if (!this.quietScheduled) this.armQuiet(gc, QUIET_DELAY_MS);
  }

  private armQuiet(gc: GcFn, delayMs: number): void {
    this.quietScheduled = true;
    this.clock
      .setTimeout(() => {
        const left = this.quietDue - this.clock.now();
        if (left > 1) return this.armQuiet(gc, left); // re-armed by a later idle moment
        this.quietScheduled = false;
        // A task since: not quiet; the idle look after it arms the quiet collection again.
        if (this.tasks !== this.quietMark || this.scheduled) return;
        gc();
        this.fullGcs++;
        const heap = getHeapStatistics();
        this.heapAfterFull = heap.used_heap_size;
        this.committedAfterQuiet = heap.total_heap_size;
      }, delayMs)
      .unref();
  }
}
