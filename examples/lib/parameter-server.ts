/**
 * An asynchronous parameter server (the example the seed document points to): a
 * ParameterServer actor holds the weights; worker tasks each loop pull -> gradient
 * on their own data shard -> push, without waiting for one another.
 *
 * The model is least squares: minimise 1/(2n) * ||X w - y||^2 over w.
 */
import * as ray from "tsray";
import { gaussian, rng } from "./random.js";

class ParameterServerState {
  private readonly weights: Float64Array;
  private updates = 0;

  constructor(
    dim: number,
    private readonly learningRate: number,
  ) {
    this.weights = new Float64Array(dim);
  }

  /** A copy of the current weights. */
  pull(): Float64Array {
    return this.weights.slice();
  }

  /** Apply one gradient step; returns how many updates were applied so far. */
  push(gradient: Float64Array): number {
    if (gradient.length !== this.weights.length) {
      throw new RangeError(`gradient has ${gradient.length} entries, weights have ${this.weights.length}`);
    }
    for (let j = 0; j < gradient.length; j++) this.weights[j]! -= this.learningRate * gradient[j]!;
    return ++this.updates;
  }

  numUpdates(): number {
    return this.updates;
  }
}

export const ParameterServer = ray.remote(ParameterServerState);
export type ParameterServerHandle = ray.ActorHandle<ParameterServerState>;

/** A shard of the regression data: `x` is n rows of `dim` (row-major), `y` has n targets. */
export interface Shard {
  x: Float64Array;
  y: Float64Array;
  dim: number;
}

/** Gradient of 1/(2n) ||X w - y||^2, i.e. X^T (X w - y) / n. */
export function gradient(shard: Shard, w: Float64Array): Float64Array {
  const { x, y, dim } = shard;
  const n = y.length;
  const g = new Float64Array(dim);
  for (let i = 0; i < n; i++) {
    let r = -y[i]!;
    for (let j = 0; j < dim; j++) r += x[i * dim + j]! * w[j]!;
    for (let j = 0; j < dim; j++) g[j]! += (r * x[i * dim + j]!) / n;
  }
  return g;
}

/** Mean squared error / 2 of `w` on a shard. */
export function loss(shard: Shard, w: Float64Array): number {
  const { x, y, dim } = shard;
  let s = 0;
  for (let i = 0; i < y.length; i++) {
    let r = -y[i]!;
    for (let j = 0; j < dim; j++) r += x[i * dim + j]! * w[j]!;
    s += r * r;
  }
  return s / (2 * y.length);
}

/** Random data y = X w* + noise, split into `shards` shards. */
export function makeShards(opts: { dim: number; rows: number; shards: number; seed?: number }): {
  shards: Shard[];
  trueWeights: Float64Array;
} {
  const { dim, rows, shards, seed = 3 } = opts;
  const normal = gaussian(rng(seed));
  const trueWeights = Float64Array.from({ length: dim }, () => normal());
  const per = Math.floor(rows / shards);
  const out: Shard[] = [];
  for (let s = 0; s < shards; s++) {
    const x = Float64Array.from({ length: per * dim }, () => normal());
    const y = new Float64Array(per);
    for (let i = 0; i < per; i++) {
      let v = 0.1 * normal();
      for (let j = 0; j < dim; j++) v += x[i * dim + j]! * trueWeights[j]!;
      y[i] = v;
    }
    out.push({ x, y, dim });
  }
  return { shards: out, trueWeights };
}

/**
 * A worker: `steps` rounds of pull, gradient on its shard, push. Returns the
 * number of pushes it made, after the last one was applied.
 */
export const worker = ray.remote(async (ps: ParameterServerHandle, shard: Shard, steps: number) => {
  let last: ray.ObjectRef<number> | undefined;
  for (let s = 0; s < steps; s++) {
    const w = await ray.get(ps.pull.remote());
    last = ps.push.remote(gradient(shard, w));
  }
  if (last) await ray.get(last);
  return steps;
});
