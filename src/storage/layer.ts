// Base class for every layer and backend: argument validation, error
// translation and per-layer counters live here once, so each layer only
// implements the do* methods with already-validated arguments.

import { SECTOR_SIZE, type BlockDevice, type WriteOptions } from './block-device.ts';
import { StorageError, formatBytes, toStorageError } from './errors.ts';
import { totalLength } from './segments.ts';
import { cloneOpStats, emptyOpStats, recordOp, wallClock, type Clock, type LayerStats, type OpStats } from './stats.ts';

type OpKind = 'read' | 'write' | 'flush' | 'discard';

export abstract class BlockLayer implements BlockDevice {
  private readonly meter: OpMeter;

  protected constructor(
    readonly name: string,
    readonly capacity: number,
    readonly readOnly: boolean,
    protected readonly clock: Clock = wallClock,
  ) {
    if (!Number.isSafeInteger(capacity) || capacity < 0) {
      throw new StorageError('io', `${name}: capacity must be a whole number of sectors, got ${capacity}`);
    }
    this.meter = new OpMeter(name, capacity, readOnly, clock);
  }

  /**
   * A layer that served the request synchronously (a cache hit) may return
   * undefined instead of a promise: the op is then recorded at once and the
   * caller waits one microtask instead of one per layer of async wrapping.
   */
  protected abstract doReadv(sector: number, segments: readonly Uint8Array[], bytes: number): Promise<void> | void;
  protected abstract doWritev(sector: number, segments: readonly Uint8Array[], bytes: number, options: WriteOptions): Promise<void> | void;
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

  readv(sector: number, segments: readonly Uint8Array[]): Promise<void> {
    return this.run('read', sector, segments, 0, NO_OPTIONS);
  }

  writev(sector: number, segments: readonly Uint8Array[], options: WriteOptions = NO_OPTIONS): Promise<void> {
    return this.run('write', sector, segments, 0, options);
  }

  flush(): Promise<void> {
    return this.run('flush', 0, NO_SEGMENTS, 0, NO_OPTIONS);
  }

  discard(sector: number, count: number): Promise<void> {
    return this.run('discard', sector, NO_SEGMENTS, count, NO_OPTIONS);
  }

  stats(): LayerStats {
    const extra = this.extraStats();
    const counters = this.meter.counters;
    return {
      layer: this.name,
      read: cloneOpStats(counters.read),
      write: cloneOpStats(counters.write),
      flush: cloneOpStats(counters.flush),
      discard: cloneOpStats(counters.discard),
      ...(extra ? { extra } : {}),
      lower: this.lowerLayers().map((l) => l.stats()),
    };
  }

  async close(): Promise<void> {
    if (this.meter.closed) return;
    this.meter.closed = true;
    await this.doClose();
  }

  protected get isClosed(): boolean {
    return this.meter.closed;
  }

  /**
   * The clock time at which the op being dispatched started, so a layer can
   * timestamp its bookkeeping without reading the clock again (a clock read
   * costs ~60 ns in a browser worker, a sizeable part of a cache hit). Only
   * meaningful in the synchronous part of a do* method.
   */
  protected get opStart(): number {
    return this.meter.lastOpStart;
  }

  /**
   * Every op goes through here: it runs on each I/O, so it allocates no
   * closures or strings (the error description is built only on failure) and
   * adds one async frame only when the layer did not complete synchronously.
   */
  private run(op: OpKind, sector: number, segments: readonly Uint8Array[], count: number, options: WriteOptions): Promise<void> {
    const m = this.meter;
    let bytes: number;
    try {
      bytes = m.validate(op, sector, segments, count);
    } catch (e) {
      // A refusal is counted as a failed op of that kind.
      recordOp(m.counters[op], 0, 0, true);
      return Promise.reject(e);
    }
    const t0 = m.clock();
    m.lastOpStart = t0;
    let pending: Promise<void> | void;
    try {
      switch (op) {
        case 'read':
          pending = this.doReadv(sector, segments, bytes);
          break;
        case 'write':
          pending = this.doWritev(sector, segments, bytes, options);
          break;
        case 'flush':
          pending = this.doFlush();
          break;
        case 'discard':
          pending = this.doDiscard(sector, count);
          break;
      }
    } catch (e) {
      pending = Promise.reject(e);
    }
    if (pending === undefined) {
      recordOp(m.counters[op], bytes, m.clock() - t0, false);
      return DONE;
    }
    return m.settle(op, bytes, sector, t0, pending);
  }
}

/**
 * A layer's validation state and counters. BlockLayer's hot path runs for
 * every kind of layer, so fields read off `this` (a different hidden class per
 * subclass) would be megamorphic loads; in this one class they are not.
 */
class OpMeter {
  closed = false;
  lastOpStart = 0;
  readonly counters: Record<OpKind, OpStats> = {
    read: emptyOpStats(),
    write: emptyOpStats(),
    flush: emptyOpStats(),
    discard: emptyOpStats(),
  };

  constructor(
    readonly name: string,
    readonly capacity: number,
    readonly readOnly: boolean,
    readonly clock: Clock,
  ) {}

  /** Throws the refusal, or returns the op's byte count. */
  validate(op: OpKind, sector: number, segments: readonly Uint8Array[], count: number): number {
    this.checkOpen();
    switch (op) {
      case 'read':
        return this.checkTransfer(op, sector, segments);
      case 'write': {
        const bytes = this.checkTransfer(op, sector, segments);
        this.checkWritable(op);
        return bytes;
      }
      case 'flush':
        return 0;
      case 'discard':
        this.checkRange(op, sector, count);
        this.checkWritable(op);
        return count * SECTOR_SIZE;
    }
  }

  async settle(op: OpKind, bytes: number, sector: number, t0: number, pending: Promise<void>): Promise<void> {
    try {
      await pending;
    } catch (e) {
      recordOp(this.counters[op], bytes, this.clock() - t0, true);
      throw toStorageError(e, `${describeOp(op, bytes, sector)} on ${this.name}`);
    }
    recordOp(this.counters[op], bytes, this.clock() - t0, false);
  }

  private checkOpen(): void {
    if (this.closed) throw new StorageError('closed', `${this.name} is closed; reopen the disk to use it again`);
  }

  private checkTransfer(op: OpKind, sector: number, segments: readonly Uint8Array[]): number {
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
}

/** Resolved promises cannot change, so synchronously completed ops can all return this one. */
const DONE: Promise<void> = Promise.resolve();
const NO_SEGMENTS: readonly Uint8Array[] = [];
const NO_OPTIONS: WriteOptions = Object.freeze({});

/** What an op was doing, for its error message ("reading 4 KiB at sector 8"). */
function describeOp(op: OpKind, bytes: number, sector: number): string {
  switch (op) {
    case 'read':
      return `reading ${formatBytes(bytes)} at sector ${sector}`;
    case 'write':
      return `writing ${formatBytes(bytes)} at sector ${sector}`;
    case 'flush':
      return 'flushing';
    case 'discard':
      return `discarding ${bytes / SECTOR_SIZE} sectors at sector ${sector}`;
  }
}
