/**
 * Time for the packet protocol engines (g, i), injected so the engine stays pure: the
 * real clock wraps setTimeout; ManualClock lets tests and simulations move
 * time by hand, deterministically.
 */

export interface Timer {
  cancel(): void;
}

export interface Clock {
  /** Milliseconds, monotonic. */
  now(): number;
  setTimer(ms: number, fire: () => void): Timer;
}

export const realClock: Clock = {
  now: () => performance.now(),
  setTimer(ms, fire) {
    const handle = setTimeout(fire, ms);
    return { cancel: () => clearTimeout(handle) };
  },
};

interface Pending {
  at: number;
  order: number;
  fire: () => void;
  live: boolean;
}

/** A clock that only moves when told to; timers due at the same time fire in the order set. */
export class ManualClock implements Clock {
  private time = 0;
  private order = 0;
  private pending: Pending[] = [];

  now(): number {
    return this.time;
  }

  setTimer(ms: number, fire: () => void): Timer {
    const p: Pending = { at: this.time + Math.max(0, ms), order: this.order++, fire, live: true };
    this.pending.push(p);
    return { cancel: () => void (p.live = false) };
  }

  /** Jumps to the earliest timer and fires it; false if none is set. */
  runNext(): boolean {
    let first: Pending | undefined;
    for (const p of this.pending) {
      if (p.live && (!first || p.at < first.at || (p.at === first.at && p.order < first.order))) first = p;
    }
    this.pending = this.pending.filter((p) => p.live && p !== first);
    if (!first) return false;
    this.time = first.at;
    first.fire();
    return true;
  }

  /** Fires every timer due within the next `ms` milliseconds, then sets the time to now + ms. */
  advance(ms: number): void {
    const end = this.time + ms;
    while (this.nextDue() <= end) this.runNext();
    this.time = end;
  }

  private nextDue(): number {
    let at = Infinity;
    for (const p of this.pending) if (p.live && p.at < at) at = p.at;
    return at;
  }
}
