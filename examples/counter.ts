/**
 * Ray's actor documentation, "Defining and creating an actor" and "Using an actor":
 * ten Counter actors incremented in parallel, then one of them five times in a row.
 *
 *   node --import tsx examples/counter.ts
 */
import * as ray from "tsray";
import { Counter } from "./lib/counter.js";

await ray.init();
try {
  // Create ten Counter actors.
  const counters = Array.from({ length: 10 }, () => Counter.remote());

  // Increment each Counter once and get the results. These tasks all happen in parallel.
  const once: number[] = await ray.get(counters.map((c) => c.increment.remote()));
  console.log(`ten counters, incremented once each: ${JSON.stringify(once)}`); // [1,1,1,1,1,1,1,1,1,1]

  // Increment the first Counter five times. These tasks are executed serially and share state.
  const first = counters[0]!;
  const five: number[] = await ray.get([0, 1, 2, 3, 4].map(() => first.increment.remote()));
  console.log(`counters[0], incremented five times: ${JSON.stringify(five)}`); // [2,3,4,5,6]

  if (JSON.stringify(once) !== JSON.stringify(Array(10).fill(1)) || JSON.stringify(five) !== "[2,3,4,5,6]") {
    throw new Error("unexpected counter values");
  }
} finally {
  await ray.shutdown();
}
