// The storage stack under test, running in a dedicated Worker as in the
// emulator. Exposed to the page with comlink.

import * as Comlink from 'comlink';
import {
  CowOverlay,
  HttpBlockDevice,
  IdbChunkDevice,
  SECTOR_SIZE,
  isStorageError,
  openOpfsDisk,
  type HttpProgress,
  type LayerStats,
} from '../../src/storage/index.ts';
import { destroyDisk, openDisk, type DiskSpec } from './open-disk.ts';
import { SECTOR, decodeSector, encodeSector } from './sector-pattern.ts';
import { runBenchmark, type BenchConfig, type BenchResult } from './workload.ts';

export type { DiskSpec } from './open-disk.ts';

export interface FlushReport {
  /** [sector, version] of every write that completed before the flush that just became durable. */
  writes: Array<[number, number]>;
  flushes: number;
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

function encodeRun(first: number, count: number, version: number): Uint8Array {
  const buf = new Uint8Array(count * SECTOR);
  for (let i = 0; i < count; i++) encodeSector(buf.subarray(i * SECTOR, (i + 1) * SECTOR), first + i, version);
  return buf;
}

const api = {
  async destroy(spec: DiskSpec): Promise<void> {
    await destroyDisk(spec);
  },

  /** Writes runs of several sizes through the stack, flushes, closes, reopens and reads everything back. */
  async roundTrip(spec: DiskSpec): Promise<{ mismatches: number[]; stats: LayerStats; directViewOk: boolean }> {
    const writes: Array<[number, number]> = [
      [0, 1],
      [7, 9],
      [64, 128],
      [spec.sectors - 8, 8],
      [1000, 3],
    ];
    let stack = await openDisk(spec);
    let version = 1;
    for (const [first, count] of writes) {
      const data = encodeRun(first, count, version++);
      // Segments of odd sizes, as a DMA scatter list would give.
      await stack.top.writev(first, [data.subarray(0, 100), data.subarray(100, 1000), data.subarray(1000)]);
    }
    await stack.top.flush();
    const stats = stack.stats();
    await stack.close();
    stack = await openDisk(spec);
    const all = new Uint8Array(spec.sectors * SECTOR);
    await stack.top.readv(0, [all]);
    await stack.close();
    const expected = new Map<number, number>();
    version = 1;
    for (const [first, count] of writes) {
      for (let s = first; s < first + count; s++) expected.set(s, version);
      version++;
    }
    const mismatches: number[] = [];
    for (let s = 0; s < spec.sectors; s++) {
      if (decodeSector(all.subarray(s * SECTOR, (s + 1) * SECTOR), s) !== (expected.get(s) ?? 0)) mismatches.push(s);
    }
    return { mismatches, stats, directViewOk: await directViewRead(spec) };
  },

  /**
   * Writes and flushes until the page dies. After each flush resolves, reports
   * the writes it covered and waits until the test has recorded them.
   */
  async crashLoop(spec: DiskSpec, seed: number, versionBase: number, report: (r: FlushReport) => Promise<void>): Promise<void> {
    const r = rng(seed);
    const stack = await openDisk(spec);
    let version = versionBase;
    let flushes = 0;
    for (;;) {
      const done: Array<[number, number]> = [];
      const batch = 1 + Math.floor(r() * 6);
      const pending: Promise<void>[] = [];
      const used = new Set<number>();
      for (let i = 0; i < batch; i++) {
        const count = r() < 0.5 ? 8 : 1 + Math.floor(r() * 16);
        const first = Math.floor(r() * (spec.sectors - count));
        let clash = false;
        for (let s = first; s < first + count; s++) if (used.has(s)) clash = true;
        if (clash) continue;
        for (let s = first; s < first + count; s++) used.add(s);
        const v = ++version;
        pending.push(stack.top.writev(first, [encodeRun(first, count, v)]).then(() => {
          for (let s = first; s < first + count; s++) done.push([s, v]);
        }));
      }
      await Promise.all(pending);
      await stack.top.flush();
      flushes++;
      await report({ writes: done, flushes });
    }
  },

  /** Per sector: the version it holds (0 = base), or -1 if its bytes are not a valid sector. */
  async verify(spec: DiskSpec): Promise<{ versions: number[]; stats: LayerStats }> {
    const stack = await openDisk(spec);
    const all = new Uint8Array(spec.sectors * SECTOR);
    await stack.top.readv(0, [all]);
    const versions: number[] = [];
    for (let s = 0; s < spec.sectors; s++) versions.push(decodeSector(all.subarray(s * SECTOR, (s + 1) * SECTOR), s));
    const stats = stack.stats();
    await stack.close();
    return { versions, stats };
  },

  /** Writes and flushes until the backend refuses; returns the error it gave. */
  async fillUntilQuota(backend: 'idb' | 'opfs', name: string, limitBytes: number): Promise<{ code: string; message: string; writtenBytes: number }> {
    const sectors = limitBytes / SECTOR_SIZE;
    const dev = backend === 'idb' ? await IdbChunkDevice.open({ name, capacity: sectors }) : await openOpfsDisk(`ts86-test/${name}`, { create: true, capacity: sectors });
    const chunk = new Uint8Array(1 << 20);
    crypto.getRandomValues(chunk.subarray(0, 65536));
    for (let i = 65536; i < chunk.length; i += 65536) chunk.copyWithin(i, 0, 65536);
    let written = 0;
    try {
      for (let s = 0; s < sectors; s += chunk.length / SECTOR_SIZE) {
        await dev.writev(s, [chunk]);
        await dev.flush();
        written += chunk.length;
      }
      return { code: 'none', message: `wrote ${written} bytes without hitting the quota`, writtenBytes: written };
    } catch (e) {
      return isStorageError(e) ? { code: e.code, message: e.message, writtenBytes: written } : { code: 'not-a-storage-error', message: String(e), writtenBytes: written };
    } finally {
      await dev.close().catch(() => {});
    }
  },

  /**
   * A lazily fetched HTTP base image under a COW overlay in IndexedDB: read,
   * write, flush, reopen. Returns the versions seen (0 = base) and progress.
   */
  async httpOverlay(url: string, name: string): Promise<{ before: number[]; after: number[]; progress: HttpProgress | null; requests: number }> {
    await IdbChunkDevice.destroy(name);
    const open = async () => {
      const base = await HttpBlockDevice.open({ url, chunkSize: 64 * 1024, retry: { retries: 2, baseDelayMs: 10 } });
      const overlay = await IdbChunkDevice.open({ name, capacity: base.capacity, chunkSize: 16 * 1024 });
      return { base, cow: await CowOverlay.open(base, overlay, overlay.metadataStore('cow-map'), { chunkSize: 16 * 1024, baseId: url }) };
    };
    const sample = [0, 1, 100, 1000, 2047];
    const readVersions = async (cow: CowOverlay) => {
      const out: number[] = [];
      for (const s of sample) {
        const b = new Uint8Array(SECTOR);
        await cow.readv(s, [b]);
        out.push(decodeSector(b, s));
      }
      return out;
    };
    let { base, cow } = await open();
    let progress: HttpProgress | null = null;
    base.onProgress((p) => (progress = p));
    const before = await readVersions(cow);
    await cow.writev(100, [encodeRun(100, 1, 5)]);
    await cow.writev(2047, [encodeRun(2047, 1, 6)]);
    await cow.flush();
    const requests = (progress as HttpProgress | null)?.requests ?? 0;
    await cow.close();
    ({ cow } = await open());
    const after = await readVersions(cow);
    await cow.close();
    await IdbChunkDevice.destroy(name);
    return { before, after, progress, requests };
  },

  async httpOpenError(url: string): Promise<{ code: string; message: string }> {
    try {
      await HttpBlockDevice.open({ url, retry: { retries: 1, baseDelayMs: 10 } });
      return { code: 'none', message: 'opened' };
    } catch (e) {
      return isStorageError(e) ? { code: e.code, message: e.message } : { code: 'not-a-storage-error', message: String(e) };
    }
  },

  async bench(config: BenchConfig): Promise<BenchResult> {
    return runBenchmark(config);
  },
};

/**
 * The zero-copy path: an OPFS read lands straight in a view of a
 * SharedArrayBuffer (as guest RAM from DmaSpace.view() would be).
 */
async function directViewRead(spec: DiskSpec): Promise<boolean> {
  if (spec.backend !== 'opfs') return true;
  const dev = await openOpfsDisk(`ts86-test/${spec.name}.direct`, { create: true, capacity: 16 });
  try {
    const ram = new Uint8Array(new SharedArrayBuffer(64 * 1024));
    const data = encodeRun(3, 2, 77);
    await dev.writev(3, [data]);
    const view = ram.subarray(4096, 4096 + data.length);
    await dev.readv(3, [view]);
    return decodeSector(ram.subarray(4096, 4096 + SECTOR), 3) === 77 && decodeSector(ram.subarray(4096 + SECTOR, 4096 + 2 * SECTOR), 4) === 77;
  } finally {
    await dev.close();
  }
}

export type StorageWorkerApi = typeof api;
Comlink.expose(api);
