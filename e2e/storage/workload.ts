// Disk workloads for bench/disk.ts, run inside the browser Worker: random 4K
// reads/writes at a given queue depth, with per-operation latencies.

import { SECTOR_SIZE, type CacheStats, type LayerStats } from '../../src/storage/index.ts';
import { destroyDisk, openDisk, type Backend } from './open-disk.ts';

export interface BenchConfig {
  backend: Backend;
  name: string;
  /** Disk size in sectors. */
  sectors: number;
  cacheBytes: number;
  pattern: 'randread' | 'randwrite';
  queueDepth: number;
  blockBytes: number;
  /** Operations to time (after warm-up). */
  ops: number;
  /** Operations before timing starts (fills caches, creates overlay chunks). */
  warmupOps?: number;
  /** Offsets are drawn from the first `workingSetBytes` of the disk. Default: whole disk. */
  workingSetBytes?: number;
  /** Fraction of accesses that go to the hottest 10% of the working set (skew). Default: uniform. */
  hotFraction?: number;
  /** randwrite: flush after this many writes (flush time is part of the run). Default 64. */
  flushEvery?: number;
  seed?: number;
}

export interface BenchResult {
  ops: number;
  seconds: number;
  iops: number;
  /** Wall time per operation and queue slot: seconds × QD / ops (at QD1, the mean latency). */
  meanMs: number;
  p50Ms: number;
  p99Ms: number;
  cache: CacheStats | null;
  stats: LayerStats;
}

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function quantile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

export async function runBenchmark(c: BenchConfig): Promise<BenchResult> {
  // A local: looking up the global `performance` in a worker costs as much as a cache hit itself.
  const perf = performance;
  const spec = { backend: c.backend, name: c.name, sectors: c.sectors, cacheBytes: c.cacheBytes };
  await destroyDisk(spec).catch(() => {});
  const stack = await openDisk(spec);
  const r = rng(c.seed ?? 1);
  const blockSectors = c.blockBytes / SECTOR_SIZE;
  const slots = Math.floor(Math.min(c.workingSetBytes ?? c.sectors * SECTOR_SIZE, c.sectors * SECTOR_SIZE) / c.blockBytes);
  const hot = Math.max(1, Math.floor(slots / 10));
  const nextSector = () => {
    const slot = c.hotFraction !== undefined && r() < c.hotFraction ? Math.floor(r() * hot) : Math.floor(r() * slots);
    return slot * blockSectors;
  };
  const flushEvery = c.flushEvery ?? 64;
  let issued = 0;
  let sinceFlush = 0;
  const latencies: number[] = [];
  const run = async (total: number, record: boolean) => {
    issued = 0;
    const worker = async () => {
      const buf = new Uint8Array(c.blockBytes);
      while (issued < total) {
        issued++;
        const sector = nextSector();
        const t0 = perf.now();
        if (c.pattern === 'randread') await stack.top.readv(sector, [buf]);
        else {
          buf[0] = issued & 0xff;
          await stack.top.writev(sector, [buf]);
          if (++sinceFlush >= flushEvery) {
            sinceFlush = 0;
            await stack.top.flush();
          }
        }
        if (record) latencies.push(perf.now() - t0);
      }
    };
    await Promise.all(Array.from({ length: c.queueDepth }, worker));
  };
  // Warm-up also materialises the overlay for reads, so reads measure the backend, not the base image.
  if (c.pattern === 'randread') {
    const fill = new Uint8Array(1 << 20);
    const limit = Math.min(c.sectors, (c.workingSetBytes ?? c.sectors * SECTOR_SIZE) / SECTOR_SIZE);
    for (let s = 0; s < limit; s += fill.length / SECTOR_SIZE) await stack.top.writev(s, [fill.subarray(0, Math.min(fill.length, (limit - s) * SECTOR_SIZE))]);
    await stack.top.flush();
  }
  await run(c.warmupOps ?? Math.min(c.ops, 200), false);
  const cacheLayer = stack.cache;
  const before = cacheLayer?.cacheStats();
  const t0 = perf.now();
  await run(c.ops, true);
  if (c.pattern === 'randwrite') await stack.top.flush();
  const seconds = (perf.now() - t0) / 1000;
  const after = cacheLayer?.cacheStats() ?? null;
  latencies.sort((a, b) => a - b);
  const stats = stack.stats();
  await stack.close();
  await destroyDisk(spec).catch(() => {});
  let cache: CacheStats | null = null;
  if (after && before) {
    const hits = after.hits - before.hits;
    const misses = after.misses - before.misses;
    cache = { ...after, hits, misses, hitRate: hits + misses === 0 ? null : hits / (hits + misses) };
  }
  return { ops: latencies.length, seconds, iops: latencies.length / seconds, meanMs: (seconds * 1000 * c.queueDepth) / latencies.length, p50Ms: quantile(latencies, 0.5), p99Ms: quantile(latencies, 0.99), cache, stats };
}
