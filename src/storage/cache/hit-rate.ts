// Hit rate over time: a ring of periodic samples, taken lazily when the cache
// is used (no timers, so deterministic-clock runs stay deterministic).

import type { Clock } from '../stats.ts';

export interface HitRateSample {
  /** Clock time (ms) at the end of the interval. */
  t: number;
  hits: number;
  misses: number;
  /** hits / (hits + misses) within the interval; null when there were no lookups. */
  hitRate: number | null;
}

export class HitRateSampler {
  private readonly ring: HitRateSample[] = [];
  private intervalStart: number;
  private hitsAtStart = 0;
  private missesAtStart = 0;

  constructor(
    private readonly clock: Clock,
    private readonly intervalMs: number,
    private readonly capacity: number,
  ) {
    this.intervalStart = clock();
  }

  /** Call with the running totals; closes every interval that has elapsed. `now` saves a clock read if the caller has one. */
  observe(hits: number, misses: number, now: number = this.clock()): void {
    if (now - this.intervalStart < this.intervalMs) return;
    const h = hits - this.hitsAtStart;
    const m = misses - this.missesAtStart;
    this.ring.push({ t: now, hits: h, misses: m, hitRate: h + m === 0 ? null : h / (h + m) });
    if (this.ring.length > this.capacity) this.ring.splice(0, this.ring.length - this.capacity);
    this.intervalStart = now;
    this.hitsAtStart = hits;
    this.missesAtStart = misses;
  }

  samples(): HitRateSample[] {
    return this.ring.map((s) => ({ ...s }));
  }
}
