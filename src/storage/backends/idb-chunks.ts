// A disk stored in IndexedDB as fixed-size chunks (keys = chunk index, absent
// chunk = zeros), through idb-keyval.
//
// Writes are staged in memory and committed in one strict-durability
// transaction per batch: at flush(), or earlier when the staged bytes exceed
// `stagingBytes` (back-pressure). A write resolves once staged and visible to
// reads; flush() resolves once the transaction holding it is complete, which
// is what "durable" means for IndexedDB.

import { promisifyRequest } from 'idb-keyval';
import { SECTOR_SIZE, type WriteOptions } from '../block-device.ts';
import { StorageError, formatBytes, toStorageError } from '../errors.ts';
import { KeyedMutex } from '../keyed-mutex.ts';
import { BlockLayer } from '../layer.ts';
import { chunkPieces, chunkSpan } from '../segments.ts';
import type { Clock } from '../stats.ts';
import type { MetadataStore } from '../cow/metadata-store.ts';
import { deleteDatabase, openDurableStore, type DurableStore } from './idb-store.ts';

export interface IdbDiskOptions {
  /** Disk name; the database is "ts86-disk:<name>". */
  name: string;
  /** Size in sectors (required when creating; checked when reopening). */
  capacity: number;
  /** Bytes per stored chunk (multiple of 512). Default 64 KiB. */
  chunkSize?: number;
  /** Staged bytes that trigger a commit before the next flush. Default 8 MiB. */
  stagingBytes?: number;
  readOnly?: boolean;
  clock?: Clock;
}

interface DiskMeta {
  chunkSize: number;
  capacity: number;
}

const META_KEY = 'meta';
const STORE = 'chunks';

export function idbDatabaseName(name: string): string {
  return `ts86-disk:${name}`;
}

export class IdbChunkDevice extends BlockLayer {
  readonly chunkSize: number;
  private readonly stagingLimit: number;
  private readonly locks = new KeyedMutex();
  /** Written but not yet handed to a transaction. null value = discarded chunk. */
  private staged = new Map<number, Uint8Array | null>();
  private stagedBytes = 0;
  /** Handed to the transaction in flight (readable until it completes). */
  private committing = new Map<number, Uint8Array | null>();
  private commitChain: Promise<void> = Promise.resolve();
  private commits = 0;

  static async open(options: IdbDiskOptions): Promise<IdbChunkDevice> {
    const chunkSize = options.chunkSize ?? 64 * 1024;
    if (!Number.isInteger(chunkSize) || chunkSize <= 0 || chunkSize % SECTOR_SIZE !== 0) {
      throw new StorageError('io', `IndexedDB chunk size must be a positive multiple of ${SECTOR_SIZE}, got ${chunkSize}`);
    }
    const store = openDurableStore(idbDatabaseName(options.name), STORE);
    const what = `opening IndexedDB disk '${options.name}'`;
    try {
      const meta = await store.use('readonly', (s) => promisifyRequest(s.get(META_KEY) as IDBRequest<DiskMeta | undefined>));
      if (meta) {
        if (meta.chunkSize !== chunkSize || meta.capacity !== options.capacity) {
          throw new StorageError(
            'mismatch',
            `IndexedDB disk '${options.name}' was created with ${meta.capacity} sectors in ${formatBytes(meta.chunkSize)} chunks, ` +
              `but was opened with ${options.capacity} sectors in ${formatBytes(chunkSize)} chunks; open it with its own geometry or delete it`,
          );
        }
      } else if (!options.readOnly) {
        const fresh: DiskMeta = { chunkSize, capacity: options.capacity };
        await store.use('readwrite', (s) => {
          s.put(fresh, META_KEY);
          return promisifyRequest(s.transaction);
        });
      }
    } catch (e) {
      await store.close();
      throw toStorageError(e, what);
    }
    return new IdbChunkDevice(store, options, chunkSize);
  }

  /** Deletes a disk's database (all its data). */
  static async destroy(name: string): Promise<void> {
    await deleteDatabase(idbDatabaseName(name));
  }

  private constructor(
    private readonly store: DurableStore,
    options: IdbDiskOptions,
    chunkSize: number,
  ) {
    super(`idb:${options.name}`, options.capacity, options.readOnly ?? false, options.clock);
    this.chunkSize = chunkSize;
    this.stagingLimit = options.stagingBytes ?? 8 << 20;
  }

  /** A metadata store in this disk's database (e.g. for a COW overlay's dirty map). */
  metadataStore(key: string): MetadataStore {
    const store = this.store;
    const name = `${store.dbName}/${key}`;
    return {
      name,
      async load() {
        const v = await store.use('readonly', (s) => promisifyRequest(s.get(key) as IDBRequest<Uint8Array | undefined>));
        return v ?? null;
      },
      async save(bytes: Uint8Array) {
        try {
          await store.use('readwrite', (s) => {
            s.put(bytes.slice(), key);
            return promisifyRequest(s.transaction);
          });
        } catch (e) {
          throw toStorageError(e, `saving ${name}`);
        }
      },
      async close() {},
    };
  }

  protected override extraStats(): Record<string, unknown> {
    return { idb: { chunkSize: this.chunkSize, stagedBytes: this.stagedBytes, commits: this.commits } };
  }

  private chunkLength(c: number): number {
    return Math.min(this.chunkSize, this.capacity * SECTOR_SIZE - c * this.chunkSize);
  }

  /** Latest bytes of chunks [first, last] (null = zeros), from memory or one read transaction. */
  private inMemory(c: number): Uint8Array | null | undefined {
    if (this.staged.has(c)) return this.staged.get(c)!;
    if (this.committing.has(c)) return this.committing.get(c)!;
    return undefined;
  }

  /**
   * Latest bytes of the chunks (null = zeros), from memory or one read
   * transaction. A chunk not in memory when this starts is already committed,
   * so the transaction sees its latest bytes.
   */
  private async current(chunks: number[]): Promise<Map<number, Uint8Array | null>> {
    const out = new Map<number, Uint8Array | null>();
    const missing: number[] = [];
    for (const c of chunks) {
      const m = this.inMemory(c);
      if (m !== undefined) out.set(c, m);
      else missing.push(c);
    }
    if (missing.length > 0) {
      const values = await this.store.use('readonly', (s) =>
        Promise.all(missing.map((c) => promisifyRequest(s.get(c) as IDBRequest<Uint8Array | undefined>))),
      );
      missing.forEach((c, i) => out.set(c, values[i] ?? null));
    }
    return out;
  }

  protected async doReadv(sector: number, segments: readonly Uint8Array[], bytes: number): Promise<void> {
    if (bytes === 0) return;
    const start = sector * SECTOR_SIZE;
    const [first, last] = chunkSpan(start, bytes, this.chunkSize);
    const chunks = await this.current(range(first, last));
    for (const p of chunkPieces(start, segments, this.chunkSize)) {
      const data = chunks.get(p.chunk);
      const dst = p.segment.subarray(p.segmentOffset, p.segmentOffset + p.length);
      if (data) dst.set(data.subarray(p.chunkOffset, p.chunkOffset + p.length));
      else dst.fill(0);
    }
  }

  protected async doWritev(sector: number, segments: readonly Uint8Array[], bytes: number, options: WriteOptions): Promise<void> {
    if (bytes === 0) return;
    const start = sector * SECTOR_SIZE;
    const [first, last] = chunkSpan(start, bytes, this.chunkSize);
    await this.locks.withRange(first, last, async () => {
      // Only partially written chunks need their old bytes.
      const partial = [first, last].filter(
        (c, i, a) => a.indexOf(c) === i && !(c * this.chunkSize >= start && c * this.chunkSize + this.chunkLength(c) <= start + bytes),
      );
      const old = partial.length ? await this.current(partial) : new Map<number, Uint8Array | null>();
      const updated = new Map<number, Uint8Array>();
      for (const p of chunkPieces(start, segments, this.chunkSize)) {
        let chunk = updated.get(p.chunk);
        if (!chunk) {
          chunk = new Uint8Array(this.chunkLength(p.chunk));
          // Never mutate a buffer a transaction or reader may hold: copy, then modify.
          const base = old.get(p.chunk);
          if (base) chunk.set(base);
          updated.set(p.chunk, chunk);
        }
        chunk.set(p.segment.subarray(p.segmentOffset, p.segmentOffset + p.length), p.chunkOffset);
      }
      for (const [c, data] of updated) this.stage(c, data);
    });
    if (options.fua) await this.commit();
    else if (this.stagedBytes > this.stagingLimit) await this.commit();
  }

  private stage(c: number, data: Uint8Array | null): void {
    const prev = this.staged.get(c);
    if (prev) this.stagedBytes -= prev.length;
    this.staged.set(c, data);
    if (data) this.stagedBytes += data.length;
  }

  protected async doFlush(): Promise<void> {
    await this.commit();
  }

  protected async doDiscard(sector: number, count: number): Promise<void> {
    if (count === 0) return;
    const start = sector * SECTOR_SIZE;
    const end = start + count * SECTOR_SIZE;
    const [first, last] = chunkSpan(start, end - start, this.chunkSize);
    await this.locks.withRange(first, last, async () => {
      // Whole chunks are deleted (they read as zeros); partly covered ones keep their bytes.
      for (let c = first; c <= last; c++) {
        if (c * this.chunkSize >= start && c * this.chunkSize + this.chunkLength(c) <= end) this.stage(c, null);
      }
    });
  }

  /** Commits everything staged so far in one transaction; commits run one after another. */
  private commit(): Promise<void> {
    const run = this.commitChain.then(async () => {
      if (this.staged.size === 0) return;
      const batch = this.staged;
      const batchBytes = this.stagedBytes;
      this.staged = new Map();
      this.stagedBytes = 0;
      this.committing = batch;
      try {
        await this.store.use('readwrite', (s) => {
          for (const [c, data] of batch) {
            if (data) s.put(data, c);
            else s.delete(c);
          }
          return promisifyRequest(s.transaction);
        });
        this.commits++;
      } catch (e) {
        // Nothing of the batch was stored (transactions are atomic): stage it again
        // unless newer writes replaced it, so the next flush retries.
        for (const [c, data] of batch) if (!this.staged.has(c)) this.stage(c, data);
        throw toStorageError(e, `committing ${formatBytes(batchBytes)} to IndexedDB disk '${this.name}'`);
      } finally {
        this.committing = new Map();
      }
    });
    this.commitChain = run.catch(() => {});
    return run;
  }

  protected override async doClose(): Promise<void> {
    await this.commitChain;
    await this.store.close();
  }
}

function range(first: number, last: number): number[] {
  const out: number[] = [];
  for (let i = first; i <= last; i++) out.push(i);
  return out;
}
