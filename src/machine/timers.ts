// Device timers on the machine clock. Devices arm a deadline; the run loop
// fires due timers between time slices and sizes slices so none is missed
// by much.
import type { Clock } from './clock.ts';

export class Timer {
  /** Absolute deadline in clock ns, or Infinity when disarmed. */
  deadline = Infinity;
  constructor(readonly name: string, readonly callback: (nowNs: number) => void) {}
}

export class TimerQueue {
  private readonly timers: Timer[] = [];
  constructor(readonly clock: Clock) {}

  create(name: string, callback: (nowNs: number) => void): Timer {
    const t = new Timer(name, callback);
    this.timers.push(t);
    return t;
  }

  /** Arms `timer` to fire `delayNs` from now. */
  armIn(timer: Timer, delayNs: number): void {
    timer.deadline = this.clock.nowNs() + Math.max(0, delayNs);
  }

  disarm(timer: Timer): void {
    timer.deadline = Infinity;
  }

  nextDeadline(): number {
    let d = Infinity;
    for (const t of this.timers) if (t.deadline < d) d = t.deadline;
    return d;
  }

  /** Fires every timer whose deadline has passed (a callback may re-arm its timer). */
  fireDue(): void {
    const now = this.clock.nowNs();
    for (const t of this.timers) {
      if (t.deadline <= now) {
        t.deadline = Infinity;
        t.callback(now);
      }
    }
  }
}
