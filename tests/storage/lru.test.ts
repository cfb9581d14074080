import { describe, expect, it } from 'vitest';
import { LruMap } from '../../src/storage/lru.ts';

const keys = (m: LruMap<number, string>) => [...m.oldestFirst()].map(([k]) => k);

describe('LruMap', () => {
  it('orders entries by last use: get touches, peek and has do not', () => {
    const m = new LruMap<number, string>();
    for (const k of [1, 2, 3, 4]) m.set(k, `v${k}`);
    expect(m.get(2)).toBe('v2');
    expect(m.peek(1)).toBe('v1');
    expect(m.has(3)).toBe(true);
    expect(keys(m)).toEqual([1, 3, 4, 2]);
    expect(m.get(2)).toBe('v2'); // already the newest
    expect(keys(m)).toEqual([1, 3, 4, 2]);
    expect(m.get(9)).toBeUndefined();
    expect(m.size).toBe(4);
  });

  it('replaces a value as most recently used', () => {
    const m = new LruMap<number, string>();
    for (const k of [1, 2, 3]) m.set(k, `v${k}`);
    m.set(1, 'new');
    expect(keys(m)).toEqual([2, 3, 1]);
    expect(m.peek(1)).toBe('new');
    expect(m.size).toBe(3);
  });

  it('deletes the oldest, newest and middle entries', () => {
    const m = new LruMap<number, string>();
    for (const k of [1, 2, 3, 4, 5]) m.set(k, `v${k}`);
    expect(m.delete(1)).toBe(true);
    expect(m.delete(5)).toBe(true);
    expect(m.delete(3)).toBe(true);
    expect(m.delete(3)).toBe(false);
    expect(keys(m)).toEqual([2, 4]);
    m.set(6, 'v6');
    m.get(2);
    expect(keys(m)).toEqual([4, 6, 2]);
    m.delete(4);
    m.delete(6);
    m.delete(2);
    expect(keys(m)).toEqual([]);
    m.set(7, 'v7');
    expect(keys(m)).toEqual([7]);
  });

  it('allows deleting the current entry while iterating (eviction)', () => {
    const m = new LruMap<number, string>();
    for (let k = 0; k < 10; k++) m.set(k, `v${k}`);
    const seen: number[] = [];
    for (const [k] of m.oldestFirst()) {
      seen.push(k);
      if (k % 2 === 0) m.delete(k);
    }
    expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(keys(m)).toEqual([1, 3, 5, 7, 9]);
    for (const [k] of m.oldestFirst()) {
      m.delete(k);
      if (m.size === 2) break;
    }
    expect(keys(m)).toEqual([7, 9]);
  });

  it('clears', () => {
    const m = new LruMap<number, string>();
    m.set(1, 'a');
    m.set(2, 'b');
    m.clear();
    expect(m.size).toBe(0);
    expect(keys(m)).toEqual([]);
    m.set(3, 'c');
    expect(keys(m)).toEqual([3]);
  });
});
