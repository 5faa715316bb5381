/**
 * The seed document's "Passing Around Actor Handles": a Counter actor and a remote
 * function that drives it through a handle it was given.
 */
import * as ray from "tsray";

class CounterState {
  counter = 0;

  inc(): void {
    this.counter += 1;
  }

  getCounter(): number {
    return this.counter;
  }
}

export const Counter = ray.remote(CounterState);
export type CounterHandle = ray.ActorHandle<CounterState>;

/**
 * The seed's `f(counter)`, bounded: `times` increments through the handle, sent
 * without waiting for each (calls from one caller run in order), then waits for the
 * last one so that the task ends only after all of its increments are applied.
 */
export const f = ray.remote(async (counter: CounterHandle, times: number): Promise<number> => {
  let last: ray.ObjectRef<void> | undefined;
  for (let i = 0; i < times; i++) last = counter.inc.remote();
  if (last) await ray.get(last);
  return times;
});
