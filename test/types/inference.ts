/**
 * Type-level tests: compiled (never run) by `tsc --noEmit -p tsconfig.json`, which
 * test/types/types.test.ts runs. Each `@ts-expect-error` line must be an error: if
 * tsray's types stop rejecting it, tsc reports the unused directive and the suite fails.
 */
import * as ray from "tsray";
import { add, concat, divmod, echo, square } from "../fixtures/tasks.js";

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function expectType<T extends true>(): T | undefined {
  return undefined;
}

export async function inference(): Promise<void> {
  // .remote() returns a typed ref; get infers the value type.
  const ref = square.remote(2);
  expectType<Equal<typeof ref, ray.ObjectRef<number>>>();
  const n: number = await ray.get(ref);
  // @ts-expect-error the result of square is a number, not a string
  const s: string = await ray.get(square.remote(2));

  // Argument types are checked at the call site.
  // @ts-expect-error square takes a number
  square.remote("2");
  // @ts-expect-error add takes two arguments
  add.remote(1);
  // @ts-expect-error add takes at most two arguments
  add.remote(1, 2, 3);
  // @ts-expect-error concat takes strings
  concat.remote("a", 1);

  // A ref may stand for a top-level argument of the right type, not of another type.
  add.remote(square.remote(1), 2);
  const text = (await ray.put("x")) as ray.ObjectRef<string>;
  concat.remote(text, "y");
  // @ts-expect-error a ref to a string where a number is expected
  add.remote(text, 2);

  // get of a tuple of refs infers a tuple of values.
  const pair = await ray.get([square.remote(1), concat.remote("a", "b")] as const);
  expectType<Equal<typeof pair, [number, string]>>();
  // get of an array infers an array.
  const many = await ray.get([1, 2].map((x) => square.remote(x)));
  expectType<Equal<typeof many, number[]>>();

  // numReturns via options gives a typed tuple of refs.
  const [q, r] = divmod.options({ numReturns: 2 }).remote(7, 2);
  expectType<Equal<typeof q, ray.ObjectRef<number>>>();
  const qv: number = await ray.get(q);
  // @ts-expect-error q holds a number
  const qs: string = await ray.get(q);
  const rv: number = await ray.get(r);

  // A remote function is not callable directly.
  // @ts-expect-error call square.remote(2) instead
  square(2);

  // Unknown options are rejected.
  // @ts-expect-error numCPUs is not an option (numCpus is)
  square.options({ numCPUs: 1 });
  // @ts-expect-error numGpus is a number
  square.options({ numGpus: "1" });

  // put infers its value type; a ref is not a thenable.
  const put = await ray.put({ a: 1 });
  expectType<Equal<typeof put, ray.ObjectRef<{ a: number }>>>();
  const putValue = await ray.get(put);
  expectType<Equal<typeof putValue, { a: number }>>();

  // unknown parameters accept anything
  echo.remote(new Map([[1, 2]]));

  // wait keeps the ref type, and accepts refs of different types together.
  const [ready] = await ray.wait([ref], { numReturns: 1 });
  expectType<Equal<typeof ready, ray.ObjectRef<number>[]>>();
  const [mixed] = await ray.wait([ref, text]);
  expectType<Equal<typeof mixed, (ray.ObjectRef<number> | ray.ObjectRef<string>)[]>>();
  // @ts-expect-error wait takes refs only
  ray.wait([ref, 1]);

  void [n, s, qv, qs, rv];
}
