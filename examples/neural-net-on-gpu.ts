/**
 * Ray's actor documentation, "Using GPUs on actors": an actor declared with
 * `numGpus: 1` that owns a neural network, trained on a dataset passed to its
 * constructor. The model is a hand-written softmax regression in plain TypeScript
 * (see examples/lib/neural-net.ts), so it computes on the CPU; the GPU is reserved
 * for the actor and announced through getGpuIds() and CUDA_VISIBLE_DEVICES exactly
 * as a GPU library would need.
 *
 *   node --import tsx examples/neural-net-on-gpu.ts
 */
import { execFileSync } from "node:child_process";
import * as ray from "tsray";
import { makeDataset, NeuralNetOnGPU } from "./lib/neural-net.js";

/** GPUs nvidia-smi lists, or [] when it is missing or lists none. */
function cudaGpus(): string[] {
  try {
    const out = execFileSync("nvidia-smi", ["-L"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
    return out.split("\n").filter((l) => l.startsWith("GPU "));
  } catch {
    return [];
  }
}

const gpus = cudaGpus();
// Without a GPU, declare one anyway (Ray's `ray.init(num_gpus=1)`), so the actor can be placed.
await ray.init(gpus.length > 0 ? {} : { numGpus: 1 });
try {
  const data = makeDataset({ dim: 64, classes: 10, train: 6000, test: 2000 });
  const bytes = data.train.x.byteLength + data.test.x.byteLength;
  console.log(
    `dataset: ${data.train.labels.length} training and ${data.test.labels.length} test samples, ` +
      `${data.dim} features, ${data.classes} classes (${(bytes / 1e6).toFixed(1)} MB)`,
  );

  // Create the actor (the dataset travels to its process as a constructor argument).
  const nn = NeuralNetOnGPU.remote(data);
  const device = await ray.get(nn.device.remote());
  if (gpus.length === 0) {
    console.log(
      `no CUDA GPU on this machine: training on CPU with GPU id ${JSON.stringify(device.gpuIds)} reserved`,
    );
  } else {
    console.log(`CUDA GPUs: ${gpus.join("; ")}`);
    console.log(
      `the actor holds GPU ${JSON.stringify(device.gpuIds)} (the model itself computes on the CPU)`,
    );
  }
  console.log(
    `actor pid ${device.pid}: getGpuIds() = ${JSON.stringify(device.gpuIds)}, CUDA_VISIBLE_DEVICES=${device.cudaVisibleDevices}`,
  );

  const before: number = await ray.get(nn.getAccuracy.remote());
  console.log(`accuracy before training: ${before.toFixed(3)}`);
  // Run a few steps of training and print the accuracy (calls run in order: train, then getAccuracy).
  nn.train.remote(100);
  const after: number = await ray.get(nn.getAccuracy.remote());
  console.log(`accuracy after 100 steps: ${after.toFixed(3)}`);
  if (!(after > before)) throw new Error("training did not improve the accuracy");
  console.log(`accuracy improved from ${before.toFixed(3)} to ${after.toFixed(3)}`);
} finally {
  await ray.shutdown();
}
