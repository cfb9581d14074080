// A set of disjoint sector ranges with O(log n) overlap queries, for "does
// this write touch the journal?" on every write.

export interface SectorRange {
  start: number;
  /** Exclusive. */
  end: number;
}

export class RangeSet {
  private readonly starts: number[];
  private readonly ends: number[];

  constructor(ranges: readonly SectorRange[]) {
    const sorted = ranges.filter((r) => r.end > r.start).sort((a, b) => a.start - b.start);
    const merged: SectorRange[] = [];
    for (const r of sorted) {
      const prev = merged[merged.length - 1];
      if (prev && r.start <= prev.end) prev.end = Math.max(prev.end, r.end);
      else merged.push({ ...r });
    }
    this.starts = merged.map((r) => r.start);
    this.ends = merged.map((r) => r.end);
  }

  get ranges(): SectorRange[] {
    return this.starts.map((start, i) => ({ start, end: this.ends[i]! }));
  }

  get totalSectors(): number {
    let n = 0;
    for (let i = 0; i < this.starts.length; i++) n += this.ends[i]! - this.starts[i]!;
    return n;
  }

  /** True if [start, end) shares at least one sector with the set. */
  overlaps(start: number, end: number): boolean {
    // Last range starting before `end`.
    let lo = 0;
    let hi = this.starts.length - 1;
    let idx = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.starts[mid]! < end) {
        idx = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return idx >= 0 && this.ends[idx]! > start;
  }
}
