/** Object scenarios of Ray's microbenchmark: small put/get, large puts, a value holding 10k refs. */
import { get, put } from "tsray";
import { register, timeit } from "../harness.js";
import { createObjectContainingRefs } from "../tasks.js";

register({
  name: "single client put calls",
  unit: "per_s",
  run: () => timeit(async () => await put(0)),
});

register({
  name: "single client get calls",
  unit: "per_s",
  run: async () => {
    const ref = await put(0);
    return timeit(() => get(ref));
  },
});

/**
 * 800 MB per put, as Ray's benchmark (100 Mi int64). The size matters: copies of
 * 80 MB ran at ~60% of the 1 GiB memcpy that limits.mjs measures, in any process.
 */
const LARGE_ELEMENTS = 100 * 1024 * 1024;

register({
  name: "single client put gigabytes",
  unit: "GB_per_s",
  run: async () => {
    const arr = new Float64Array(LARGE_ELEMENTS).fill(1);
    // Release each ref at once, as Ray's refcount frees a dropped put at once.
    return timeit(async () => (await put(arr)).release(), arr.byteLength / 1e9);
  },
});

register({
  name: "single client get object containing 10k refs",
  unit: "per_s",
  run: async () => {
    const ref = createObjectContainingRefs.remote(10_000);
    await get(ref);
    return timeit(() => get(ref));
  },
});
