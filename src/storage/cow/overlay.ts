// Copy-on-write overlay: a read-only base plus a writable overlay device of the
// same size, at chunk granularity. A chunk is either clean (read from the
// base) or dirty (read from the overlay); the first write to a clean chunk
// copies the rest of the chunk up from the base.
//
// Crash safety: a chunk becomes dirty in memory only after its overlay write
// completed. flush() snapshots the map first, then flushes the overlay data,
// then saves the snapshot — so a persisted map never names a chunk whose data
// is not durable, and reopening resumes exactly the flushed disk.

import { SECTOR_SIZE, readPieces, type BlockDevice, type WriteOptions } from '../block-device.ts';
import { StorageError, formatBytes } from '../errors.ts';
import { KeyedMutex } from '../keyed-mutex.ts';
import { BlockLayer } from '../layer.ts';
import { chunkSpan, sliceSegments } from '../segments.ts';
import type { Clock } from '../stats.ts';
import { DirtyChunkMap, type OverlayGeometry } from './dirty-map.ts';
import type { MetadataStore } from './metadata-store.ts';

export interface CowOptions {
  /** Copy-on-write granularity in bytes (power of two ≥ 512). Default 64 KiB. */
  chunkSize?: number;
  /** Identity of the base image, checked on reopen. Default: the base's name. */
  baseId?: string;
  clock?: Clock;
}

export const DEFAULT_COW_CHUNK = 64 * 1024;

export class CowOverlay extends BlockLayer {
  readonly chunkSize: number;
  private readonly geometry: OverlayGeometry;
  private readonly locks = new KeyedMutex();
  /** Map version last handed to the store; saves are chained so a newer snapshot is never overwritten by an older one. */
  private savedVersion: number;
  private saveChain: Promise<void> = Promise.resolve();
  private copyUps = 0;
  private mapSaves = 0;

  static async open(base: BlockDevice, overlay: BlockDevice, meta: MetadataStore, options: CowOptions = {}): Promise<CowOverlay> {
    const chunkSize = options.chunkSize ?? DEFAULT_COW_CHUNK;
    if (!Number.isInteger(chunkSize) || chunkSize < SECTOR_SIZE || (chunkSize & (chunkSize - 1)) !== 0) {
      throw new StorageError('io', `COW chunk size must be a power of two of at least ${SECTOR_SIZE} bytes, got ${chunkSize}`);
    }
    if (overlay.readOnly) throw new StorageError('read-only', `overlay ${overlay.name} is read-only; it must be writable`);
    if (overlay.capacity < base.capacity) {
      throw new StorageError(
        'mismatch',
        `overlay ${overlay.name} (${formatBytes(overlay.capacity * SECTOR_SIZE)}) is smaller than base ${base.name} (${formatBytes(base.capacity * SECTOR_SIZE)})`,
      );
    }
    const geometry: OverlayGeometry = { chunkSize, capacity: base.capacity, baseId: options.baseId ?? base.name };
    const chunkCount = Math.ceil((base.capacity * SECTOR_SIZE) / chunkSize);
    const saved = await meta.load();
    const map = saved ? DirtyChunkMap.parse(saved, geometry, meta.name) : new DirtyChunkMap(chunkCount);
    if (map.chunkCount !== chunkCount) {
      throw new StorageError('corrupt', `dirty-chunk map in ${meta.name} has ${map.chunkCount} chunks, expected ${chunkCount}; reset the overlay`);
    }
    return new CowOverlay(base, overlay, meta, map, geometry, options.clock);
  }

  private constructor(
    private readonly base: BlockDevice,
    private readonly overlay: BlockDevice,
    private readonly meta: MetadataStore,
    private readonly map: DirtyChunkMap,
    geometry: OverlayGeometry,
    clock?: Clock,
  ) {
    super('cow', base.capacity, false, clock);
    this.chunkSize = geometry.chunkSize;
    this.geometry = geometry;
    this.savedVersion = map.version;
  }

  get dirtyChunks(): number {
    return this.map.count;
  }

  isDirty(sector: number): boolean {
    return this.map.has(Math.floor((sector * SECTOR_SIZE) / this.chunkSize));
  }

  protected override lowerLayers(): readonly BlockDevice[] {
    return [this.overlay, this.base];
  }

  protected override extraStats(): Record<string, unknown> {
    return {
      cow: {
        chunkSize: this.chunkSize,
        chunks: this.map.chunkCount,
        dirtyChunks: this.map.count,
        copyUps: this.copyUps,
        mapSaves: this.mapSaves,
      },
    };
  }

  // ---- reads ---------------------------------------------------------------

  protected async doReadv(sector: number, segments: readonly Uint8Array[], bytes: number): Promise<void> {
    if (bytes === 0) return;
    const start = sector * SECTOR_SIZE;
    const [first, last] = chunkSpan(start, bytes, this.chunkSize);
    const reads: Promise<void>[] = [];
    // Consecutive chunks with the same source become one request.
    let runStart = first;
    for (let c = first + 1; c <= last + 1; c++) {
      if (c <= last && this.map.has(c) === this.map.has(runStart)) continue;
      const from = Math.max(start, runStart * this.chunkSize);
      const to = Math.min(start + bytes, c * this.chunkSize);
      const dev = this.map.has(runStart) ? this.overlay : this.base;
      reads.push(dev.readv(from / SECTOR_SIZE, sliceSegments(segments, from - start, to - from)));
      runStart = c;
    }
    await Promise.all(reads);
  }

  // ---- writes --------------------------------------------------------------

  protected async doWritev(sector: number, segments: readonly Uint8Array[], bytes: number, options: WriteOptions): Promise<void> {
    if (bytes === 0) return;
    const start = sector * SECTOR_SIZE;
    const [first, last] = chunkSpan(start, bytes, this.chunkSize);
    await this.locks.withRange(first, last, async () => {
      const writes: Promise<void>[] = [];
      for (let c = first; c <= last; c++) {
        const from = Math.max(start, c * this.chunkSize);
        const to = Math.min(start + bytes, this.chunkEnd(c));
        const part = sliceSegments(segments, from - start, to - from);
        const whole = from === c * this.chunkSize && to === this.chunkEnd(c);
        if (this.map.has(c) || whole) {
          writes.push(this.overlay.writev(from / SECTOR_SIZE, part).then(() => this.map.set(c)));
        } else {
          writes.push(this.copyUp(c, from, part));
        }
      }
      await Promise.all(writes);
    });
    if (options.fua) await this.doFlush();
  }

  /** First write to a clean chunk: base bytes around the write + the write, as one overlay write. */
  private async copyUp(c: number, from: number, part: Uint8Array[]): Promise<void> {
    const chunkStart = c * this.chunkSize;
    const chunk = new Uint8Array(this.chunkEnd(c) - chunkStart);
    await this.base.readv(chunkStart / SECTOR_SIZE, [chunk]);
    let off = from - chunkStart;
    for (const p of part) {
      chunk.set(p, off);
      off += p.length;
    }
    await this.overlay.writev(chunkStart / SECTOR_SIZE, [chunk]);
    this.map.set(c);
    this.copyUps++;
  }

  private chunkEnd(c: number): number {
    return Math.min((c + 1) * this.chunkSize, this.capacity * SECTOR_SIZE);
  }

  // ---- durability ------------------------------------------------------------

  protected async doFlush(): Promise<void> {
    // Snapshot before flushing the data: only chunks whose writes completed by now are named.
    const version = this.map.version;
    const snapshot = version === this.savedVersion ? null : this.map.serialize(this.geometry);
    await this.overlay.flush();
    if (!snapshot) {
      await this.saveChain; // an earlier flush may still be saving a map this flush must wait for
      return;
    }
    const save = this.saveChain.then(async () => {
      if (version <= this.savedVersion) return; // a newer snapshot already landed
      await this.meta.save(snapshot);
      this.savedVersion = version;
      this.mapSaves++;
    });
    this.saveChain = save.catch(() => {}); // the failing flush reports it; later flushes retry
    await save;
  }

  // ---- discard / reset / export ---------------------------------------------

  protected async doDiscard(sector: number, count: number): Promise<void> {
    if (count === 0) return;
    const start = sector * SECTOR_SIZE;
    const end = start + count * SECTOR_SIZE;
    const [first, last] = chunkSpan(start, end - start, this.chunkSize);
    await this.locks.withRange(first, last, async () => {
      // Whole dirty chunks fall back to the base (discarded data is unspecified);
      // partial ranges keep their data, which is also allowed.
      for (let c = first; c <= last; c++) {
        if (c * this.chunkSize >= start && this.chunkEnd(c) <= end && this.map.has(c)) {
          this.map.clear(c);
          await this.overlay.discard((c * this.chunkSize) / SECTOR_SIZE, (this.chunkEnd(c) - c * this.chunkSize) / SECTOR_SIZE);
        }
      }
    });
  }

  /**
   * Forgets every change: the disk reads as the base again. Durable when it
   * resolves. The caller must not have requests in flight.
   */
  async reset(): Promise<void> {
    this.map.clearAll();
    await this.doFlush();
    if (!this.overlay.readOnly) await this.overlay.discard(0, this.overlay.capacity);
  }

  /** The disk as a raw image, in pieces of `pieceBytes` (base and overlay merged). */
  exportRaw(pieceBytes = 1 << 20): AsyncGenerator<Uint8Array> {
    return readPieces(this, pieceBytes);
  }

  protected override async doClose(): Promise<void> {
    await Promise.all([this.overlay.close(), this.base.close(), this.meta.close()]);
  }
}
