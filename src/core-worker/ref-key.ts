import { handleState } from "./actor-handle.js";
import { ObjectRef } from "./object-ref.js";

/** Prefix of the synthetic object ids that count actor handles (an actor lives while its id is held). */
export const ACTOR_REF_PREFIX = "actor:";

/**
 * The (object id, owner address) a ref-like value stands for: ObjectRefs, and
 * actor handles of non-detached actors. Undefined for anything else (detached
 * actors' handles are not counted: they live until ray.kill()).
 */
export function refKey(v: unknown): [id: string, owner: string] | undefined {
  if (v instanceof ObjectRef) return [v.id, v.ownerAddress];
  const s = handleState(v);
  if (s?.owner) return [ACTOR_REF_PREFIX + s.actorId, s.owner];
  return undefined;
}
