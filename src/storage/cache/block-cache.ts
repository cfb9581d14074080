// Bounded LRU block cache (write-back) with statistics.
//
// Reads are served from cached blocks; misses are read from the layer below in
// runs of consecutive blocks. A read whose blocks are all readable without I/O
// (cached, or being written back) completes synchronously, without a promise
// (see BlockLayer.doReadv), so it cannot interleave with another request.
// Writes land in the cache and are written back when evicted or at the next
// flush; flush() resolves only after the write-back completed and the layer
// below flushed (so a flushed write is durable).
// Writes with cacheHint 'bypass' skip allocation (write-through); FUA writes
// are durable before they resolve.
//
// Coherence rules, because requests run concurrently:
// - A block whose write-back is in flight stays readable from `inflight`, and
//   later writes of the same block to the layer below are chained after it.
// - A fill (miss read) inserts its data only if no write touched the block
//   while it was in flight (the fill is then marked stale and nobody new joins it).
// - A write that must read a block first (partial block not cached) holds the
//   block's lock from the fetch until the bytes are applied; the synchronous
//   fast path is taken only when no touched block is locked.

import { SECTOR_SIZE, type BlockDevice, type WriteOptions } from '../block-device.ts';
import { StorageError } from '../errors.ts';
import { KeyedMutex } from '../keyed-mutex.ts';
import { BlockLayer } from '../layer.ts';
import { LruMap } from '../lru.ts';
import { PieceCursor, chunkPieces, chunkSpan, sliceSegments, type ChunkPiece } from '../segments.ts';
import type { Clock } from '../stats.ts';
import { HitRateSampler, type HitRateSample } from './hit-rate.ts';

export interface BlockCacheOptions {
  /** Upper bound on cached bytes (clean + dirty). 0 disables retention but keeps write-back semantics. */
  budgetBytes: number;
  /** Cache block size in bytes: a power of two ≥ 512. Default 4096 (the guest's usual fs block). */
  blockSize?: number;
  /** Evicted dirty bytes allowed in flight before writers wait. Default max(budget/4, 1 MiB). */
  maxWritebackBytes?: number;
  /** Hit-rate sampling period. Default 1000 ms. */
  sampleIntervalMs?: number;
  /** Samples kept. Default 300. */
  sampleCount?: number;
  clock?: Clock;
}

export interface CacheStats {
  budgetBytes: number;
  blockSize: number;
  residentBytes: number;
  dirtyBytes: number;
  /** Lookups in blocks. */
  hits: number;
  misses: number;
  hitRate: number | null;
  evictions: number;
  dirtyEvictions: number;
  /** Bytes handed to readers straight from the cache instead of the layer below. */
  bytesSaved: number;
  writtenBackBytes: number;
  bypassedWriteBytes: number;
  samples: HitRateSample[];
}

interface Entry {
  data: Uint8Array;
  dirty: boolean;
}

interface InflightWrite {
  /** The block's bytes being written, or null for a bypass write (readers wait instead). */
  data: Uint8Array | null;
  /** Rejects if the write failed. */
  op: Promise<void>;
  /** Same, but never rejects: for chaining. */
  settled: Promise<void>;
}

/** A read below of one block that readers and partial writers can share. */
interface Fill {
  data: Promise<Uint8Array>;
  /** A write touched the block while the fill was in flight: its data may be old, so nobody new may join it. */
  stale: boolean;
}

const MAX_RUN_BLOCKS = 256;

export class CachedBlockDevice extends BlockLayer {
  readonly blockSize: number;
  private readonly budgetBytes: number;
  private readonly maxWritebackBytes: number;
  private readonly diskBytes: number;
  private readonly lru = new LruMap<number, Entry>();
  private readonly dirtyBlocks = new Set<number>();
  private readonly inflight = new Map<number, InflightWrite>();
  private readonly fills = new Map<number, Fill>();
  private readonly locks = new KeyedMutex();
  private readonly sampler: HitRateSampler;
  private residentBytes = 0;
  private dirtyBytes = 0;
  private inflightBytes = 0;
  private hits = 0;
  private misses = 0;
  private evictions = 0;
  private dirtyEvictions = 0;
  private bytesSaved = 0;
  private writtenBackBytes = 0;
  private bypassedWriteBytes = 0;

  constructor(
    private readonly inner: BlockDevice,
    options: BlockCacheOptions,
  ) {
    super('cache', inner.capacity, inner.readOnly, options.clock);
    const bs = options.blockSize ?? 4096;
    if (!Number.isInteger(bs) || bs < SECTOR_SIZE || (bs & (bs - 1)) !== 0) {
      throw new StorageError('io', `cache block size must be a power of two of at least ${SECTOR_SIZE} bytes, got ${bs}`);
    }
    if (!(options.budgetBytes >= 0)) throw new StorageError('io', `cache budget must be ≥ 0 bytes, got ${options.budgetBytes}`);
    this.blockSize = bs;
    this.budgetBytes = options.budgetBytes;
    this.maxWritebackBytes = options.maxWritebackBytes ?? Math.max(options.budgetBytes / 4, 1 << 20);
    this.diskBytes = inner.capacity * SECTOR_SIZE;
    this.sampler = new HitRateSampler(this.clock, options.sampleIntervalMs ?? 1000, options.sampleCount ?? 300);
  }

  protected override lowerLayers(): readonly BlockDevice[] {
    return [this.inner];
  }

  protected override extraStats(): Record<string, unknown> {
    return { cache: this.cacheStats() };
  }

  cacheStats(): CacheStats {
    this.sampler.observe(this.hits, this.misses);
    const lookups = this.hits + this.misses;
    return {
      budgetBytes: this.budgetBytes,
      blockSize: this.blockSize,
      residentBytes: this.residentBytes,
      dirtyBytes: this.dirtyBytes,
      hits: this.hits,
      misses: this.misses,
      hitRate: lookups === 0 ? null : this.hits / lookups,
      evictions: this.evictions,
      dirtyEvictions: this.dirtyEvictions,
      bytesSaved: this.bytesSaved,
      writtenBackBytes: this.writtenBackBytes,
      bypassedWriteBytes: this.bypassedWriteBytes,
      samples: this.sampler.samples(),
    };
  }

  /** True if the block holding `sector` is cached (tests, diagnostics). */
  isCached(sector: number): boolean {
    return this.lru.has(Math.floor((sector * SECTOR_SIZE) / this.blockSize));
  }

  /**
   * Drops clean cached blocks that lie entirely inside the range, so data the
   * policy knows will not be re-read stops occupying the budget. Dirty blocks
   * stay (dropping them would lose writes).
   */
  demote(sector: number, count: number): void {
    const start = sector * SECTOR_SIZE;
    const end = start + count * SECTOR_SIZE;
    for (let b = Math.ceil(start / this.blockSize); this.blockStart(b) < end && this.blockEnd(b) <= end; b++) {
      const e = this.lru.peek(b);
      if (e && !e.dirty) this.removeEntry(b, e);
    }
  }

  // ---- reads ---------------------------------------------------------------

  protected doReadv(sector: number, segments: readonly Uint8Array[], bytes: number): Promise<void> | void {
    if (bytes === 0) return;
    const start = sector * SECTOR_SIZE;
    if (this.readAllCached(start, segments, bytes)) return;
    return this.readWithMisses(start, segments, bytes);
  }

  /**
   * The common case, every block readable without I/O: copies synchronously,
   * without the pending-fill map and piece list a miss needs. Returns false,
   * having changed nothing but LRU ages, if any block is missing.
   */
  private readAllCached(start: number, segments: readonly Uint8Array[], bytes: number): boolean {
    const [first, last] = chunkSpan(start, bytes, this.blockSize);
    // Touches in ascending order, as readWithMisses does, so LRU order is the same either way.
    for (let b = first; b <= last; b++) if (!this.cachedData(b)) return false;
    this.hits += last - first + 1;
    this.sampler.observe(this.hits, this.misses, this.opStart);
    for (const c = new PieceCursor(start, segments, this.blockSize); c.next(); ) copyOut(this.peekData(c.chunk)!, c);
    this.bytesSaved += bytes;
    return true;
  }

  private async readWithMisses(start: number, segments: readonly Uint8Array[], bytes: number): Promise<void> {
    const [first, last] = chunkSpan(start, bytes, this.blockSize);
    const pending = new Map<number, Promise<Uint8Array>>();
    let missRunStart = -1;
    for (let b = first; b <= last + 1; b++) {
      let needsRead = false;
      if (b <= last) {
        if (this.cachedData(b)) this.hits++;
        else {
          this.misses++;
          const f = this.joinableFill(b);
          if (f) pending.set(b, f.data);
          else needsRead = true;
        }
      }
      // Consecutive blocks that are neither cached nor being filled become one read below.
      if (needsRead) {
        if (missRunStart < 0) missRunStart = b;
      } else if (missRunStart >= 0) {
        this.fill(missRunStart, b - 1);
        for (let m = missRunStart; m < b; m++) pending.set(m, this.fills.get(m)!.data);
        missRunStart = -1;
      }
    }
    this.sampler.observe(this.hits, this.misses, this.opStart);
    // Copy what is cached now, then what arrives.
    const waiting: ChunkPiece[] = [];
    for (const piece of chunkPieces(start, segments, this.blockSize)) {
      const data = pending.has(piece.chunk) ? undefined : this.cachedData(piece.chunk);
      if (data) {
        copyOut(data, piece);
        this.bytesSaved += piece.length;
      } else waiting.push(piece);
    }
    if (waiting.length === 0) return;
    const arrived = new Map<number, Uint8Array>();
    for (const [b, p] of pending) arrived.set(b, await p);
    for (const piece of waiting) copyOut(arrived.get(piece.chunk)!, piece);
  }

  private joinableFill(b: number): Fill | undefined {
    const f = this.fills.get(b);
    return f && !f.stale ? f : undefined;
  }

  /** A write or discard is changing block b: in-flight fills of it may carry old bytes. */
  private invalidateFill(b: number): void {
    const f = this.fills.get(b);
    if (f) f.stale = true;
  }

  /** The block's current bytes if readable without I/O; marks a cached block most recently used. */
  private cachedData(b: number): Uint8Array | undefined {
    return this.lru.get(b)?.data ?? this.inflight.get(b)?.data ?? undefined;
  }

  /** cachedData() without changing the block's age. */
  private peekData(b: number): Uint8Array | undefined {
    return this.lru.peek(b)?.data ?? this.inflight.get(b)?.data ?? undefined;
  }

  /** Starts one read below for blocks [first, last] and registers it in `fills`. */
  private fill(first: number, last: number): void {
    const buffers: Uint8Array[] = [];
    for (let b = first; b <= last; b++) buffers.push(new Uint8Array(this.blockLength(b)));
    const read = (async () => {
      // Writes of these blocks already on their way down must land before we read.
      await this.settledBelow(first, last);
      await this.inner.readv(this.blockSector(first), buffers);
    })();
    const fills: Fill[] = [];
    for (let b = first; b <= last; b++) {
      const data = read.then(() => buffers[b - first]!);
      data.catch(() => {}); // the reader that awaits it reports the error
      const f: Fill = { data, stale: false };
      fills.push(f);
      this.fills.set(b, f);
    }
    // Registered before any reader's continuation, so insertion happens first.
    read.then(
      () => this.finishFill(first, fills, buffers, true),
      () => this.finishFill(first, fills, buffers, false),
    );
  }

  private finishFill(first: number, fills: Fill[], buffers: Uint8Array[], ok: boolean): void {
    for (let i = 0; i < fills.length; i++) {
      const b = first + i;
      const f = fills[i]!;
      if (this.fills.get(b) === f) this.fills.delete(b);
      if (ok && !f.stale && !this.lru.has(b) && !this.inflight.has(b)) this.insert(b, { data: buffers[i]!, dirty: false });
    }
    if (ok) this.evictIfNeeded();
  }

  // ---- writes --------------------------------------------------------------

  protected async doWritev(sector: number, segments: readonly Uint8Array[], bytes: number, options: WriteOptions): Promise<void> {
    if (bytes === 0) return;
    const start = sector * SECTOR_SIZE;
    const [first, last] = chunkSpan(start, bytes, this.blockSize);
    const bypass = options.cacheHint === 'bypass';
    if (!bypass && this.canApplyNow(start, bytes, first, last)) {
      this.applyWrite(start, segments, new Map());
    } else {
      await this.locks.withRange(first, last, async () => {
        if (bypass) await this.writeAround(start, segments, bytes, first, last);
        else this.applyWrite(start, segments, await this.fetchPartialBlocks(start, bytes, first, last));
      });
    }
    this.evictIfNeeded();
    if (options.fua) await this.persist(first, last);
    else if (this.inflightBytes > this.maxWritebackBytes) await this.throttle();
  }

  /** The synchronous path needs no block lock held by others and every partial block in the cache. */
  private canApplyNow(start: number, bytes: number, first: number, last: number): boolean {
    for (let b = first; b <= last; b++) if (this.locks.isLocked(b)) return false;
    return this.isCoveredOrCached(first, start, bytes) && this.isCoveredOrCached(last, start, bytes);
  }

  private isCoveredOrCached(b: number, start: number, bytes: number): boolean {
    const fullyCovered = this.blockStart(b) >= start && this.blockEnd(b) <= start + bytes;
    return fullyCovered || this.lru.has(b) || !!this.inflight.get(b)?.data;
  }

  /**
   * Returns the current bytes of the partially written blocks (first and
   * last). The caller holds their locks, so once known their content cannot
   * change: a reference to the cached array stays valid even if the block is
   * evicted meanwhile.
   */
  private async fetchPartialBlocks(start: number, bytes: number, first: number, last: number): Promise<Map<number, Uint8Array>> {
    const fetched = new Map<number, Uint8Array>();
    for (const b of first === last ? [first] : [first, last]) {
      if (this.blockStart(b) >= start && this.blockEnd(b) <= start + bytes) continue; // fully overwritten
      for (;;) {
        const cached = this.cachedData(b);
        if (cached) {
          fetched.set(b, cached);
          break;
        }
        let f = this.joinableFill(b);
        if (!f) {
          this.fill(b, b);
          f = this.fills.get(b)!;
        }
        const data = await f.data;
        // We hold b's lock, so only a write that started before us can have made this fill stale.
        if (!f.stale) {
          fetched.set(b, data);
          break;
        }
      }
    }
    return fetched;
  }

  /** Copies the write into cache entries (creating them) and marks them dirty. Synchronous. */
  private applyWrite(start: number, segments: readonly Uint8Array[], fetched: Map<number, Uint8Array>): void {
    let entry: Entry | undefined;
    let entryBlock = -1;
    for (const piece of chunkPieces(start, segments, this.blockSize)) {
      if (piece.chunk !== entryBlock) {
        entryBlock = piece.chunk;
        entry = this.entryForWrite(piece.chunk, fetched.get(piece.chunk));
      }
      entry!.data.set(piece.segment.subarray(piece.segmentOffset, piece.segmentOffset + piece.length), piece.chunkOffset);
    }
  }

  private entryForWrite(b: number, fetched: Uint8Array | undefined): Entry {
    this.invalidateFill(b);
    let e = this.lru.get(b);
    if (!e) {
      const base = this.inflight.get(b)?.data ?? fetched;
      e = { data: base ? base.slice() : new Uint8Array(this.blockLength(b)), dirty: false };
      this.insert(b, e);
    }
    if (!e.dirty) {
      e.dirty = true;
      this.dirtyBlocks.add(b);
      this.dirtyBytes += e.data.length;
    }
    return e;
  }

  /**
   * Write-through without allocation: cached blocks are updated in place (they
   * stay coherent and dirty), the rest goes straight down. Caller holds the locks.
   */
  private async writeAround(start: number, segments: readonly Uint8Array[], bytes: number, first: number, last: number): Promise<void> {
    const writes: Promise<void>[] = [];
    let runStart = -1;
    for (let b = first; b <= last + 1; b++) {
      const cached = b <= last && this.lru.has(b);
      if (b <= last) this.invalidateFill(b);
      if (b <= last && !cached) {
        if (runStart < 0) runStart = b;
        continue;
      }
      if (runStart >= 0) {
        const from = Math.max(start, this.blockStart(runStart));
        const to = Math.min(start + bytes, this.blockEnd(b - 1));
        writes.push(this.writeBelow(runStart, b - 1, from / SECTOR_SIZE, sliceSegments(segments, from - start, to - from), null));
        this.bypassedWriteBytes += to - from;
        runStart = -1;
      }
      if (cached) {
        // Already cached: keep the copy coherent, then write it through like the rest.
        const from = Math.max(start, this.blockStart(b));
        const to = Math.min(start + bytes, this.blockEnd(b));
        this.applyWrite(from, sliceSegments(segments, from - start, to - from), new Map());
        writes.push(...this.writeBackDirty(b, b));
      }
    }
    await Promise.all(writes);
  }

  /** FUA: everything this write touched is durable below before we return. */
  private async persist(first: number, last: number): Promise<void> {
    const ops: Promise<void>[] = this.writeBackDirty(first, last);
    for (let b = first; b <= last; b++) {
      const w = this.inflight.get(b);
      if (w) ops.push(w.op);
    }
    await Promise.all(ops);
    await this.inner.flush();
  }

  private async throttle(): Promise<void> {
    const ops = new Set<Promise<void>>();
    for (const w of this.inflight.values()) ops.add(w.settled);
    await Promise.all(ops);
  }

  // ---- write-back ------------------------------------------------------------

  protected async doFlush(): Promise<void> {
    const ops = this.writeBackDirty(0, Number.MAX_SAFE_INTEGER);
    // Evicted blocks still on their way down are part of what this flush covers.
    const evicted = new Set<Promise<void>>();
    for (const w of this.inflight.values()) if (w.data !== null) evicted.add(w.op);
    ops.push(...evicted);
    const results = await Promise.allSettled(ops);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    await this.inner.flush();
  }

  /** Starts write-back of every dirty cached block in [first, last], in runs; returns the operations. */
  private writeBackDirty(first: number, last: number): Promise<void>[] {
    const blocks = [...this.dirtyBlocks].filter((b) => b >= first && b <= last).sort((a, b) => a - b);
    const ops: Promise<void>[] = [];
    let i = 0;
    while (i < blocks.length) {
      let j = i + 1;
      while (j < blocks.length && blocks[j] === blocks[j - 1]! + 1 && j - i < MAX_RUN_BLOCKS) j++;
      const run = blocks.slice(i, j);
      const datas = run.map((b) => {
        const e = this.lru.peek(b)!;
        this.markClean(b, e);
        return e.data.slice();
      });
      ops.push(this.writeBelow(run[0]!, run[run.length - 1]!, this.blockSector(run[0]!), datas, datas));
      i = j;
    }
    return ops;
  }

  /**
   * Writes blocks [first, last] below, after any earlier in-flight write of
   * the same blocks. `blockData` (one buffer per block) keeps them readable
   * meanwhile and re-dirties them if the write fails; null for bypass writes.
   */
  private writeBelow(first: number, last: number, sector: number, segments: Uint8Array[], blockData: Uint8Array[] | null): Promise<void> {
    const before = this.settledBelow(first, last);
    const op = before ? before.then(() => this.inner.writev(sector, segments)) : this.inner.writev(sector, segments);
    const settled = op.then(
      () => {},
      () => {},
    );
    let bytes = 0;
    for (const s of segments) bytes += s.length;
    this.inflightBytes += bytes;
    for (let b = first; b <= last; b++) {
      this.inflight.set(b, { data: blockData ? blockData[b - first]! : null, op, settled });
    }
    const finish = (error: unknown) => {
      this.inflightBytes -= bytes;
      if (error === undefined && blockData) this.writtenBackBytes += bytes;
      for (let b = first; b <= last; b++) {
        if (this.inflight.get(b)?.settled !== settled) continue; // a newer write of b is queued behind us
        this.inflight.delete(b);
        if (error !== undefined && blockData) this.redirty(b, blockData[b - first]!);
      }
    };
    op.then(
      () => finish(undefined),
      (e) => finish(e ?? new Error('write failed')),
    );
    return op;
  }

  /** A write-back failed: keep the bytes dirty so the next flush retries (and reports) it. */
  private redirty(b: number, data: Uint8Array): void {
    const e = this.lru.peek(b);
    if (!e) this.insert(b, { data, dirty: false });
    const entry = this.lru.peek(b)!;
    if (!entry.dirty) {
      entry.dirty = true;
      this.dirtyBlocks.add(b);
      this.dirtyBytes += entry.data.length;
    }
  }

  /** Resolves when in-flight writes of blocks [first, last] settled; null if there are none. */
  private settledBelow(first: number, last: number): Promise<void> | null {
    let waits: Set<Promise<void>> | null = null;
    if (this.inflight.size === 0) return null;
    for (let b = first; b <= last; b++) {
      const w = this.inflight.get(b);
      if (w) (waits ??= new Set()).add(w.settled);
    }
    return waits ? Promise.all(waits).then(() => {}) : null;
  }

  // ---- residency -------------------------------------------------------------

  private insert(b: number, e: Entry): void {
    const old = this.lru.peek(b);
    if (old) this.removeEntry(b, old);
    this.lru.set(b, e);
    this.residentBytes += e.data.length;
    if (e.dirty) {
      this.dirtyBlocks.add(b);
      this.dirtyBytes += e.data.length;
    }
  }

  private removeEntry(b: number, e: Entry): void {
    this.lru.delete(b);
    this.residentBytes -= e.data.length;
    if (e.dirty) this.markClean(b, e);
  }

  private markClean(b: number, e: Entry): void {
    if (!e.dirty) return;
    e.dirty = false;
    this.dirtyBlocks.delete(b);
    this.dirtyBytes -= e.data.length;
  }

  private evictIfNeeded(): void {
    if (this.residentBytes <= this.budgetBytes) return;
    for (const [b, e] of this.lru.oldestFirst()) {
      if (this.residentBytes <= this.budgetBytes) break;
      const wasDirty = e.dirty;
      this.removeEntry(b, e);
      this.evictions++;
      if (wasDirty) {
        this.dirtyEvictions++;
        this.writeBelow(b, b, this.blockSector(b), [e.data], [e.data]).catch(() => {
          // Re-dirtied by writeBelow; the next flush retries and reports it.
        });
      }
    }
  }

  // ---- geometry --------------------------------------------------------------

  private blockStart(b: number): number {
    return b * this.blockSize;
  }
  private blockEnd(b: number): number {
    return Math.min(this.diskBytes, (b + 1) * this.blockSize);
  }
  private blockLength(b: number): number {
    return this.blockEnd(b) - this.blockStart(b);
  }
  private blockSector(b: number): number {
    return (b * this.blockSize) / SECTOR_SIZE;
  }

  // ---- discard ---------------------------------------------------------------

  protected async doDiscard(sector: number, count: number): Promise<void> {
    if (count === 0) return;
    const start = sector * SECTOR_SIZE;
    const end = start + count * SECTOR_SIZE;
    const [first, last] = chunkSpan(start, end - start, this.blockSize);
    await this.locks.withRange(first, last, async () => {
      for (let b = first; b <= last; b++) {
        this.invalidateFill(b);
        const e = this.lru.peek(b);
        // Only whole blocks are dropped; a partly discarded block keeps its (still valid) bytes.
        if (e && this.blockStart(b) >= start && this.blockEnd(b) <= end) this.removeEntry(b, e);
      }
      await this.settledBelow(first, last);
      await this.inner.discard(sector, count);
    });
  }

  /** Forgets everything cached, dirty blocks included: for after the layer below was reset. */
  invalidateAll(): void {
    this.lru.clear();
    this.dirtyBlocks.clear();
    this.residentBytes = 0;
    this.dirtyBytes = 0;
  }

  protected override async doClose(): Promise<void> {
    await this.inner.close();
  }
}

function copyOut(block: Uint8Array, piece: ChunkPiece): void {
  // A whole-block piece (the usual aligned read) needs no subarray view.
  const src = piece.length === block.length ? block : block.subarray(piece.chunkOffset, piece.chunkOffset + piece.length);
  piece.segment.set(src, piece.segmentOffset);
}
