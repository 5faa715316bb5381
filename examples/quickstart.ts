// The README quickstart: remote functions, refs, and an actor on an embedded cluster.
// Run from the repository root: node --import tsx examples/quickstart.ts
import * as ray from "tsray";

await ray.init(); // starts an embedded one-node cluster (head + worker processes)

// A remote function: `.remote()` runs it in a worker process and returns a ref at once.
const square = ray.remote((x: number) => x * x);
const refs = [1, 2, 3, 4].map((x) => square.remote(x));
console.log("squares:", await ray.get(refs)); // [1, 4, 9, 16]

// Refs can be passed to other tasks without fetching them first.
const add = ray.remote((a: number, b: number) => a + b);
console.log("3² + 4² =", await ray.get(add.remote(square.remote(3), square.remote(4))));

// An actor: a class instance living in its own process; calls run in order.
const Counter = ray.remote(
  class Counter {
    value = 0;
    increment() {
      return ++this.value;
    }
  },
);
const counter = Counter.remote();
console.log("counter:", await ray.get([0, 1, 2].map(() => counter.increment.remote()))); // [1, 2, 3]

await ray.shutdown(); // stops every process it started
