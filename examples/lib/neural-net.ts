/**
 * The seed document's NeuralNetOnGPU, with the TensorFlow graph replaced by a
 * hand-written softmax regression (the same model as the seed's construct_network:
 * y = softmax(xW + b), cross-entropy loss, plain gradient descent with rate 0.5 on
 * minibatches of 100) over Float32Arrays, and MNIST replaced by a synthetic dataset
 * of the same shape of problem: 10 classes, each a Gaussian cluster in 64 dims.
 */
import * as ray from "tsray";
import { gaussian, rng } from "./random.js";

/** A labelled dataset, flat row-major: sample i is x[i*dim ... (i+1)*dim). */
export interface Split {
  x: Float32Array;
  labels: Uint8Array;
}
export interface Dataset {
  dim: number;
  classes: number;
  train: Split;
  test: Split;
}

/** `classes` Gaussian clusters with random centres (N(0, 1) per coordinate) and noise of std `noise`. */
export function makeDataset(opts: {
  dim?: number;
  classes?: number;
  train?: number;
  test?: number;
  noise?: number;
  seed?: number;
}): Dataset {
  const { dim = 64, classes = 10, train = 6000, test = 2000, noise = 2.5, seed = 7 } = opts;
  const normal = gaussian(rng(seed));
  const centres = Array.from({ length: classes }, () => Float32Array.from({ length: dim }, () => normal()));
  const split = (n: number): Split => {
    const x = new Float32Array(n * dim);
    const labels = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const c = i % classes;
      labels[i] = c;
      const centre = centres[c]!;
      for (let j = 0; j < dim; j++) x[i * dim + j] = centre[j]! + noise * normal();
    }
    return { x, labels };
  };
  return { dim, classes, train: split(train), test: split(test) };
}

/** Softmax regression: weights W (dim x classes, row-major) and bias b. */
export class SoftmaxRegression {
  readonly w: Float32Array;
  readonly b: Float32Array;

  constructor(
    readonly dim: number,
    readonly classes: number,
  ) {
    this.w = new Float32Array(dim * classes);
    this.b = new Float32Array(classes);
  }

  /** Class probabilities of sample `i` of `x`, written into `out`. */
  forward(x: Float32Array, i: number, out: Float32Array): void {
    const { dim, classes, w, b } = this;
    let max = -Infinity;
    for (let c = 0; c < classes; c++) {
      let z = b[c]!;
      for (let j = 0; j < dim; j++) z += x[i * dim + j]! * w[j * classes + c]!;
      out[c] = z;
      if (z > max) max = z;
    }
    let sum = 0;
    for (let c = 0; c < classes; c++) sum += out[c] = Math.exp(out[c]! - max);
    for (let c = 0; c < classes; c++) out[c]! /= sum;
  }

  /** One gradient-descent step on the mean cross-entropy of the samples `batch`. */
  trainStep(data: Split, batch: readonly number[], learningRate: number): void {
    const { dim, classes, w, b } = this;
    const gw = new Float32Array(dim * classes);
    const gb = new Float32Array(classes);
    const p = new Float32Array(classes);
    for (const i of batch) {
      this.forward(data.x, i, p);
      p[data.labels[i]!]! -= 1; // d(cross-entropy)/d(logits) = softmax - onehot
      for (let c = 0; c < classes; c++) gb[c]! += p[c]!;
      for (let j = 0; j < dim; j++) {
        const xj = data.x[i * dim + j]!;
        for (let c = 0; c < classes; c++) gw[j * classes + c]! += xj * p[c]!;
      }
    }
    const scale = learningRate / batch.length;
    for (let k = 0; k < w.length; k++) w[k]! -= scale * gw[k]!;
    for (let c = 0; c < classes; c++) b[c]! -= scale * gb[c]!;
  }

  /** Fraction of `data` whose most probable class is its label. */
  accuracy(data: Split): number {
    const n = data.labels.length;
    const p = new Float32Array(this.classes);
    let correct = 0;
    for (let i = 0; i < n; i++) {
      this.forward(data.x, i, p);
      let best = 0;
      for (let c = 1; c < this.classes; c++) if (p[c]! > p[best]!) best = c;
      if (best === data.labels[i]) correct++;
    }
    return correct / n;
  }
}

/** Minibatches of sample indices, reshuffled every epoch (like mnist.train.next_batch). */
class Batcher {
  private readonly order: Uint32Array;
  private cursor = 0;
  private readonly random = rng(1);

  constructor(size: number) {
    this.order = Uint32Array.from({ length: size }, (_, i) => i);
  }

  next(batchSize: number): number[] {
    const out: number[] = [];
    for (let k = 0; k < batchSize; k++) {
      if (this.cursor === 0) {
        // A new epoch: reshuffle (Fisher-Yates).
        for (let i = this.order.length - 1; i > 0; i--) {
          const j = Math.floor(this.random() * (i + 1));
          [this.order[i], this.order[j]] = [this.order[j]!, this.order[i]!];
        }
      }
      out.push(this.order[this.cursor]!);
      this.cursor = (this.cursor + 1) % this.order.length;
    }
    return out;
  }
}

// (Members of a class written inline in an exported ray.remote(...) cannot be
// `private` when declarations are emitted: TypeScript error TS4094.)
export const NeuralNetOnGPU = ray.remote(
  { numGpus: 1 },
  class NeuralNetOnGPU {
    readonly net: SoftmaxRegression;
    readonly batches: Batcher;

    constructor(readonly data: Dataset) {
      // Tell GPU libraries which GPUs to use, as the seed does for TensorFlow. (tsray
      // has already set it before this process started; this shows the ids match.)
      process.env.CUDA_VISIBLE_DEVICES = ray
        .getGpuIds()
        .map((i) => String(i))
        .join(",");
      this.net = new SoftmaxRegression(data.dim, data.classes);
      this.batches = new Batcher(data.train.labels.length);
    }

    /** The GPU ids this actor holds and what CUDA_VISIBLE_DEVICES says in its process. */
    device(): { gpuIds: number[]; cudaVisibleDevices: string | undefined; pid: number } {
      return {
        gpuIds: ray.getGpuIds(),
        cudaVisibleDevices: process.env.CUDA_VISIBLE_DEVICES,
        pid: process.pid,
      };
    }

    /** `numSteps` minibatch steps (batch 100, rate 0.5), like the seed's mnist.train.next_batch(100) loop. */
    train(numSteps: number): void {
      for (let s = 0; s < numSteps; s++) this.net.trainStep(this.data.train, this.batches.next(100), 0.5);
    }

    getAccuracy(): number {
      return this.net.accuracy(this.data.test);
    }
  },
);
