/**
 * Remote functions of the benchmarks. They live in their own module because
 * workers import the defining module to find them (as in Ray's ray_perf.py).
 */
import { type ObjectRef, put, remote } from "tsray";

/** Ray's `small_value`: the trivial task. */
export const smallValue = remote(() => "ok");

/** Ray's `create_object_containing_ref`: put `n` small objects and return their refs. */
export const createObjectContainingRefs = remote(async (n: number): Promise<ObjectRef<number>[]> => {
  const refs: ObjectRef<number>[] = [];
  for (let i = 0; i < n; i++) refs.push(await put(1));
  return refs;
});
