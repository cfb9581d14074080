import { describe, it, expect } from 'vitest';
import { WallClock, DeterministicClock } from '../../src/machine/clock.ts';
import { TimerQueue } from '../../src/machine/timers.ts';

describe('WallClock', () => {
  it('follows the host clock and stops while paused', () => {
    let host = 1_000;
    const c = new WallClock(() => host);
    expect(c.nowNs()).toBe(0);
    host += 500;
    expect(c.nowNs()).toBe(500);
    c.pause();
    host += 10_000;
    expect(c.nowNs()).toBe(500);
    c.resume();
    host += 100;
    expect(c.nowNs()).toBe(600);
  });

  it('tells the host how long to sleep for an idle CPU', () => {
    let host = 0;
    const c = new WallClock(() => host);
    expect(c.idleUntil(2_000)).toBe(2_000);
    host = 5_000;
    expect(c.idleUntil(2_000)).toBe(0);
  });
});

describe('DeterministicClock', () => {
  it('derives time from instructions executed, and jumps over idle time', () => {
    let icount = 0;
    const c = new DeterministicClock(() => icount, 2);
    icount = 1000;
    expect(c.nowNs()).toBe(2000);
    expect(c.idleUntil(10_000)).toBe(0);
    expect(c.nowNs()).toBe(10_000);
    icount = 1500;
    expect(c.nowNs()).toBe(11_000);
    expect(c.instructionsUntil(12_001)).toBe(501);
  });

  it('repeats exactly for the same instruction counts', () => {
    const run = (): number[] => {
      let icount = 0;
      const c = new DeterministicClock(() => icount, 3);
      const out: number[] = [];
      for (let k = 0; k < 5; k++) { icount += 1000 + k; c.idleUntil(c.nowNs() + 7); out.push(c.nowNs()); }
      return out;
    };
    expect(run()).toEqual(run());
  });

  it('refuses a non-positive rate', () => {
    expect(() => new DeterministicClock(() => 0, 0)).toThrow(RangeError);
  });
});

describe('TimerQueue', () => {
  it('fires due timers once, in deadline order of arming, and lets callbacks re-arm', () => {
    let icount = 0;
    const clock = new DeterministicClock(() => icount, 1);
    const q = new TimerQueue(clock);
    const fired: string[] = [];
    const a = q.create('a', () => fired.push('a'));
    const b = q.create('b', () => { fired.push('b'); q.armIn(b, 100); });
    q.armIn(a, 50);
    q.armIn(b, 30);
    expect(q.nextDeadline()).toBe(30);
    icount = 40;
    q.fireDue();
    expect(fired).toEqual(['b']);
    expect(q.nextDeadline()).toBe(50);
    icount = 200;
    q.fireDue();
    expect(fired).toEqual(['b', 'a', 'b']);
    q.disarm(b);
    expect(q.nextDeadline()).toBe(Infinity);
  });
});
