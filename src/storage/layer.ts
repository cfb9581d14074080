// Base class for every layer and backend: argument validation, error
// translation and per-layer counters live here once, so each layer only
// implements the do* methods with already-validated arguments.

import { SECTOR_SIZE, type BlockDevice, type WriteOptions } from './block-device.ts';
import { StorageError, formatBytes, toStorageError } from './errors.ts';
import { totalLength } from './segments.ts';
import { cloneOpStats, emptyOpStats, recordOp, wallClock, type Clock, type LayerStats, type OpStats } from './stats.ts';

type OpKind = 'read' | 'write' | 'flush' | 'discard';

export abstract class BlockLayer implements BlockDevice {
  private readonly counters: Record<OpKind, OpStats> = {
    read: emptyOpStats(),
    write: emptyOpStats(),
    flush: emptyOpStats(),
    discard: emptyOpStats(),
  };
  private closed = false;

  protected constructor(
    readonly name: string,
    readonly capacity: number,
    readonly readOnly: boolean,
    protected readonly clock: Clock = wallClock,
  ) {
    if (!Number.isSafeInteger(capacity) || capacity < 0) {
      throw new StorageError('io', `${name}: capacity must be a whole number of sectors, got ${capacity}`);
    }
  }

  protected abstract doReadv(sector: number, segments: readonly Uint8Array[], bytes: number): Promise<void>;
  protected abstract doWritev(sector: number, segments: readonly Uint8Array[], bytes: number, options: WriteOptions): Promise<void>;
  protected abstract doFlush(): Promise<void>;
  protected abstract doDiscard(sector: number, count: number): Promise<void>;
  protected async doClose(): Promise<void> {}
  /** Layers this one is built on, for stats(). */
  protected lowerLayers(): readonly BlockDevice[] {
    return [];
  }
  protected extraStats(): Record<string, unknown> | undefined {
    return undefined;
  }

  async readv(sector: number, segments: readonly Uint8Array[]): Promise<void> {
    const bytes = this.validate('read', () => this.checkTransfer('read', sector, segments));
    await this.timed('read', bytes, `reading ${formatBytes(bytes)} at sector ${sector}`, () =>
      this.doReadv(sector, segments, bytes),
    );
  }

  async writev(sector: number, segments: readonly Uint8Array[], options: WriteOptions = {}): Promise<void> {
    const bytes = this.validate('write', () => {
      const n = this.checkTransfer('write', sector, segments);
      this.checkWritable('write');
      return n;
    });
    await this.timed('write', bytes, `writing ${formatBytes(bytes)} at sector ${sector}`, () =>
      this.doWritev(sector, segments, bytes, options),
    );
  }

  async flush(): Promise<void> {
    this.validate('flush', () => this.checkOpen());
    await this.timed('flush', 0, 'flushing', () => this.doFlush());
  }

  async discard(sector: number, count: number): Promise<void> {
    this.validate('discard', () => {
      this.checkOpen();
      this.checkRange('discard', sector, count);
      this.checkWritable('discard');
    });
    await this.timed('discard', count * SECTOR_SIZE, `discarding ${count} sectors at sector ${sector}`, () =>
      this.doDiscard(sector, count),
    );
  }

  stats(): LayerStats {
    const extra = this.extraStats();
    return {
      layer: this.name,
      read: cloneOpStats(this.counters.read),
      write: cloneOpStats(this.counters.write),
      flush: cloneOpStats(this.counters.flush),
      discard: cloneOpStats(this.counters.discard),
      ...(extra ? { extra } : {}),
      lower: this.lowerLayers().map((l) => l.stats()),
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.doClose();
  }

  protected get isClosed(): boolean {
    return this.closed;
  }

  private checkOpen(): void {
    if (this.closed) throw new StorageError('closed', `${this.name} is closed; reopen the disk to use it again`);
  }

  private checkTransfer(op: OpKind, sector: number, segments: readonly Uint8Array[]): number {
    this.checkOpen();
    const bytes = totalLength(segments);
    if (bytes % SECTOR_SIZE !== 0) {
      throw new StorageError(
        'misaligned',
        `${this.name}: ${op} of ${bytes} bytes is not a whole number of ${SECTOR_SIZE}-byte sectors`,
      );
    }
    this.checkRange(op, sector, bytes / SECTOR_SIZE);
    return bytes;
  }

  private checkRange(op: OpKind, sector: number, count: number): void {
    if (!Number.isSafeInteger(sector) || !Number.isSafeInteger(count) || sector < 0 || count < 0 || sector + count > this.capacity) {
      throw new StorageError(
        'out-of-range',
        `${this.name}: ${op} of ${count} sectors at sector ${sector} is outside the disk ` +
          `(${this.capacity} sectors = ${formatBytes(this.capacity * SECTOR_SIZE)}, last sector ${this.capacity - 1})`,
      );
    }
  }

  private checkWritable(op: OpKind): void {
    if (this.readOnly) {
      throw new StorageError(
        'read-only',
        `${this.name} is read-only, so the ${op} was refused; put a copy-on-write overlay on top to make the disk writable`,
      );
    }
  }

  /** Runs a validation step; a refusal is counted as a failed op of that kind. */
  private validate<T>(op: OpKind, check: () => T): T {
    try {
      return check();
    } catch (e) {
      recordOp(this.counters[op], 0, 0, true);
      throw e;
    }
  }

  private async timed(op: OpKind, bytes: number, what: string, run: () => Promise<void>): Promise<void> {
    const t0 = this.clock();
    try {
      await run();
    } catch (e) {
      recordOp(this.counters[op], bytes, this.clock() - t0, true);
      throw toStorageError(e, `${what} on ${this.name}`);
    }
    recordOp(this.counters[op], bytes, this.clock() - t0, false);
  }
}
