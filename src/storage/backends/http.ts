// A read-only base image fetched lazily over HTTP in fixed-size chunks.
// Consecutive missing chunks are fetched with one Range request; concurrent
// readers of a chunk share one fetch; recently fetched chunks are retained
// (LRU, byte budget) because cache blocks are smaller than chunks.

import { SECTOR_SIZE } from '../block-device.ts';
import { StorageError } from '../errors.ts';
import { BlockLayer } from '../layer.ts';
import { LruMap } from '../lru.ts';
import { chunkPieces, chunkSpan } from '../segments.ts';
import type { Clock } from '../stats.ts';
import { DEFAULT_RETRY, getRange, probeSize, type RangeClient, type RetryPolicy } from './http-range.ts';

export interface HttpDiskOptions {
  url: string;
  /** Bytes per Range request unit. Default 256 KiB. */
  chunkSize?: number;
  /** Fetched bytes kept in memory. Default 16 MiB. */
  retainBytes?: number;
  /** Most chunks merged into one request. Default 16. */
  maxChunksPerRequest?: number;
  retry?: Partial<RetryPolicy>;
  /** Image size in bytes, if known (skips the probe request). */
  size?: number;
  fetch?: typeof fetch;
  clock?: Clock;
}

export interface HttpProgress {
  url: string;
  /** Image size in bytes. */
  totalBytes: number;
  /** Bytes downloaded so far (re-fetches count again). */
  fetchedBytes: number;
  requests: number;
  retries: number;
  /** Set when the event reports a retry. */
  retryReason?: string;
}

export type HttpProgressListener = (p: HttpProgress) => void;

export class HttpBlockDevice extends BlockLayer {
  readonly url: string;
  readonly chunkSize: number;
  private readonly retainBytes: number;
  private readonly maxChunksPerRequest: number;
  private readonly client: RangeClient;
  private readonly retained = new LruMap<number, Uint8Array>();
  private retainedBytes = 0;
  private readonly fetching = new Map<number, Promise<Uint8Array>>();
  private readonly listeners = new Set<HttpProgressListener>();
  private readonly progress: HttpProgress;

  static async open(options: HttpDiskOptions): Promise<HttpBlockDevice> {
    const client = HttpBlockDevice.client(options, () => {});
    const size = options.size ?? (await probeSize(client, options.url));
    if (size % SECTOR_SIZE !== 0) {
      throw new StorageError('misaligned', `disk image ${options.url} is ${size} bytes, not a whole number of ${SECTOR_SIZE}-byte sectors; pad it first`);
    }
    return new HttpBlockDevice(options, size);
  }

  private static client(options: HttpDiskOptions, onRetry: RangeClient['onRetry']): RangeClient {
    const f = options.fetch ?? globalThis.fetch?.bind(globalThis);
    if (!f) throw new StorageError('not-found', 'fetch is not available in this context');
    return { fetch: f, retry: { ...DEFAULT_RETRY, ...options.retry }, onRetry };
  }

  private constructor(options: HttpDiskOptions, size: number) {
    super(`http:${options.url}`, size / SECTOR_SIZE, true, options.clock);
    this.url = options.url;
    this.chunkSize = options.chunkSize ?? 256 * 1024;
    if (this.chunkSize % SECTOR_SIZE !== 0 || this.chunkSize <= 0) {
      throw new StorageError('io', `HTTP chunk size must be a positive multiple of ${SECTOR_SIZE}, got ${this.chunkSize}`);
    }
    this.retainBytes = options.retainBytes ?? 16 << 20;
    this.maxChunksPerRequest = options.maxChunksPerRequest ?? 16;
    this.progress = { url: this.url, totalBytes: size, fetchedBytes: 0, requests: 0, retries: 0 };
    this.client = HttpBlockDevice.client(options, (_attempt, reason) => {
      this.progress.retries++;
      this.emit(reason);
    });
  }

  /** Subscribes to download progress; returns the unsubscribe function. */
  onProgress(listener: HttpProgressListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(retryReason?: string): void {
    const p: HttpProgress = retryReason ? { ...this.progress, retryReason } : { ...this.progress };
    for (const l of this.listeners) l(p);
  }

  protected override extraStats(): Record<string, unknown> {
    return { http: { ...this.progress, chunkSize: this.chunkSize, retainedBytes: this.retainedBytes } };
  }

  protected async doReadv(sector: number, segments: readonly Uint8Array[], bytes: number): Promise<void> {
    if (bytes === 0) return;
    const start = sector * SECTOR_SIZE;
    const [first, last] = chunkSpan(start, bytes, this.chunkSize);
    const chunks = new Map<number, Uint8Array | Promise<Uint8Array>>();
    let runStart = -1;
    for (let c = first; c <= last + 1; c++) {
      const have = c <= last ? (this.retained.get(c) ?? this.fetching.get(c)) : undefined;
      if (have) chunks.set(c, have);
      const missing = c <= last && !have;
      if (missing && runStart < 0) runStart = c;
      const runFull = runStart >= 0 && c - runStart >= this.maxChunksPerRequest;
      if (runStart >= 0 && (!missing || runFull)) {
        this.fetchRun(runStart, c - 1).forEach((p, i) => chunks.set(runStart + i, p));
        runStart = missing ? c : -1;
      }
    }
    for (const p of chunkPieces(start, segments, this.chunkSize)) {
      const data = await chunks.get(p.chunk)!;
      p.segment.set(data.subarray(p.chunkOffset, p.chunkOffset + p.length), p.segmentOffset);
    }
  }

  /** One Range request for chunks [first, last]; returns a promise per chunk. */
  private fetchRun(first: number, last: number): Promise<Uint8Array>[] {
    const size = this.capacity * SECTOR_SIZE;
    const from = first * this.chunkSize;
    const to = Math.min(size, (last + 1) * this.chunkSize);
    const request = getRange(this.client, this.url, from, to).then(({ bytes }) => {
      this.progress.requests++;
      this.progress.fetchedBytes += bytes.length;
      this.emit();
      return bytes;
    });
    const out: Promise<Uint8Array>[] = [];
    for (let c = first; c <= last; c++) {
      const p = request.then((bytes) => {
        const off = (c - first) * this.chunkSize;
        const chunk = bytes.slice(off, Math.min(off + this.chunkSize, bytes.length));
        this.retain(c, chunk);
        return chunk;
      });
      p.catch(() => {}); // reported to the reader that awaits it
      p.finally(() => this.fetching.delete(c)).catch(() => {});
      this.fetching.set(c, p);
      out.push(p);
    }
    return out;
  }

  private retain(c: number, chunk: Uint8Array): void {
    if (this.retained.has(c)) return;
    this.retained.set(c, chunk);
    this.retainedBytes += chunk.length;
    for (const [k, v] of this.retained.oldestFirst()) {
      if (this.retainedBytes <= this.retainBytes) break;
      this.retained.delete(k);
      this.retainedBytes -= v.length;
    }
  }

  protected async doWritev(): Promise<void> {
    throw new StorageError('read-only', `${this.name} is read-only`);
  }
  protected async doFlush(): Promise<void> {}
  protected async doDiscard(): Promise<void> {
    throw new StorageError('read-only', `${this.name} is read-only`);
  }
}
