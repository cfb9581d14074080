import { describe, expect, it } from 'vitest';
import { MemoryBlockDevice } from '../../src/storage/backends/memory.ts';
import { StorageError } from '../../src/storage/errors.ts';
import { SECTOR_SIZE } from '../../src/storage/block-device.ts';
import { BlockLayer } from '../../src/storage/layer.ts';
import type { Clock } from '../../src/storage/stats.ts';
import { bucketOf, histogramQuantileMs, emptyOpStats, recordOp } from '../../src/storage/stats.ts';
import { PieceCursor, chunkPieces, sliceSegments } from '../../src/storage/segments.ts';
import { sectors } from './fakes.ts';

async function rejection(p: Promise<unknown>): Promise<StorageError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(StorageError);
    return e as StorageError;
  }
  throw new Error('expected a rejection');
}

describe('BlockLayer validation', () => {
  const dev = () => MemoryBlockDevice.create(16, { name: 'disk0' });

  it('refuses a read past the end with an actionable message', async () => {
    const e = await rejection(dev().readv(15, [new Uint8Array(1024)]));
    expect(e.code).toBe('out-of-range');
    expect(e.message).toMatch(/disk0: read of 2 sectors at sector 15 is outside the disk \(16 sectors = 8 KiB, last sector 15\)/);
  });

  it('refuses negative, fractional and unsafe sector numbers', async () => {
    for (const s of [-1, 1.5, Number.MAX_SAFE_INTEGER, Number.NaN]) {
      expect((await rejection(dev().readv(s, [new Uint8Array(512)]))).code).toBe('out-of-range');
    }
  });

  it('refuses transfers that are not whole sectors', async () => {
    const e = await rejection(dev().writev(0, [new Uint8Array(100), new Uint8Array(300)]));
    expect(e.code).toBe('misaligned');
    expect(e.message).toMatch(/400 bytes is not a whole number of 512-byte sectors/);
  });

  it('refuses writes and discards on a read-only disk and counts them as errors', async () => {
    const d = MemoryBlockDevice.create(16, { readOnly: true });
    expect((await rejection(d.writev(0, [new Uint8Array(512)]))).code).toBe('read-only');
    expect((await rejection(d.discard(0, 1))).message).toMatch(/read-only.*copy-on-write overlay/);
    expect(d.stats().write.errors).toBe(1);
    expect(d.stats().discard.errors).toBe(1);
  });

  it('refuses use after close', async () => {
    const d = dev();
    await d.close();
    expect((await rejection(d.flush())).code).toBe('closed');
  });

  it('accepts segments of any length summing to whole sectors, in order', async () => {
    const d = dev();
    const data = sectors(2, 3);
    await d.writev(4, [data.subarray(0, 1), data.subarray(1, 700), data.subarray(700)]);
    const a = new Uint8Array(5);
    const b = new Uint8Array(1019);
    await d.readv(4, [a, b]);
    expect([...a, ...b]).toEqual([...data]);
  });

  it('counts ops, bytes and latency per operation kind', async () => {
    let now = 0;
    const d = MemoryBlockDevice.create(16, { clock: () => (now += 0.004) });
    await d.writev(0, [new Uint8Array(1024)]);
    await d.readv(0, [new Uint8Array(512)]);
    await d.readv(1, [new Uint8Array(512)]);
    await d.flush();
    const s = d.stats();
    expect(s.layer).toBe('memory');
    expect(s.write.ops).toBe(1);
    expect(s.write.bytes).toBe(1024);
    expect(s.read.ops).toBe(2);
    expect(s.read.bytes).toBe(1024);
    expect(s.flush.ops).toBe(1);
    // each op took 4 µs on this clock: bucket [4, 8) µs
    expect(s.read.latency.counts[bucketOf(0.004)]).toBe(2);
    expect(bucketOf(0.004)).toBe(3);
    expect(s.lower).toEqual([]);
    expect(JSON.parse(JSON.stringify(s))).toEqual(s); // plain data
  });
});

/** A layer whose do* methods complete synchronously, asynchronously, or throw, as told. */
class ScriptedLayer extends BlockLayer {
  mode: 'sync' | 'async' | 'throw' | 'reject' = 'async';
  constructor(clock?: Clock) {
    super('scripted', 64, false, clock);
  }
  private act(): Promise<void> | void {
    switch (this.mode) {
      case 'sync':
        return;
      case 'async':
        return Promise.resolve();
      case 'throw':
        throw new Error('boom');
      case 'reject':
        return Promise.reject(new Error('boom'));
    }
  }
  protected doReadv(): Promise<void> | void {
    return this.act();
  }
  protected doWritev(): Promise<void> | void {
    return this.act();
  }
  protected async doFlush(): Promise<void> {
    await this.act();
  }
  protected async doDiscard(): Promise<void> {
    await this.act();
  }
}

describe('BlockLayer op accounting', () => {
  it('records ops that a layer completes synchronously, with their latency', async () => {
    let now = 0;
    const d = new ScriptedLayer(() => (now += 0.002));
    d.mode = 'sync';
    const p = d.readv(0, [new Uint8Array(1024)]);
    expect(p).toBeInstanceOf(Promise);
    await p;
    await d.writev(2, [new Uint8Array(512)]);
    const s = d.stats();
    expect([s.read.ops, s.read.bytes, s.read.errors]).toEqual([1, 1024, 0]);
    expect([s.write.ops, s.write.bytes]).toEqual([1, 512]);
    expect(s.read.latency.counts[bucketOf(0.002)]).toBe(1);
    expect(s.read.latency.totalMs).toBeCloseTo(0.002);
  });

  it('translates failures, thrown or rejected, and says what the op was doing', async () => {
    const d = new ScriptedLayer();
    for (const mode of ['throw', 'reject'] as const) {
      d.mode = mode;
      // A failure is always a rejection, never a synchronous throw.
      const read = d.readv(8, [new Uint8Array(4096)]);
      expect((await rejection(read)).message).toBe('I/O error while reading 4 KiB at sector 8 on scripted: boom');
      expect((await rejection(d.writev(2, [new Uint8Array(1024)]))).message).toBe('I/O error while writing 1 KiB at sector 2 on scripted: boom');
      expect((await rejection(d.flush())).message).toBe('I/O error while flushing on scripted: boom');
      expect((await rejection(d.discard(4, 3))).message).toBe('I/O error while discarding 3 sectors at sector 4 on scripted: boom');
    }
    const s = d.stats();
    for (const op of [s.read, s.write, s.flush, s.discard]) expect([op.ops, op.errors]).toEqual([2, 2]);
    expect(s.read.bytes).toBe(0);
  });

  it('rejects refused ops rather than throwing, and counts them', async () => {
    const d = new ScriptedLayer();
    const p = d.readv(64, [new Uint8Array(512)]);
    expect((await rejection(p)).code).toBe('out-of-range');
    expect((await rejection(d.discard(63, 2))).code).toBe('out-of-range');
    await d.close();
    expect((await rejection(d.writev(0, [new Uint8Array(512)]))).code).toBe('closed');
    const s = d.stats();
    expect([s.read.errors, s.discard.errors, s.write.errors]).toEqual([1, 1, 1]);
  });
});

describe('MemoryBlockDevice', () => {
  it('zero-fills discarded sectors', async () => {
    const d = MemoryBlockDevice.create(8);
    await d.writev(0, [sectors(8, 1)]);
    await d.discard(2, 3);
    const out = new Uint8Array(8 * SECTOR_SIZE);
    await d.readv(0, [out]);
    expect(out.subarray(2 * SECTOR_SIZE, 5 * SECTOR_SIZE).every((b) => b === 0)).toBe(true);
    expect(out.subarray(0, 2 * SECTOR_SIZE)).toEqual(sectors(8, 1).subarray(0, 2 * SECTOR_SIZE));
  });

  it('refuses an image that is not whole sectors', () => {
    expect(() => MemoryBlockDevice.fromImage(new Uint8Array(1000))).toThrow(/not a whole number of 512-byte sectors/);
  });
});

describe('latency histogram', () => {
  it('puts latencies in log2 microsecond buckets', () => {
    expect(bucketOf(0)).toBe(0);
    expect(bucketOf(Number.NaN)).toBe(0);
    expect(bucketOf(0.0009)).toBe(0); // < 1 µs
    expect(bucketOf(0.001)).toBe(1); // [1, 2) µs
    expect(bucketOf(0.0019999)).toBe(1);
    expect(bucketOf(0.002)).toBe(2);
    expect(bucketOf(0.0079999)).toBe(3); // [4, 8) µs
    expect(bucketOf(2 ** 29 / 1000)).toBe(30);
    expect(bucketOf((2 ** 30 - 1) / 1000)).toBe(30);
    expect(bucketOf(2 ** 30 / 1000)).toBe(31);
    expect(bucketOf(2 ** 40 / 1000)).toBe(31);
    expect(bucketOf(1)).toBe(10); // 1000 µs in [512, 1024)
    expect(bucketOf(1e12)).toBe(31);
  });

  it('estimates quantiles as bucket upper bounds, capped by the maximum', () => {
    const s = emptyOpStats();
    for (let i = 0; i < 99; i++) recordOp(s, 512, 0.01, false); // 10 µs → bucket [8,16)
    recordOp(s, 512, 5, false);
    expect(histogramQuantileMs(s.latency, 0.5)).toBe(0.016);
    expect(histogramQuantileMs(s.latency, 0.99)).toBe(0.016);
    expect(histogramQuantileMs(s.latency, 1)).toBe(5);
  });
});

describe('segment helpers', () => {
  it('splits a byte stream into pieces that never cross a chunk or segment', () => {
    const a = new Uint8Array(700);
    const b = new Uint8Array(324);
    const pieces = [...chunkPieces(300, [a, b], 512)].map((p) => [p.chunk, p.chunkOffset, p.length, p.segment === a ? 'a' : 'b', p.segmentOffset]);
    expect(pieces).toEqual([
      [0, 300, 212, 'a', 0],
      [1, 0, 488, 'a', 212],
      [1, 488, 24, 'b', 0],
      [2, 0, 300, 'b', 24],
    ]);
  });

  it('skips empty segments; the cursor walks the same pieces as chunkPieces', () => {
    const a = new Uint8Array(0);
    const b = new Uint8Array(1024);
    const c = new Uint8Array(0);
    const d = new Uint8Array(512);
    const expected = [...chunkPieces(512, [a, b, c, d], 1024)].map((p) => [p.chunk, p.chunkOffset, p.length, p.segmentOffset]);
    expect(expected).toEqual([
      [0, 512, 512, 0],
      [1, 0, 512, 512],
      [1, 512, 512, 0],
    ]);
    const cursor = new PieceCursor(512, [a, b, c, d], 1024);
    const walked: number[][] = [];
    const segs: Uint8Array[] = [];
    while (cursor.next()) {
      walked.push([cursor.chunk, cursor.chunkOffset, cursor.length, cursor.segmentOffset]);
      segs.push(cursor.segment);
    }
    expect(walked).toEqual(expected);
    expect(segs.map((x) => (x === b ? 'b' : x === d ? 'd' : '?'))).toEqual(['b', 'b', 'd']);
    expect(cursor.next()).toBe(false);
    expect(new PieceCursor(0, [], 512).next()).toBe(false);
  });

  it('slices a segment list without copying', () => {
    const a = new Uint8Array(10);
    const b = new Uint8Array(10);
    const s = sliceSegments([a, b], 7, 6);
    expect(s.map((x) => [x.byteOffset, x.length])).toEqual([
      [7, 3],
      [0, 3],
    ]);
    expect(s[0]!.buffer).toBe(a.buffer);
  });
});
