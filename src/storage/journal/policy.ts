// Journal-aware cache policy (after PDC): writes that will not be re-read soon
// should not displace cached data.
// - Writes into an ext3/ext4 journal (found by parsing the guest's superblock
//   at attach) and FUA writes go down write-through, with no cache allocation.
// - A write immediately followed by a flush (fsync'd data, journal commit
//   blocks) is dropped from the cache once the flush is durable.
// Switchable at runtime for comparisons. If no journal is found the policy is
// inactive and says why; it never fails the disk.

import { SECTOR_SIZE, type BlockDevice, type WriteOptions } from '../block-device.ts';
import { formatBytes } from '../errors.ts';
import { BlockLayer } from '../layer.ts';
import type { Clock } from '../stats.ts';
import { deviceByteReader } from './byte-reader.ts';
import { locateJournals, type JournalLocation } from './locate.ts';
import { RangeSet, type SectorRange } from './range-set.ts';

/** A cache that can drop clean blocks it holds (CachedBlockDevice.demote). */
export interface Demotable {
  demote(sector: number, count: number): void;
}

export interface JournalPolicyOptions {
  enabled?: boolean;
  /** The cache below, for dropping blocks of writes followed by a flush. */
  cache?: Demotable | null;
  log?: (message: string) => void;
  clock?: Clock;
}

export interface JournalPolicyStats {
  enabled: boolean;
  /** A journal was found. */
  active: boolean;
  inactiveReason: string | null;
  journals: Array<{ where: string; blockSize: number; bytes: number; ranges: SectorRange[] }>;
  journalWrites: number;
  journalBytes: number;
  fuaWrites: number;
  syncWritesDemoted: number;
  cachedWrites: number;
  scans: number;
}

const defaultLog = (m: string) => console.info(`[ts86 storage] ${m}`);

export class JournalAwarePolicy extends BlockLayer {
  private journal = new RangeSet([]);
  private journals: JournalLocation[] = [];
  private layout = new RangeSet([]);
  private inactiveReason: string | null = 'not scanned yet';
  private enabled: boolean;
  private readonly cache: Demotable | null;
  private readonly log: (m: string) => void;
  /** The last write issued since the last flush began: the candidate for "followed by a flush". */
  private lastWrite: SectorRange | null = null;
  private rescanPending = false;
  private readonly counts = { journalWrites: 0, journalBytes: 0, fuaWrites: 0, syncWritesDemoted: 0, cachedWrites: 0, scans: 0 };

  /** Wraps `inner` and scans it for journals before returning. */
  static async attach(inner: BlockDevice, options: JournalPolicyOptions = {}): Promise<JournalAwarePolicy> {
    const p = new JournalAwarePolicy(inner, options);
    await p.scan();
    return p;
  }

  private constructor(
    private readonly inner: BlockDevice,
    options: JournalPolicyOptions,
  ) {
    super('policy', inner.capacity, inner.readOnly, options.clock);
    this.enabled = options.enabled ?? true;
    this.cache = options.cache ?? null;
    this.log = options.log ?? defaultLog;
  }

  setEnabled(on: boolean): void {
    this.enabled = on;
  }

  get isEnabled(): boolean {
    return this.enabled;
  }

  /** Journal ranges in sectors (empty when inactive). */
  get journalRanges(): SectorRange[] {
    return this.journal.ranges;
  }

  policyStats(): JournalPolicyStats {
    return {
      enabled: this.enabled,
      active: this.journals.length > 0,
      inactiveReason: this.inactiveReason,
      journals: this.journals.map((j) => ({
        where: j.where,
        blockSize: j.blockSize,
        bytes: j.ranges.reduce((n, r) => n + (r.end - r.start) * SECTOR_SIZE, 0),
        ranges: j.ranges,
      })),
      ...this.counts,
    };
  }

  protected override extraStats(): Record<string, unknown> {
    return { policy: this.policyStats() };
  }

  protected override lowerLayers(): readonly BlockDevice[] {
    return [this.inner];
  }

  /** (Re)reads the disk layout. Never throws: problems make the policy inactive. */
  async scan(): Promise<void> {
    this.counts.scans++;
    try {
      const result = await locateJournals(deviceByteReader(this.inner), this.inner.capacity);
      this.journals = result.journals;
      this.journal = new RangeSet(result.journals.flatMap((j) => j.ranges));
      this.layout = new RangeSet(result.layoutSectors);
      if (result.journals.length === 0) {
        this.inactiveReason = result.notes.join('; ') || 'no journal found';
        this.log(`journal-aware policy inactive on ${this.inner.name}: ${this.inactiveReason}`);
      } else {
        this.inactiveReason = null;
        for (const j of result.journals) {
          const bytes = j.ranges.reduce((n, r) => n + (r.end - r.start) * SECTOR_SIZE, 0);
          this.log(
            `journal-aware policy active on ${this.inner.name}: ${formatBytes(bytes)} ext4 journal (inode ${j.journalInode}) ` +
              `on ${j.where} in ${j.ranges.length} range(s) starting at sector ${j.ranges[0]?.start}`,
          );
        }
      }
    } catch (e) {
      this.journals = [];
      this.journal = new RangeSet([]);
      this.inactiveReason = `scan failed: ${e instanceof Error ? e.message : String(e)}`;
      this.log(`journal-aware policy inactive on ${this.inner.name}: ${this.inactiveReason}`);
    }
  }

  protected doReadv(sector: number, segments: readonly Uint8Array[]): Promise<void> {
    return this.inner.readv(sector, segments);
  }

  protected async doWritev(sector: number, segments: readonly Uint8Array[], bytes: number, options: WriteOptions): Promise<void> {
    const end = sector + bytes / SECTOR_SIZE;
    let effective = options;
    if (this.enabled) {
      if (this.journal.overlaps(sector, end)) {
        this.counts.journalWrites++;
        this.counts.journalBytes += bytes;
        effective = { ...options, cacheHint: 'bypass' };
      } else if (options.fua) {
        this.counts.fuaWrites++;
        effective = { ...options, cacheHint: 'bypass' };
      } else this.counts.cachedWrites++;
    }
    if (this.layout.overlaps(sector, end)) this.rescanPending = true;
    this.lastWrite = { start: sector, end };
    await this.inner.writev(sector, segments, effective);
  }

  protected async doFlush(): Promise<void> {
    const followed = this.lastWrite;
    this.lastWrite = null;
    await this.inner.flush();
    if (this.enabled && followed && this.cache && !this.journal.overlaps(followed.start, followed.end)) {
      this.cache.demote(followed.start, followed.end - followed.start);
      this.counts.syncWritesDemoted++;
    }
    if (this.rescanPending) {
      this.rescanPending = false;
      await this.scan();
    }
  }

  protected async doDiscard(sector: number, count: number): Promise<void> {
    if (this.layout.overlaps(sector, sector + count)) this.rescanPending = true;
    await this.inner.discard(sector, count);
  }

  protected override async doClose(): Promise<void> {
    await this.inner.close();
  }
}
