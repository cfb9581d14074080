// Test doubles for the storage stack: a disk that separates what was written
// from what is durable (so "crash" = keep only the durable bytes), with
// optional random latency, an operation log and injectable failures.

import { SECTOR_SIZE, type WriteOptions } from '../../src/storage/block-device.ts';
import { StorageError } from '../../src/storage/errors.ts';
import { BlockLayer } from '../../src/storage/layer.ts';

export type Rng = () => number;

/** Small deterministic PRNG (mulberry32) so failures reproduce from the seed. */
export function rng(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randInt(r: Rng, n: number): number {
  return Math.floor(r() * n);
}

export interface TestDiskOptions {
  /** Delay source: each op waits this many macrotask turns (0 = microtask only). */
  latency?: (op: 'read' | 'write' | 'flush' | 'discard') => number;
  readOnly?: boolean;
  name?: string;
}

export class TestDisk extends BlockLayer {
  /** What reads see. */
  readonly volatile: Uint8Array;
  /** What survives a crash: updated by flush and FUA writes. */
  readonly durable: Uint8Array;
  readonly log: string[] = [];
  /** Fail the next n writes / flushes / reads with an io error. */
  failWrites = 0;
  failFlushes = 0;
  failReads = 0;
  /** Sectors written since the last flush started (the next flush makes them durable). */
  private readonly pendingSectors = new Set<number>();
  /**
   * Write sequence number of each sector's volatile and durable contents, so
   * that overlapping flushes finishing out of order never make older bytes
   * durable over newer ones (a real disk never "un-persists" data).
   */
  private readonly volatileSeq: Float64Array;
  private readonly durableSeq: Float64Array;
  private seq = 0;

  constructor(
    capacity: number,
    private readonly options: TestDiskOptions = {},
    initial?: Uint8Array,
  ) {
    super(options.name ?? 'test', capacity, options.readOnly ?? false);
    this.volatile = new Uint8Array(capacity * SECTOR_SIZE);
    this.durable = new Uint8Array(capacity * SECTOR_SIZE);
    this.volatileSeq = new Float64Array(capacity);
    this.durableSeq = new Float64Array(capacity);
    if (initial) {
      this.volatile.set(initial);
      this.durable.set(initial);
    }
  }

  /** A fresh disk holding only what was durable: the state after a power cut. */
  crash(options: TestDiskOptions = this.options): TestDisk {
    return new TestDisk(this.capacity, options, this.durable);
  }

  private async wait(op: 'read' | 'write' | 'flush' | 'discard'): Promise<void> {
    const turns = this.options.latency?.(op) ?? 0;
    for (let i = 0; i < turns; i++) await new Promise((r) => setImmediate(r));
    await Promise.resolve();
  }

  protected async doReadv(sector: number, segments: readonly Uint8Array[], bytes: number): Promise<void> {
    this.log.push(`read ${sector}+${bytes / SECTOR_SIZE}`);
    await this.wait('read');
    if (this.failReads > 0) {
      this.failReads--;
      throw new StorageError('io', 'injected read failure');
    }
    let pos = sector * SECTOR_SIZE;
    for (const s of segments) {
      s.set(this.volatile.subarray(pos, pos + s.length));
      pos += s.length;
    }
  }

  protected async doWritev(sector: number, segments: readonly Uint8Array[], bytes: number, options: WriteOptions): Promise<void> {
    this.log.push(`write ${sector}+${bytes / SECTOR_SIZE}${options.fua ? ' fua' : ''}`);
    // Copy now: a device takes the bytes at submission, as DMA would.
    const copies = segments.map((s) => s.slice());
    await this.wait('write');
    if (this.failWrites > 0) {
      this.failWrites--;
      throw new StorageError('io', 'injected write failure');
    }
    const all = copies.length === 1 ? copies[0]! : concat(copies);
    const seq = ++this.seq;
    for (let i = 0; i < all.length; i += SECTOR_SIZE) {
      const s = sector + i / SECTOR_SIZE;
      const bytes = all.subarray(i, i + SECTOR_SIZE);
      this.volatile.set(bytes, s * SECTOR_SIZE);
      this.volatileSeq[s] = seq;
      if (options.fua) this.persistSector(s, seq, bytes);
      this.pendingSectors.add(s);
    }
  }

  protected async doFlush(): Promise<void> {
    this.log.push('flush');
    // Only writes completed before the flush started are covered.
    const covered = [...this.pendingSectors];
    this.pendingSectors.clear();
    const snapshot = covered.map((s) => this.volatile.slice(s * SECTOR_SIZE, (s + 1) * SECTOR_SIZE));
    const seqs = covered.map((s) => this.volatileSeq[s]!);
    await this.wait('flush');
    if (this.failFlushes > 0) {
      this.failFlushes--;
      for (const s of covered) this.pendingSectors.add(s);
      throw new StorageError('io', 'injected flush failure');
    }
    covered.forEach((s, i) => this.persistSector(s, seqs[i]!, snapshot[i]!));
  }

  private persistSector(s: number, seq: number, bytes: Uint8Array): void {
    if (seq <= this.durableSeq[s]!) return;
    this.durableSeq[s] = seq;
    this.durable.set(bytes, s * SECTOR_SIZE);
  }

  protected async doDiscard(sector: number, count: number): Promise<void> {
    this.log.push(`discard ${sector}+${count}`);
    await this.wait('discard');
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** Fills `buf` with bytes derived from (tag, offset) so any misplaced byte is detectable. */
export function pattern(buf: Uint8Array, tag: number): Uint8Array {
  for (let i = 0; i < buf.length; i++) buf[i] = (tag * 131 + i * 7 + (i >> 8)) & 0xff;
  return buf;
}

export function sectors(n: number, tag: number): Uint8Array {
  return pattern(new Uint8Array(n * SECTOR_SIZE), tag);
}

/**
 * Byte-array equality with a useful failure message (vitest's deep equality is
 * slow on large typed arrays and prints unhelpful dumps).
 */
export function firstDifference(actual: Uint8Array, expected: Uint8Array): string | null {
  if (actual.length !== expected.length) return `length ${actual.length} != ${expected.length}`;
  const a = Buffer.from(actual.buffer, actual.byteOffset, actual.length);
  const b = Buffer.from(expected.buffer, expected.byteOffset, expected.length);
  if (a.equals(b)) return null;
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) return `first difference at byte ${i} (sector ${Math.floor(i / SECTOR_SIZE)}): ${a[i]} != ${b[i]}`;
  }
  return null;
}
