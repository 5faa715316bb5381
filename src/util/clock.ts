/**
 * Time behind an interface, so components can run on real time in production and on
 * a `FakeClock` in simulation (docs/design/transport.md, "Clock"). Components take a
 * `Clock` by injection (default `realClock`) instead of calling `setTimeout`,
 * `setInterval` or `performance.now` themselves.
 */

/** A scheduled callback; the methods behave as Node's `Timeout`'s. */
export interface Timer {
  /** Let the process exit while the timer is pending; returns the timer. */
  unref(): Timer;
  /** Restart the timer's full delay from now (also re-arms a timeout that already ran); returns the timer. */
  refresh(): Timer;
}

/** Monotonic time and timers. */
export interface Clock {
  /** Milliseconds on a monotonic scale (differences are meaningful, the origin is not). */
  now(): number;
  /** Run `fn` once, `ms` (>= 0) milliseconds from now. */
  setTimeout(fn: () => void, ms: number): Timer;
  /** Run `fn` every `ms` (> 0) milliseconds until cleared. */
  setInterval(fn: () => void, ms: number): Timer;
  /** Cancel a timer of either kind; `undefined` or an already-run timer is a no-op. */
  clearTimer(timer: Timer | undefined): void;
}

/** The process's real clock: `performance.now()` and Node's timers. */
export const realClock: Clock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  setInterval: (fn, ms) => setInterval(fn, ms),
  clearTimer: (timer) => {
    // Node's clearTimeout clears intervals too.
    if (timer !== undefined) clearTimeout(timer as ReturnType<typeof setTimeout>);
  },
};

class FakeTimer implements Timer {
  cancelled = false;
  constructor(
    private readonly clock: FakeClock,
    readonly fn: () => void,
    readonly ms: number,
    readonly every: number,
    public due: number,
    public seq: number,
  ) {}
  unref(): Timer {
    return this;
  }
  refresh(): Timer {
    this.clock.rearm(this);
    return this;
  }
}

/** Yield to the event loop once: every queued microtask (promise reaction) runs first. */
function turn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * A clock that moves only when told to. Timers run in due order, ties in the order
 * they were set, each at its own due time (`now()` reads it while it runs), and the
 * promise reactions a timer starts settle before the next timer runs. Deterministic:
 * the same calls give the same order.
 */
export class FakeClock implements Clock {
  private time: number;
  private seq = 0;
  private timers: FakeTimer[] = [];

  /** @param start the value `now()` returns before the first advance. */
  constructor(start = 0) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  setTimeout(fn: () => void, ms: number): Timer {
    const delay = Math.max(0, ms);
    return this.add(new FakeTimer(this, fn, delay, 0, this.time + delay, this.seq++));
  }

  setInterval(fn: () => void, ms: number): Timer {
    if (!(ms > 0)) throw new RangeError(`FakeClock.setInterval: ms must be > 0, got ${ms}`);
    return this.add(new FakeTimer(this, fn, ms, ms, this.time + ms, this.seq++));
  }

  /** @internal `Timer.refresh`: due a full delay from now, as if set now. */
  rearm(t: FakeTimer): void {
    const i = this.timers.indexOf(t);
    if (i >= 0) this.timers.splice(i, 1);
    t.cancelled = false;
    t.due = this.time + t.ms;
    t.seq = this.seq++;
    this.add(t);
  }

  clearTimer(timer: Timer | undefined): void {
    if (!(timer instanceof FakeTimer) || timer.cancelled) return;
    timer.cancelled = true;
    this.timers.splice(this.timers.indexOf(timer), 1);
  }

  /** Timers waiting to run. */
  get pending(): number {
    return this.timers.length;
  }

  /** When the next timer is due, or undefined when none is set. */
  nextDue(): number | undefined {
    return this.timers[0]?.due;
  }

  /**
   * Move time forward by `ms`, running every timer that falls due on the way (also
   * those the timers set), then settle promise reactions. Resolves at the new time.
   */
  async advance(ms: number): Promise<void> {
    if (!(ms >= 0)) throw new RangeError(`FakeClock.advance: ms must be >= 0, got ${ms}`);
    const target = this.time + ms;
    await turn();
    for (let t = this.timers[0]; t !== undefined && t.due <= target; t = this.timers[0]) {
      this.time = t.due;
      this.timers.shift();
      if (t.every > 0) {
        t.due += t.every;
        t.seq = this.seq++;
        this.add(t);
      } else t.cancelled = true;
      t.fn();
      await turn();
    }
    this.time = target;
  }

  /**
   * Run timers (jumping time to each) until `p` settles; returns its result. Fails
   * with a RangeError if it has not settled after `maxMs` of fake time.
   */
  async until<T>(p: Promise<T>, maxMs: number): Promise<T> {
    let settled = false;
    const watched = p.finally(() => {
      settled = true;
    });
    watched.catch(() => undefined);
    const limit = this.time + maxMs;
    await turn();
    while (!settled) {
      const next = this.nextDue();
      if (next === undefined || next > limit) {
        throw new RangeError(
          `FakeClock.until: not settled after ${maxMs} ms of fake time (${this.timers.length} timers pending)`,
        );
      }
      await this.advance(next - this.time);
    }
    return watched;
  }

  private add(t: FakeTimer): Timer {
    // Sorted insert by (due, seq): a binary search keeps it O(log n) to find the slot.
    let lo = 0;
    let hi = this.timers.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const m = this.timers[mid]!;
      if (m.due < t.due || (m.due === t.due && m.seq < t.seq)) lo = mid + 1;
      else hi = mid;
    }
    this.timers.splice(lo, 0, t);
    return t;
  }
}
