import { describe, expect, it } from 'vitest';
import { CachedBlockDevice } from '../../src/storage/cache/block-cache.ts';
import { SECTOR_SIZE } from '../../src/storage/block-device.ts';
import { TestDisk, firstDifference, randInt, rng, sectors } from './fakes.ts';

function expectBytes(actual: Uint8Array, expected: Uint8Array, what = ''): void {
  expect(firstDifference(actual, expected), what).toBeNull();
}

const BS = 4096;
const SPB = BS / SECTOR_SIZE; // sectors per block

function setup(budgetBlocks: number, capacity = 1024, latency?: () => number) {
  const disk = new TestDisk(capacity, { latency });
  disk.volatile.set(sectors(capacity, 1));
  disk.durable.set(disk.volatile);
  const cache = new CachedBlockDevice(disk, { budgetBytes: budgetBlocks * BS, blockSize: BS });
  return { disk, cache };
}

async function readSectors(dev: CachedBlockDevice, sector: number, n: number): Promise<Uint8Array> {
  const buf = new Uint8Array(n * SECTOR_SIZE);
  await dev.readv(sector, [buf]);
  return buf;
}

describe('CachedBlockDevice reads', () => {
  it('counts a miss, then serves the same block from cache without touching the disk', async () => {
    const { disk, cache } = setup(8);
    const a = await readSectors(cache, 0, SPB);
    expectBytes(a, disk.volatile.subarray(0, BS));
    const reads = disk.log.length;
    const b = await readSectors(cache, 1, 2); // inside the same block
    expectBytes(b, disk.volatile.subarray(SECTOR_SIZE, 3 * SECTOR_SIZE));
    expect(disk.log.length).toBe(reads);
    const s = cache.cacheStats();
    expect(s.misses).toBe(1);
    expect(s.hits).toBe(1);
    expect(s.bytesSaved).toBe(2 * SECTOR_SIZE);
    expect(s.hitRate).toBe(0.5);
  });

  it('reads consecutive missing blocks with one request below', async () => {
    const { disk, cache } = setup(64);
    await readSectors(cache, 0, 8 * SPB);
    expect(disk.log).toEqual([`read 0+${8 * SPB}`]);
  });

  it('evicts the least recently used block when over budget', async () => {
    const { cache } = setup(2);
    await readSectors(cache, 0, 1); // block 0
    await readSectors(cache, SPB, 1); // block 1
    await readSectors(cache, 0, 1); // touch block 0
    await readSectors(cache, 2 * SPB, 1); // block 2 evicts block 1
    expect(cache.isCached(0)).toBe(true);
    expect(cache.isCached(SPB)).toBe(false);
    expect(cache.isCached(2 * SPB)).toBe(true);
    const s = cache.cacheStats();
    expect(s.evictions).toBe(1);
    expect(s.residentBytes).toBe(2 * BS);
  });

  it('serves a read of cached blocks across segments of any size without the disk', async () => {
    const { disk, cache } = setup(8);
    await readSectors(cache, 0, 3 * SPB);
    const reads = disk.log.length;
    const before = cache.cacheStats();
    const segs = [new Uint8Array(100), new Uint8Array(5000), new Uint8Array(2 * BS - 5100)];
    const done = cache.readv(3, segs);
    // Every block was cached, so the bytes are already there: nothing waited on the disk.
    const got = new Uint8Array(2 * BS);
    got.set(segs[0]!, 0);
    got.set(segs[1]!, 100);
    got.set(segs[2]!, 5100);
    expectBytes(got, disk.volatile.subarray(3 * SECTOR_SIZE, 3 * SECTOR_SIZE + 2 * BS));
    await done;
    expect(disk.log.length).toBe(reads);
    const after = cache.cacheStats();
    expect(after.hits - before.hits).toBe(3);
    expect(after.misses).toBe(before.misses);
    expect(after.bytesSaved - before.bytesSaved).toBe(2 * BS);
    expect(cache.stats().read.ops).toBe(2);
  });

  it('ages the cached blocks of a read that also misses like those of a full hit', async () => {
    const { cache } = setup(2);
    await readSectors(cache, 0, 1); // block 0
    await readSectors(cache, SPB, 1); // block 1
    await readSectors(cache, 0, 1); // touch block 0: block 1 is now the oldest
    await readSectors(cache, SPB, 2 * SPB); // hit on block 1, miss on block 2: evicts block 0
    expect(cache.isCached(0)).toBe(false);
    expect(cache.isCached(SPB)).toBe(true);
    expect(cache.isCached(2 * SPB)).toBe(true);
    expect(cache.cacheStats()).toMatchObject({ hits: 2, misses: 3 });
  });

  it('handles a disk whose size is not a multiple of the block size', async () => {
    const { disk, cache } = setup(8, 1001);
    const tail = await readSectors(cache, 996, 5);
    expectBytes(tail, disk.volatile.subarray(996 * SECTOR_SIZE));
    await cache.writev(1000, [sectors(1, 9)]);
    await cache.flush();
    expectBytes(disk.durable.subarray(1000 * SECTOR_SIZE), sectors(1, 9));
  });

  it('reports a failed read below as the read error and caches nothing', async () => {
    const { disk, cache } = setup(8);
    disk.failReads = 1;
    await expect(readSectors(cache, 0, 8)).rejects.toThrow(/injected read failure/);
    expect(cache.isCached(0)).toBe(false);
    expectBytes(await readSectors(cache, 0, 8), disk.volatile.subarray(0, 8 * SECTOR_SIZE));
  });
});

describe('CachedBlockDevice write-back and flush', () => {
  it('keeps writes in the cache until flush, and flush writes them before flushing below', async () => {
    const { disk, cache } = setup(8);
    await cache.writev(0, [sectors(SPB, 5)]);
    expect(disk.log).toEqual([]);
    expectBytes(await readSectors(cache, 0, SPB), sectors(SPB, 5));
    await cache.flush();
    expect(disk.log).toEqual([`write 0+${SPB}`, 'flush']);
    expectBytes(disk.durable.subarray(0, BS), sectors(SPB, 5));
    expect(cache.cacheStats().dirtyBytes).toBe(0);
  });

  it('reads the rest of a block before a partial write into an uncached block', async () => {
    const { disk, cache } = setup(8);
    const before = disk.volatile.slice(0, BS);
    await cache.writev(2, [sectors(1, 7)]);
    await cache.flush();
    const expected = before.slice();
    expected.set(sectors(1, 7), 2 * SECTOR_SIZE);
    expectBytes(disk.durable.subarray(0, BS), expected);
  });

  it('writes back a dirty block on eviction and serves it while the write is in flight', async () => {
    const { disk, cache } = setup(1, 1024, () => 2);
    await cache.writev(0, [sectors(SPB, 3)]);
    const read2 = readSectors(cache, SPB, SPB); // evicts block 0 when it arrives
    await read2;
    expect(cache.cacheStats().dirtyEvictions).toBe(1);
    // Block 0 is either being written or written: both must return the new bytes.
    expectBytes(await readSectors(cache, 0, SPB), sectors(SPB, 3));
    await cache.flush();
    expectBytes(disk.durable.subarray(0, BS), sectors(SPB, 3));
  });

  it('keeps data dirty when write-back fails, fails the flush, and succeeds on the next flush', async () => {
    const { disk, cache } = setup(8);
    await cache.writev(8, [sectors(SPB, 11)]);
    disk.failWrites = 1;
    await expect(cache.flush()).rejects.toThrow(/injected write failure/);
    expect(firstDifference(disk.durable.subarray(BS, 2 * BS), sectors(SPB, 11))).not.toBeNull();
    await cache.flush();
    expectBytes(disk.durable.subarray(BS, 2 * BS), sectors(SPB, 11));
  });

  it('fails the flush when the disk flush fails', async () => {
    const { disk, cache } = setup(8);
    await cache.writev(0, [sectors(1, 2)]);
    disk.failFlushes = 1;
    await expect(cache.flush()).rejects.toThrow(/injected flush failure/);
  });

  it('covers evicted blocks whose write-back failed before the flush', async () => {
    const { disk, cache } = setup(1);
    disk.failWrites = 1;
    await cache.writev(0, [sectors(SPB, 21)]);
    await cache.writev(SPB, [sectors(SPB, 22)]); // evicts block 0; its write-back fails
    await new Promise((r) => setTimeout(r, 5));
    await cache.flush();
    expectBytes(disk.durable.subarray(0, BS), sectors(SPB, 21));
    expectBytes(disk.durable.subarray(BS, 2 * BS), sectors(SPB, 22));
  });

  it('makes a FUA write durable before it resolves', async () => {
    const { disk, cache } = setup(8);
    await cache.writev(16, [sectors(SPB, 4)], { fua: true });
    expectBytes(disk.durable.subarray(2 * BS, 3 * BS), sectors(SPB, 4));
  });

  it('does not allocate for bypass writes and keeps cached copies coherent', async () => {
    const { disk, cache } = setup(8);
    await cache.writev(0, [sectors(SPB, 6)], { cacheHint: 'bypass' });
    expect(cache.isCached(0)).toBe(false);
    expectBytes(disk.volatile.subarray(0, BS), sectors(SPB, 6));
    await readSectors(cache, SPB, SPB); // cache block 1
    await cache.writev(SPB + 1, [sectors(1, 8)], { cacheHint: 'bypass' });
    const expected = disk.volatile.slice(BS, 2 * BS);
    expectBytes(expected.subarray(SECTOR_SIZE, 2 * SECTOR_SIZE), sectors(1, 8));
    expectBytes(await readSectors(cache, SPB, SPB), expected);
    expect(cache.cacheStats().bypassedWriteBytes).toBe(BS);
  });

  it('drops only clean, fully covered blocks on demote', async () => {
    const { cache } = setup(8);
    await readSectors(cache, 0, 3 * SPB);
    await cache.writev(SPB, [sectors(SPB, 1)]);
    cache.demote(0, 2 * SPB + 1);
    expect(cache.isCached(0)).toBe(false); // clean, covered
    expect(cache.isCached(SPB)).toBe(true); // dirty
    expect(cache.isCached(2 * SPB)).toBe(true); // only partly covered
  });

  it('drops fully discarded blocks and passes the discard down', async () => {
    const { disk, cache } = setup(8);
    await readSectors(cache, 0, 2 * SPB);
    await cache.discard(0, SPB + 1);
    expect(cache.isCached(0)).toBe(false);
    expect(cache.isCached(SPB)).toBe(true);
    expect(disk.log.at(-1)).toBe(`discard 0+${SPB + 1}`);
  });

  it('samples the hit rate per interval', async () => {
    let now = 0;
    const disk = new TestDisk(64);
    const cache = new CachedBlockDevice(disk, { budgetBytes: 8 * BS, sampleIntervalMs: 100, clock: () => now });
    await readSectors(cache, 0, 1); // miss
    now = 150;
    await readSectors(cache, 0, 1); // hit, closes [0,150)
    now = 300;
    const s = cache.cacheStats();
    expect(s.samples).toEqual([
      { t: 150, hits: 1, misses: 1, hitRate: 0.5 },
      { t: 300, hits: 0, misses: 0, hitRate: null },
    ]);
  });
});

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return firstDifference(a, b) === null;
}

describe('CachedBlockDevice under concurrency', () => {
  // Batches of concurrent requests on disjoint sector ranges that share blocks,
  // over a disk with random latency and a cache small enough to evict constantly.
  // After each batch every sector must read back as the model says, and after a
  // flush the durable bytes must equal the model.
  for (const budgetBlocks of [0, 1, 3, 16]) {
    it(`matches a reference model with a ${budgetBlocks}-block budget`, async () => {
      const r = rng(Number(process.env.CACHE_SEED ?? 1000) + budgetBlocks);
      const capacity = 256;
      const { disk, cache } = setup(budgetBlocks, capacity, () => randInt(r, 3));
      const model = disk.volatile.slice();
      let tag = 100;
      for (let round = 0; round < 60; round++) {
        const before = model.slice();
        let flushed = false;
        const used = new Set<number>();
        const ops: Promise<void>[] = [];
        const reads: Array<{ sector: number; buf: Uint8Array; expect: Uint8Array }> = [];
        for (let k = 0; k < 12; k++) {
          const sector = randInt(r, capacity - 12);
          const n = 1 + randInt(r, 11);
          let clash = false;
          for (let s = sector; s < sector + n; s++) if (used.has(s)) clash = true;
          if (clash) continue;
          for (let s = sector; s < sector + n; s++) used.add(s);
          const kind = r();
          if (kind < 0.5) {
            const data = sectors(n, tag++);
            model.set(data, sector * SECTOR_SIZE);
            const fua = r() < 0.1;
            const cacheHint = r() < 0.15 ? 'bypass' : 'normal';
            ops.push(cache.writev(sector, [data.subarray(0, 100), data.subarray(100)], { fua, cacheHint }));
          } else {
            const buf = new Uint8Array(n * SECTOR_SIZE);
            reads.push({ sector, buf, expect: model.slice(sector * SECTOR_SIZE, (sector + n) * SECTOR_SIZE) });
            ops.push(cache.readv(sector, [buf]));
          }
        }
        if (r() < 0.2) {
          ops.push(cache.flush());
          flushed = true;
        }
        await Promise.all(ops);
        for (const rd of reads) expect(rd.buf, `round ${round} read at ${rd.sector}`).toEqual(rd.expect);
        if (flushed) {
          // Everything written in earlier rounds completed before this flush: it must be durable.
          // Writes racing with the flush may or may not be.
          for (let s = 0; s < capacity; s++) {
            const d = disk.durable.subarray(s * SECTOR_SIZE, (s + 1) * SECTOR_SIZE);
            const ok =
              equalBytes(d, before.subarray(s * SECTOR_SIZE, (s + 1) * SECTOR_SIZE)) ||
              equalBytes(d, model.subarray(s * SECTOR_SIZE, (s + 1) * SECTOR_SIZE));
            expect(ok, `round ${round}: sector ${s} lost a flushed write`).toBe(true);
          }
        }
      }
      const all = new Uint8Array(capacity * SECTOR_SIZE);
      await cache.readv(0, [all]);
      expectBytes(all, model);
      await cache.flush();
      expectBytes(disk.durable, model);
    });
  }
});
