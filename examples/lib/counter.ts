/**
 * The seed document's first actor: a Counter whose state lives in its own worker
 * process. Defined at the top level of a module so that workers can import it.
 */
import * as ray from "tsray";

export const Counter = ray.remote(
  class Counter {
    value = 0;

    increment(): number {
      this.value += 1;
      return this.value;
    }
  },
);
