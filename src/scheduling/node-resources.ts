// NodeResources: the resource ledger of one node (totals, what is free, who holds what).
import { describeValue, fromUnits, setEntry, toUnits, UNIT_SCALE } from "./amounts.js";
import { type GpuGrant, GpuInstances } from "./gpu-instances.js";
import type { CompiledDemand, ResourceMap } from "./resource-map.js";
import { compileDemand } from "./resource-map.js";
import { checkResourceMap } from "./validate.js";

/**
 * The result of allocating a demand on one node. Frozen; pass the same object back to
 * {@link NodeResources.release}.
 * - `demand`: the demand as allocated, rounded to fixed point, zero entries left out.
 * - `gpuIds`: the GPU instance ids granted: k distinct ids each fully taken for a whole
 *   demand of k GPUs, or one (possibly shared) id for a fraction below 1; [] for no GPU.
 * - `gpuFraction`: the share of each listed GPU: 1 for whole GPUs, the fraction for a
 *   fractional demand, 0 when no GPU was asked for.
 */
export interface Allocation {
  readonly demand: ResourceMap;
  readonly gpuIds: readonly number[];
  readonly gpuFraction: number;
}

interface Held {
  readonly names: readonly string[];
  readonly units: readonly number[];
  readonly cpuUnits: number;
  readonly gpu: GpuGrant;
  cpuReleased: boolean;
}

const WHERE = "NodeResources";

/**
 * Resource accounting for one node. Amounts are kept in fixed point (1/10000 units;
 * whole bytes for memory) internally so 0.1+0.2 style sums never drift. GPUs are also
 * tracked per instance so whole GPUs are never shared and fractions pack.
 * Pure bookkeeping: no I/O, no timers.
 */
export class NodeResources {
  readonly #totalUnits = new Map<string, number>();
  readonly #availUnits = new Map<string, number>();
  readonly #total: ResourceMap;
  readonly #gpus: GpuInstances;
  readonly #held = new Map<Allocation, Held>();
  readonly #released = new WeakSet<Allocation>();

  /**
   * @param total the node's capacity: name -> finite amount >= 0; `GPU` must be whole.
   * @param gpuIds the node's GPU ids (distinct integers >= 0, one per GPU); defaults to 0..GPU-1.
   * @throws TypeError for a bad total or gpuIds.
   */
  constructor(total: ResourceMap, gpuIds?: readonly number[]) {
    const totals: Record<string, number> = {};
    for (const [name, amount] of checkResourceMap(WHERE, "total", total)) {
      const units = toUnits(name, amount);
      if (units === 0) continue;
      if (name === "GPU" && units % UNIT_SCALE !== 0) {
        throw new TypeError(`${WHERE}: total["GPU"] must be a whole number of GPUs, got ${amount}`);
      }
      this.#totalUnits.set(name, units);
      this.#availUnits.set(name, units);
      setEntry(totals, name, amount);
    }
    this.#total = Object.freeze(totals);
    const count = (this.#totalUnits.get("GPU") ?? 0) / UNIT_SCALE;
    this.#gpus = new GpuInstances(
      gpuIds === undefined ? Array.from({ length: count }, (_, i) => i) : checkIds(gpuIds, count),
    );
  }

  /** The node's capacity (frozen; zero entries left out). */
  get total(): ResourceMap {
    return this.#total;
  }

  /**
   * What is free now, for every name in {@link total} (frozen snapshot; entries may be 0,
   * and CPU may be negative while blocked workers have reacquired their CPU).
   */
  get available(): ResourceMap {
    const out: Record<string, number> = {};
    for (const [name, units] of this.#availUnits) setEntry(out, name, fromUnits(name, units));
    return Object.freeze(out);
  }

  /** The node's GPU ids, ascending. */
  get gpuIds(): readonly number[] {
    return this.#gpus.ids;
  }

  /** Could this demand EVER fit on this node (against totals)? @throws TypeError for an invalid demand. */
  feasible(demand: ResourceMap): boolean {
    const c = compileDemand(demand);
    for (let i = 0; i < c.names.length; i++) {
      if (c.units[i] > (this.#totalUnits.get(c.names[i]) ?? 0)) return false;
    }
    return true;
  }

  /** Does this demand fit now (GPUs checked per instance)? @throws TypeError for an invalid demand. */
  fits(demand: ResourceMap): boolean {
    return this.#fits(compileDemand(demand));
  }

  #fits(c: CompiledDemand): boolean {
    for (let i = 0; i < c.names.length; i++) {
      if (c.names[i] !== "GPU" && c.units[i] > (this.#availUnits.get(c.names[i]) ?? 0)) return false;
    }
    return this.#gpus.canTake(c.gpuUnits);
  }

  /**
   * Allocates the demand if it fits now, else returns null. Whole GPUs: k distinct fully
   * free instances, lowest ids first; a fraction: one instance whose free share is
   * enough, preferring the most used one (to pack).
   * @throws TypeError for an invalid demand.
   */
  allocate(demand: ResourceMap): Allocation | null {
    const c = compileDemand(demand);
    if (!this.#fits(c)) return null;
    const gpu = this.#gpus.take(c.gpuUnits)!;
    for (let i = 0; i < c.names.length; i++) this.#add(c.names[i], -c.units[i]);
    const a: Allocation = Object.freeze({
      demand: c.normalized,
      gpuIds: gpu.ids,
      gpuFraction: gpu.unitsEach / UNIT_SCALE,
    });
    this.#held.set(a, { names: c.names, units: c.units, cpuUnits: c.cpuUnits, gpu, cpuReleased: false });
    return a;
  }

  /**
   * Returns an allocation made by this node. CPU given back by {@link releaseCpu} is not
   * returned twice.
   * @throws Error when the allocation was already released or was not made by this node.
   */
  release(a: Allocation): void {
    const held = this.#holding(a, "release");
    this.#gpus.give(held.gpu);
    for (let i = 0; i < held.names.length; i++) {
      if (held.names[i] === "CPU" && held.cpuReleased) continue;
      this.#add(held.names[i], held.units[i]);
    }
    this.#held.delete(a);
    this.#released.add(a);
  }

  /**
   * A worker blocked in `ray.get` gives back its CPU temporarily (Ray semantics). No-op
   * for allocations without CPU or whose CPU is already given back.
   * @throws Error when the allocation is not held on this node.
   */
  releaseCpu(a: Allocation): void {
    const held = this.#holding(a, "releaseCpu");
    if (held.cpuUnits === 0 || held.cpuReleased) return;
    held.cpuReleased = true;
    this.#add("CPU", held.cpuUnits);
  }

  /**
   * Takes back CPU given back by {@link releaseCpu}, even if that oversubscribes the node
   * (available CPU may go negative). No-op for allocations without CPU or holding it.
   * @throws Error when the allocation is not held on this node.
   */
  reacquireCpu(a: Allocation): void {
    const held = this.#holding(a, "reacquireCpu");
    if (held.cpuUnits === 0 || !held.cpuReleased) return;
    held.cpuReleased = false;
    this.#add("CPU", -held.cpuUnits);
  }

  /** Is this allocation currently held on this node (allocated and not yet released)? */
  holds(a: Allocation): boolean {
    return this.#held.has(a);
  }

  /** How many allocations are currently held. */
  get heldCount(): number {
    return this.#held.size;
  }

  /**
   * Critical-resource utilization: the largest used/total share over the node's
   * resources, 0 for an idle or empty node; may exceed 1 while CPU is oversubscribed.
   */
  utilization(): number {
    let max = 0;
    for (const [name, total] of this.#totalUnits) {
      const used = (total - (this.#availUnits.get(name) ?? 0)) / total;
      if (used > max) max = used;
    }
    return max;
  }

  #add(name: string, units: number): void {
    this.#availUnits.set(name, (this.#availUnits.get(name) ?? 0) + units);
  }

  #holding(a: Allocation, op: string): Held {
    const held = this.#held.get(a);
    if (held !== undefined) return held;
    if (this.#released.has(a)) {
      throw new Error(`${WHERE}.${op}: this allocation was already released; release each allocation once`);
    }
    throw new Error(
      `${WHERE}.${op}: this allocation was not made by this node (pass the object allocate() returned)`,
    );
  }
}

function checkIds(ids: unknown, count: number): number[] {
  if (!Array.isArray(ids) || ids.length !== count) {
    const got = Array.isArray(ids) ? `${ids.length} ids` : describeValue(ids);
    throw new TypeError(
      `${WHERE}: gpuIds must list exactly ${count} GPU ids (one per total GPU), got ${got}`,
    );
  }
  const seen = new Set<number>();
  for (const id of ids as unknown[]) {
    if (typeof id !== "number" || !Number.isSafeInteger(id) || id < 0 || seen.has(id)) {
      const why = seen.has(id as number) ? `${id} twice` : describeValue(id);
      throw new TypeError(`${WHERE}: gpuIds must be distinct integers >= 0, got ${why}`);
    }
    seen.add(id);
  }
  return [...seen];
}
