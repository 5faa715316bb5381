/** Task scenarios of Ray's microbenchmark: sync, async, batches, wait. */
import { get, type ObjectRef, wait } from "tsray";
import { register, timeit } from "../harness.js";
import { smallValue } from "../tasks.js";

const BATCH = 1000;

function submitBatch(): ObjectRef<string>[] {
  const refs: ObjectRef<string>[] = new Array(BATCH);
  for (let i = 0; i < BATCH; i++) refs[i] = smallValue.remote();
  return refs;
}

register({
  name: "single client tasks sync",
  unit: "per_s",
  run: () => timeit(() => get(smallValue.remote())),
});

register({
  name: "single client tasks async",
  unit: "per_s",
  run: () => timeit(() => get(submitBatch()), BATCH),
});

register({
  name: "single client tasks and get batch",
  unit: "per_s",
  run: () => timeit(() => get(submitBatch())),
});

register({
  name: "single client wait 1k refs",
  unit: "per_s",
  // As Ray: submit 1,000 tasks, then wait() for them one at a time.
  run: () =>
    timeit(async () => {
      let notReady = submitBatch();
      for (let i = 0; i < BATCH; i++) [, notReady] = await wait(notReady);
    }),
});
