import type { ObjEntry } from "./object-table.js";
import type { TaskSpec } from "./task-spec.js";

/**
 * The bookkeeping most entries never need, made on first use and dropped once it is
 * all back to its defaults (see ObjEntry): a held put or task return then costs one
 * small object, not one with a slot for every case.
 */
export class EntryExtra {
  stored = 0;
  lent = 0;
  pins = 0;
  containedIn = 0;
  waiters: Array<(e: ObjEntry) => void> | undefined = undefined;
  contains: string[] | undefined = undefined;
  borrowers: Set<string> | undefined = undefined;
  fetching: Promise<ObjEntry> | undefined = undefined;
  task: TaskSpec | undefined = undefined;
  onFree: (() => void) | undefined = undefined;

  /** True when every field is back to its default (the entry may drop this object). */
  get unused(): boolean {
    return (
      this.stored === 0 &&
      this.lent === 0 &&
      this.pins === 0 &&
      this.containedIn === 0 &&
      this.waiters === undefined &&
      this.contains === undefined &&
      this.borrowers === undefined &&
      this.fetching === undefined &&
      this.task === undefined &&
      this.onFree === undefined
    );
  }
}
