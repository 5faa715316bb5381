/**
 * The bookkeeping most entries never need, made on first use and dropped once it is
 * all back to its defaults (see ObjEntry): a held put or task return then costs one
 * small object, not one with a slot for every case. `E` is the entry type (waiters
 * and fetches resolve with it); this file imports no entry or task code, so that the
 * entry table and what it refers to form no import cycle.
 */
export class EntryExtra<E> {
  stored = 0;
  lent = 0;
  pins = 0;
  containedIn = 0;
  waiters: Array<(e: E) => void> | undefined = undefined;
  contains: string[] | undefined = undefined;
  borrowers: Set<string> | undefined = undefined;
  fetching: Promise<E> | undefined = undefined;
  /** The producing task's spec (see ObjEntry.task). */
  task: object | undefined = undefined;
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
