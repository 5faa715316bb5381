// Per-instance GPU accounting for one node: each GPU id has UNIT_SCALE units, either
// taken whole by one holder or shared in fractions by several.
import { UNIT_SCALE } from "./amounts.js";

/** GPUs granted for one demand: the ids and the units taken from each. */
export interface GpuGrant {
  readonly ids: readonly number[];
  readonly unitsEach: number;
}

/**
 * The GPU instances of one node, free units per id. Whole demands (units a multiple of
 * {@link UNIT_SCALE}) take that many fully free instances, lowest ids first; fractional
 * demands (below one GPU) take a slice of one instance, preferring the most used
 * instance that still fits (packing), ties to the lowest id.
 */
export class GpuInstances {
  /** The node's GPU ids, ascending. */
  readonly ids: readonly number[];
  readonly #free: number[];
  readonly #index = new Map<number, number>();

  /** @param ids distinct GPU ids (validated by the caller); kept sorted ascending. */
  constructor(ids: readonly number[]) {
    this.ids = Object.freeze([...ids].sort((a, b) => a - b));
    this.#free = this.ids.map(() => UNIT_SCALE);
    for (const [i, id] of this.ids.entries()) this.#index.set(id, i);
  }

  /** Could `units` be granted now? 0 units always can. */
  canTake(units: number): boolean {
    if (units <= 0) return true;
    if (units >= UNIT_SCALE) return this.#wholeFree() >= units / UNIT_SCALE;
    return this.#bestFraction(units) !== -1;
  }

  /** Grants `units` now, or returns null when they do not fit. 0 units grant no ids. */
  take(units: number): GpuGrant | null {
    if (units <= 0) return { ids: Object.freeze([]), unitsEach: 0 };
    if (units >= UNIT_SCALE) {
      const want = units / UNIT_SCALE;
      const picked: number[] = [];
      for (let i = 0; i < this.#free.length && picked.length < want; i++) {
        if (this.#free[i] === UNIT_SCALE) picked.push(i);
      }
      if (picked.length < want) return null;
      for (const i of picked) this.#free[i] = 0;
      return { ids: Object.freeze(picked.map((i) => this.ids[i])), unitsEach: UNIT_SCALE };
    }
    const i = this.#bestFraction(units);
    if (i === -1) return null;
    this.#free[i] -= units;
    return { ids: Object.freeze([this.ids[i]]), unitsEach: units };
  }

  /**
   * Gives back `unitsEach` units on each id of a grant.
   * @throws Error when an id is unknown or would exceed a whole GPU (a double give-back).
   */
  give(grant: GpuGrant): void {
    for (const id of grant.ids) {
      const i = this.#index.get(id);
      if (i === undefined || this.#free[i] + grant.unitsEach > UNIT_SCALE) {
        throw new Error(`scheduling: GPU ${id} was not granted on this node; its accounting is inconsistent`);
      }
    }
    for (const id of grant.ids) this.#free[this.#index.get(id)!] += grant.unitsEach;
  }

  #wholeFree(): number {
    let n = 0;
    for (const f of this.#free) if (f === UNIT_SCALE) n++;
    return n;
  }

  #bestFraction(units: number): number {
    let best = -1;
    for (let i = 0; i < this.#free.length; i++) {
      const f = this.#free[i];
      if (f >= units && (best === -1 || f < this.#free[best])) best = i;
    }
    return best;
  }
}
