/** Remote functions of the object-transfer scenarios (a module, so workers import it). */
import { remote } from "tsray";

/** Reads one byte from each MiB of the array where it runs (it was pulled to this node's store). */
export const touch = remote((a: Uint8Array): number => {
  let v = a[0]!;
  for (let i = 1 << 20; i < a.length; i += 1 << 20) if (a[i] !== v) v = -1;
  return v;
});
