import { ObjectLostError } from "../errors/index.js";
import { Msg } from "../protocol/index.js";
import { encode } from "../serialization/index.js";
import type { Endpoint } from "../transport/index.js";
import type { KeepAlive } from "./keep-alive.js";
import { FAILED, type ObjEntry } from "./object-table.js";
import type { RefCounter, RefOut } from "./ref-counter.js";

/**
 * The I/O around the pure {@link RefCounter}: after each event, {@link drain} takes
 * the counter's outbox and does what it says — sends AddBorrower / RemoveBorrower
 * through the endpoint (and feeds the answers back as events), schedules the
 * end-of-tick flush, runs entries' free hooks, frees store copies, and runs whoever
 * waits for the registration barrier ({@link whenRegistered}).
 */
export class RefShell {
  private registeredWaiters: Array<() => void> = [];
  private draining = false;

  /**
   * @param counter the decisions
   * @param endpoint sends to owners
   * @param keepAlive held while an AddBorrower is unanswered (a driver must not exit mid-registration)
   * @param freeStored frees an owned object's copy in the node's object store (by id)
   */
  constructor(
    private readonly counter: RefCounter,
    private readonly endpoint: Endpoint,
    private readonly keepAlive: KeepAlive,
    private readonly freeStored: (id: string) => void,
  ) {}

  /** Do what the counter decided. Cheap when there is nothing (call it after every event). */
  drain(): void {
    const out = this.counter.outbox;
    // A decision taken here (a free hook, a waiter) may raise events that append to the
    // outbox: the loop that is already running takes those too, in order.
    if (out.length === 0 || this.draining) return;
    this.draining = true;
    try {
      for (let i = 0; i < out.length; i++) this.take(out[i]!);
    } finally {
      out.length = 0;
      this.draining = false;
    }
  }

  /** Run `fn` once every registration sent so far is answered (at once if none is pending). */
  whenRegistered(fn: () => void): void {
    if (this.counter.allRegistered) fn();
    else this.registeredWaiters.push(fn);
  }

  /** Drop the waiters (the process is shutting down: what they would send has nowhere to go). */
  close(): void {
    this.registeredWaiters = [];
  }

  private take(m: RefOut): void {
    switch (m.t) {
      case "flush":
        queueMicrotask(() => {
          this.counter.flush();
          this.drain();
        });
        return;
      case "add":
        this.sendAdd(m.to, m.ids);
        return;
      case "remove":
        this.sendRemove(m.to, m.ids);
        return;
      case "free":
        this.freed(m.entry);
        return;
      case "lost":
        m.entry.settle(
          FAILED,
          encode(
            new ObjectLostError(
              `object ${m.entry.id} was freed by its owner before this process received it`,
            ),
          ),
        );
        return;
      case "registered": {
        const waiters = this.registeredWaiters;
        this.registeredWaiters = [];
        for (const fn of waiters) fn();
        return;
      }
    }
  }

  private freed(e: ObjEntry): void {
    e.onFree?.();
    if (e.owned && e.stored) this.freeStored(e.id);
  }

  private sendAdd(owner: string, ids: string[]): void {
    this.keepAlive.hold();
    const answered = (missing: string[]) => {
      this.keepAlive.release();
      this.counter.onAddReply(ids, missing);
      this.drain();
    };
    this.endpoint
      .connect(owner)
      .then((conn) => conn.request({ t: Msg.AddBorrower, ids }))
      .then(
        (r) => answered(r.missing),
        () => answered([]), // owner gone: reads will fail with OwnerDiedError
      );
  }

  private sendRemove(owner: string, ids: string[]): void {
    this.endpoint.existing(owner).then((conn) => {
      if (conn) conn.send({ t: Msg.RemoveBorrower, ids });
      else
        this.endpoint.connect(owner).then(
          (c) => c.send({ t: Msg.RemoveBorrower, ids }),
          () => undefined,
        );
    });
  }
}
