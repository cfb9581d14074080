// A transparent wrapper that records every request a disk receives, in the
// order they were issued: the guest's real I/O pattern, for `ts86 boot
// --disk-trace` and for replaying a guest workload against cache
// configurations (bench/disk.ts). It adds no layer of its own to stats().

import { SECTOR_SIZE, type BlockDevice, type WriteOptions } from './block-device.ts';
import { totalLength } from './segments.ts';
import type { LayerStats } from './stats.ts';

export interface DiskTraceRecord {
  /** Milliseconds since the trace started. */
  t: number;
  op: 'read' | 'write' | 'flush' | 'discard';
  sector: number;
  /** Sectors (0 for a flush). */
  count: number;
  /** A write with force-unit-access. */
  fua?: true;
}

export class TracingBlockDevice implements BlockDevice {
  private readonly start = performance.now();

  constructor(
    private readonly inner: BlockDevice,
    private readonly record: (r: DiskTraceRecord) => void,
  ) {}

  get name(): string {
    return this.inner.name;
  }

  get capacity(): number {
    return this.inner.capacity;
  }

  get readOnly(): boolean {
    return this.inner.readOnly;
  }

  private note(op: DiskTraceRecord['op'], sector: number, count: number, fua = false): void {
    const r: DiskTraceRecord = { t: Math.round((performance.now() - this.start) * 1000) / 1000, op, sector, count };
    if (fua) r.fua = true;
    this.record(r);
  }

  readv(sector: number, segments: readonly Uint8Array[]): Promise<void> {
    this.note('read', sector, sectorsOf(segments));
    return this.inner.readv(sector, segments);
  }

  writev(sector: number, segments: readonly Uint8Array[], options?: WriteOptions): Promise<void> {
    this.note('write', sector, sectorsOf(segments), options?.fua === true);
    return this.inner.writev(sector, segments, options);
  }

  flush(): Promise<void> {
    this.note('flush', 0, 0);
    return this.inner.flush();
  }

  discard(sector: number, count: number): Promise<void> {
    this.note('discard', sector, count);
    return this.inner.discard(sector, count);
  }

  stats(): LayerStats {
    return this.inner.stats();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

function sectorsOf(segments: readonly Uint8Array[]): number {
  return Math.floor(totalLength(segments) / SECTOR_SIZE);
}

/** Parses a trace written as JSON lines (one DiskTraceRecord per line); a malformed line is an error naming it. */
export function parseDiskTrace(text: string): DiskTraceRecord[] {
  const out: DiskTraceRecord[] = [];
  const ops = new Set(['read', 'write', 'flush', 'discard']);
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let r: unknown;
    try {
      r = JSON.parse(line);
    } catch {
      throw new Error(`disk trace line ${i + 1} is not JSON: ${line.slice(0, 80)}`);
    }
    const rec = r as Partial<DiskTraceRecord>;
    if (!ops.has(rec.op as string) || !Number.isSafeInteger(rec.sector) || !Number.isSafeInteger(rec.count) || typeof rec.t !== 'number') {
      throw new Error(`disk trace line ${i + 1} is not a disk request record: ${line.slice(0, 80)}`);
    }
    out.push(rec as DiskTraceRecord);
  });
  return out;
}
