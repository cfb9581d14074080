// The SPSC byte ring between threads: a real second thread (worker_threads)
// produces or echoes while this thread consumes, through a ring much smaller
// than the stream, so wrap-around, a full ring and waking a sleeping consumer
// all happen many times.
import { describe, it, expect } from 'vitest';
import { Worker } from 'node:worker_threads';
import { SpscRing, RingError } from '../../src/machine/worker/spsc-ring.ts';
import { RingWriter, pumpRing } from '../../src/machine/worker/ring-io.ts';
import { patternByte } from './ring-pattern.ts';

/** Starts ring-peer.ts in a thread; if it fails, `onError` closes the ring so the test fails instead of hanging. */
function startPeer(data: Record<string, unknown>, onError: () => void): Worker {
  const module = new URL('./ring-peer.ts', import.meta.url).href;
  const w = new Worker(new URL('./ts-thread.mjs', import.meta.url), { workerData: { ...data, module } });
  w.on('error', onError);
  return w;
}

describe('SpscRing in one thread', () => {
  it('refuses capacities that are not powers of two and buffers that are not rings', () => {
    expect(() => SpscRing.create(1000)).toThrow(RingError);
    expect(() => new SpscRing(new SharedArrayBuffer(64 + 100))).toThrow(/not a ring buffer/);
  });

  it('keeps order across wrap-around and reports full and empty', () => {
    const ring = SpscRing.create(16);
    expect(ring.write([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])).toBe(10);
    expect([...ring.readAvailable()]).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const big = Array.from({ length: 20 }, (_, k) => 100 + k);
    expect(ring.write(big)).toBe(16); // only what fits
    expect(ring.free).toBe(0);
    expect(ring.push(1)).toBe(false);
    const out = new Uint8Array(5);
    expect(ring.read(out)).toBe(5);
    expect([...out]).toEqual([100, 101, 102, 103, 104]);
    expect(ring.write(big, 16)).toBe(4);
    expect([...ring.readAvailable()]).toEqual(big.slice(5));
    expect(ring.available).toBe(0);
  });

  it('a RingWriter keeps what does not fit and delivers it later, in order', async () => {
    const ring = SpscRing.create(16);
    const w = new RingWriter(ring);
    const data = Array.from({ length: 100 }, (_, k) => k);
    w.write(data.slice(0, 50));
    for (const b of data.slice(50)) w.push(b);
    expect(w.pending).toBe(100 - 16);
    const got: number[] = [];
    const abort = new AbortController();
    const pump = pumpRing(ring, (bytes) => {
      got.push(...bytes);
      if (got.length === 100) abort.abort();
    }, abort.signal);
    await pump;
    expect(got).toEqual(data);
    w.dispose();
  });

  it('waitForData wakes on close and times out when nothing comes', async () => {
    const ring = SpscRing.create(16);
    const t0 = performance.now();
    await ring.waitForData(50);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(40);
    setTimeout(() => ring.close(), 20);
    await ring.waitForData(10_000);
    expect(ring.closed).toBe(true);
  });
});

describe('SpscRing across threads', () => {
  it('carries 2 MB from a producer thread through a 4 KiB ring without loss, reorder or duplication', async () => {
    const count = 2_000_000;
    const ring = SpscRing.create(4096);
    const peer = startPeer({ role: 'produce', a: ring.buffer, count }, () => ring.close());
    let k = 0;
    let bad = -1;
    await pumpRing(ring, (bytes) => {
      for (const b of bytes) {
        if (bad < 0 && b !== patternByte(k)) bad = k;
        k++;
      }
      if (k >= count) ring.close();
    });
    await peer.terminate();
    expect(bad).toBe(-1);
    expect(k).toBe(count);
  });

  it('carries bytes both ways: this thread writes, the peer echoes them back on a second ring', async () => {
    const count = 300_000;
    const toPeer = SpscRing.create(1024);
    const fromPeer = SpscRing.create(1024);
    const peer = startPeer({ role: 'echo', a: toPeer.buffer, b: fromPeer.buffer, count }, () => fromPeer.close());
    const writer = new RingWriter(toPeer);
    const sent = new Uint8Array(count);
    for (let k = 0; k < count; k++) sent[k] = patternByte(k * 3);
    writer.write(sent);
    const got = new Uint8Array(count);
    let n = 0;
    await pumpRing(fromPeer, (bytes) => {
      got.set(bytes, n);
      n += bytes.length;
      if (n >= count) fromPeer.close();
    });
    const echoed = n < count ? -1 : await new Promise<number>((resolve) => peer.once('message', resolve));
    await peer.terminate();
    writer.dispose();
    expect(echoed).toBe(count);
    expect(n).toBe(count);
    expect(Buffer.compare(Buffer.from(got), Buffer.from(sent))).toBe(0);
  });
});
