// Test scaffolding for device models: a settable clock with a timer queue
// that fires timers in deadline order as time advances, and an IRQ recorder.
import type { Clock } from '../../src/machine/clock.ts';
import { TimerQueue } from '../../src/machine/timers.ts';
import type { IrqSink } from '../../src/devices/irq.ts';

export class ManualClock implements Clock {
  readonly mode = 'deterministic' as const;
  t = 0;
  nowNs(): number { return this.t; }
  pause(): void {}
  resume(): void {}
  idleUntil(): number { return 0; }
}

export class IrqRecorder implements IrqSink {
  readonly level = new Array<boolean>(24).fill(false);
  /** Rising edges seen per line. */
  readonly rises = new Array<number>(24).fill(0);
  setIrq(irq: number, level: boolean): void {
    if (level && !this.level[irq]) this.rises[irq]++;
    this.level[irq] = level;
  }
}

export function timeHarness() {
  const clock = new ManualClock();
  const timers = new TimerQueue(clock);
  /** Advances time to `ns`, firing each timer at its own deadline on the way. */
  const advanceTo = (ns: number): void => {
    for (;;) {
      const next = timers.nextDeadline();
      if (next > ns) break;
      clock.t = Math.max(clock.t, next);
      timers.fireDue();
    }
    clock.t = ns;
    timers.fireDue();
  };
  const advanceBy = (ns: number): void => advanceTo(clock.t + ns);
  return { clock, timers, advanceTo, advanceBy };
}
