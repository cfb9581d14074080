// Finds the jbd2 journals of the ext3/ext4 filesystems on a disk: on the
// whole disk or inside MBR/GPT partitions. Anything unexpected becomes a
// note explaining why that candidate was skipped; nothing here throws for bad
// disk contents.

import { SECTOR_SIZE } from '../block-device.ts';
import { isStorageError } from '../errors.ts';
import { view, type ByteReader } from './byte-reader.ts';
import { fileExtents, type FileExtent } from './ext4-file-map.ts';
import { Ext4FormatError, readInode, readSuperblock } from './ext4-superblock.ts';
import { readPartitions } from './partitions.ts';
import type { SectorRange } from './range-set.ts';

const JBD2_MAGIC = 0xc03b3998;
const NO_SUPERBLOCK = 'no ext2/3/4 superblock';
const S_IFMT = 0xf000;
const S_IFREG = 0x8000;

export interface JournalLocation {
  /** "whole disk" or a partition label. */
  where: string;
  fsStartSector: number;
  blockSize: number;
  journalInode: number;
  extents: FileExtent[];
  /** Disk sectors occupied by the journal. */
  ranges: SectorRange[];
}

export interface JournalScan {
  journals: JournalLocation[];
  /** Why candidates were skipped, for the log. */
  notes: string[];
  /**
   * Sectors whose change can move or create a journal: partition tables and
   * every candidate's superblock. A write there calls for a new scan.
   */
  layoutSectors: SectorRange[];
}

/** Sectors 0..33 hold the MBR, the GPT header and the usual 128 GPT entries. */
const PARTITION_TABLE_SECTORS = 34;

export async function locateJournals(read: ByteReader, diskSectors: number): Promise<JournalScan> {
  const notes: string[] = [];
  const journals: JournalLocation[] = [];
  const layoutSectors: SectorRange[] = [{ start: 0, end: PARTITION_TABLE_SECTORS }];
  const watchSuperblock = (start: number) => layoutSectors.push({ start: start + 2, end: start + 4 });
  const notesBefore = notes.length;
  const whole = await tryFilesystem(read, 'whole disk', 0, diskSectors, notes);
  const wholeDiskIsExt = whole !== null || !notes.slice(notesBefore).some((n) => n.endsWith(NO_SUPERBLOCK));
  if (whole) journals.push(whole);
  else if (!wholeDiskIsExt) {
    let partitions: Awaited<ReturnType<typeof readPartitions>> = [];
    try {
      partitions = await readPartitions(read, diskSectors);
    } catch (e) {
      notes.push(`partition table unreadable: ${describe(e)}`);
    }
    if (partitions.length === 0) notes.push('no partition table');
    for (const p of partitions) {
      watchSuperblock(p.startSector);
      const j = await tryFilesystem(read, p.label, p.startSector, p.sectors, notes);
      if (j) journals.push(j);
    }
  }
  return { journals, notes, layoutSectors };
}

async function tryFilesystem(read: ByteReader, where: string, startSector: number, sectors: number, notes: string[]): Promise<JournalLocation | null> {
  const fsOffset = startSector * SECTOR_SIZE;
  try {
    if (sectors * SECTOR_SIZE < 2048) {
      notes.push(`${where}: too small for an ext superblock`);
      return null;
    }
    const sb = await readSuperblock(read, fsOffset);
    if (!sb) {
      notes.push(`${where}: ${NO_SUPERBLOCK}`);
      return null;
    }
    if (sb.blocksCount * sb.blockSize > sectors * SECTOR_SIZE) {
      notes.push(`${where}: filesystem (${sb.blocksCount} blocks) is larger than its ${sectors}-sector container`);
      return null;
    }
    if (sb.isJournalDevice) {
      notes.push(`${where}: is an external journal device`);
      return null;
    }
    if (!sb.hasJournal) {
      notes.push(`${where}: filesystem has no journal (ext2)`);
      return null;
    }
    if (sb.journalInode === 0) {
      notes.push(`${where}: journal is on an external device`);
      return null;
    }
    const inode = await readInode(read, fsOffset, sb, sb.journalInode);
    if ((view(inode).getUint16(0, true) & S_IFMT) !== S_IFREG) {
      notes.push(`${where}: journal inode ${sb.journalInode} is not a regular file`);
      return null;
    }
    const extents = await fileExtents(read, fsOffset, sb, inode);
    const first = extents.find((e) => e.logical === 0);
    if (!first) {
      notes.push(`${where}: journal inode ${sb.journalInode} has no first block`);
      return null;
    }
    const jsb = view(await read(fsOffset + first.physical * sb.blockSize, 4));
    if (jsb.getUint32(0, false) !== JBD2_MAGIC) {
      notes.push(`${where}: journal does not start with a jbd2 superblock`);
      return null;
    }
    const perBlock = sb.blockSize / SECTOR_SIZE;
    const ranges = extents.map((e) => ({
      start: startSector + e.physical * perBlock,
      end: startSector + (e.physical + e.count) * perBlock,
    }));
    return { where, fsStartSector: startSector, blockSize: sb.blockSize, journalInode: sb.journalInode, extents, ranges };
  } catch (e) {
    // Damaged metadata (or a read error) disables the policy for this candidate, never the disk.
    const kind = e instanceof Ext4FormatError ? 'damaged metadata' : isStorageError(e) ? 'read failed' : 'unexpected layout';
    notes.push(`${where}: ${kind}: ${describe(e)}`);
    return null;
  }
}

function describe(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
