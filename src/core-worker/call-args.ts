import type { WireValue } from "../protocol/index.js";
import { encode, isWirePrimitive } from "../serialization/index.js";
import { bytesOf } from "./entry-value.js";
import type { ObjectFetcher } from "./object-fetcher.js";
import { ObjectRef } from "./object-ref.js";
import { FAILED, type ObjEntry, PENDING } from "./object-table.js";
import type { RefCounter } from "./ref-counter.js";
import type { DepList } from "./task-spec.js";

/** Encoded arguments of a task, actor call or actor creation. */
export interface PreparedArgs {
  /** Encoded argument array, or the primitive arguments themselves (see prepareArgs). */
  data: Uint8Array | WireValue[];
  deps: DepList | undefined;
  /** Entries lent to the call (their lent counts were raised; give back with unlend). */
  lent: ObjEntry[] | undefined;
  /** Owned dependencies still pending. */
  pending: ObjEntry[] | undefined;
}

/** Encode call arguments; every ref inside is lent to the call; top-level refs become deps. */
export function prepareArgs(counter: RefCounter, args: readonly unknown[], wire = false): PreparedArgs {
  if (args.length === 0) return { data: NO_ARGS, deps: undefined, lent: undefined, pending: undefined };
  if (wire && args.length <= 16 && args.every(isWirePrimitive)) {
    // Primitive arguments travel as themselves in the envelope: no encode, no decode.
    return { data: args as WireValue[], deps: undefined, lent: undefined, pending: undefined };
  }
  let deps: DepList | undefined;
  let pending: ObjEntry[] | undefined;
  let plain: readonly unknown[] = args;
  const lent: ObjEntry[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (!(a instanceof ObjectRef)) continue;
    if (plain === args) plain = args.slice();
    (plain as unknown[])[i] = undefined;
    const id = a.id;
    (deps ??= []).push([i, id, a.ownerAddress, null]);
    const e = counter.objects.forRef(a) ?? counter.entry(id, a.ownerAddress);
    if (e.owned && e.state === PENDING) (pending ??= []).push(e);
    lent.push(e);
  }
  const inside: unknown[] = [];
  const data = encode(plain, inside);
  for (const [id, owner] of counter.keysOf(inside)) lent.push(counter.entry(id, owner));
  for (const e of lent) e.lent++;
  return { data, deps, lent: lent.length > 0 ? lent : undefined, pending };
}

/**
 * Inline the values of owned, settled deps. Returns the encoded error of the
 * first failed dep (the call must fail with it), else undefined.
 */
export function inlineDeps(
  counter: RefCounter,
  fetcher: ObjectFetcher,
  deps: DepList | undefined,
): Uint8Array | undefined {
  if (!deps) return undefined;
  for (const d of deps) {
    const e = counter.objects.get(d[1]);
    if (!e?.owned || e.state === PENDING) continue;
    if (e.state === FAILED) return e.data!;
    if (!e.stored) d[3] = bytesOf(e);
    else {
      const at = fetcher.storedAt(e); // read in place by the executor
      if (at) d[4] = at;
    }
  }
  return undefined;
}

/** The encoding of an empty argument list (shared: nothing ever writes into it). */
const NO_ARGS = encode([]);
