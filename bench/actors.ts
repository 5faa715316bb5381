/**
 * Actor classes of the benchmarks (Ray's ray_perf.py Actor, AsyncActor, Client).
 * They live in a module because workers import the defining module to find them.
 */
import { type ActorHandle, get, type ObjectRef, put, remote } from "tsray";

/** Ray's `Actor` (num_cpus=0): trivial methods. */
export const Actor = remote(
  class Actor {
    smallValue(): string {
      return "ok";
    }
    smallValueArg(_x: number): string {
      return "ok";
    }
    pid(): number {
      return process.pid;
    }
  },
);
type ActorApi = { smallValue(): string; smallValueArg(x: number): string };

/** Ray's `AsyncActor`: the same with async methods (calls interleave; maxConcurrency 1000). */
export const AsyncActor = remote(
  class AsyncActor {
    async smallValue(): Promise<string> {
      return "ok";
    }
  },
);

/** Ray's `Client`: an actor that drives other actors. */
export const Client = remote(
  class Client {
    constructor(readonly servers: ActorHandle<ActorApi>[]) {}
    async smallValueBatch(n: number): Promise<number> {
      const refs: ObjectRef<string>[] = [];
      for (const s of this.servers) for (let i = 0; i < n; i++) refs.push(s.smallValue.remote());
      await get(refs);
      return refs.length;
    }
    async smallValueBatchArg(n: number): Promise<number> {
      const x = (await put(0)) as ObjectRef<number>;
      const refs: ObjectRef<string>[] = [];
      for (const s of this.servers) for (let i = 0; i < n; i++) refs.push(s.smallValueArg.remote(x));
      await get(refs);
      return refs.length;
    }
  },
);

/** Ray's `work(actors)` task for "n:n actor calls async". */
export const work = remote(async (actors: ActorHandle<ActorApi>[], n: number): Promise<number> => {
  const refs: ObjectRef<string>[] = [];
  for (let i = 0; i < n; i++) refs.push(actors[i % actors.length]!.smallValue.remote());
  await get(refs);
  return n;
});
