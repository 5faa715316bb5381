/**
 * Ray's actor documentation, "Passing Around Actor Handles": four tasks share one
 * Counter actor through copies of its handle while the driver watches the count.
 *
 *   node --import tsx examples/actor-handles.ts
 */
import * as ray from "tsray";
import { Counter, f } from "./lib/actor-handles.js";

const TASKS = 4;
const INCREMENTS = 100;

// Four CPUs declared, so the four tasks run at the same time even on a smaller machine.
await ray.init({ numCpus: TASKS });
try {
  const counter = Counter.remote();

  // Start some tasks that use the actor.
  const tasks = Array.from({ length: TASKS }, () => f.remote(counter, INCREMENTS));

  // Print the counter value.
  const seen: number[] = [];
  for (let i = 0; i < 10; i++) {
    const value = await ray.get(counter.getCounter.remote());
    seen.push(value);
    console.log(`counter = ${value}`);
  }
  if (seen.some((v, i) => i > 0 && v < seen[i - 1]!)) throw new Error("the counter went backwards");

  const done = await ray.get(tasks);
  const final = await ray.get(counter.getCounter.remote());
  console.log(`${TASKS} tasks made ${done.reduce((a, b) => a + b, 0)} calls; final count ${final}`);
  if (final !== TASKS * INCREMENTS) throw new Error(`expected ${TASKS * INCREMENTS}, got ${final}`);
} finally {
  await ray.shutdown();
}
