import { describe, expect, it } from 'vitest';
import { ConnectionRateLimiter, TokenBucket } from './rate-limit.ts';

function clock() {
  let t = 0;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe('TokenBucket', () => {
  it('allows a burst up to capacity, then refills at the given rate', () => {
    const c = clock();
    const b = new TokenBucket(3, 10, c.now);
    expect([b.tryTake(), b.tryTake(), b.tryTake(), b.tryTake()]).toEqual([true, true, true, false]);
    c.advance(100); // one token back at 10/s
    expect([b.tryTake(), b.tryTake()]).toEqual([true, false]);
    c.advance(10_000); // never above capacity
    expect([b.tryTake(3), b.tryTake(1)]).toEqual([true, false]);
  });

  it('takes nothing when a request does not fit', () => {
    const b = new TokenBucket(10, 1, clock().now);
    expect(b.tryTake(11)).toBe(false);
    expect(b.tryTake(10)).toBe(true);
  });

  it('rejects nonsense parameters', () => {
    expect(() => new TokenBucket(0, 1)).toThrow();
    expect(() => new TokenBucket(1, Number.NaN)).toThrow();
  });
});

describe('ConnectionRateLimiter', () => {
  const limits = { framesPerSecond: 10, frameBurst: 5, consoleBytesPerSecond: 100, consoleByteBurst: 100 };

  it('limits frames and console bytes separately', () => {
    const c = clock();
    const l = new ConnectionRateLimiter(limits, c.now);
    expect(l.admit(100)).toBe(true);
    expect(l.admit(1)).toBe(false); // bytes exhausted
    expect(l.admit(0)).toBe(true); // control frames still pass
    expect(l.admit(0) && l.admit(0)).toBe(true);
    expect(l.admit(0)).toBe(false); // 5 frames used
    c.advance(1000);
    expect(l.admit(50)).toBe(true);
  });

  it('complains at most once a second', () => {
    const c = clock();
    const l = new ConnectionRateLimiter(limits, c.now);
    expect([l.shouldComplain(), l.shouldComplain()]).toEqual([true, false]);
    c.advance(999);
    expect(l.shouldComplain()).toBe(false);
    c.advance(1);
    expect(l.shouldComplain()).toBe(true);
  });
});
