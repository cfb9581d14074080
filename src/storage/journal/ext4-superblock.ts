// The parts of an ext2/3/4 superblock and group descriptor table needed to
// find an inode on disk. Offsets follow the kernel's struct ext4_super_block
// and struct ext4_group_desc.

import { view, type ByteReader } from './byte-reader.ts';

export const EXT4_MAGIC = 0xef53;
const COMPAT_HAS_JOURNAL = 0x4;
const COMPAT_SPARSE_SUPER2 = 0x200;
const INCOMPAT_JOURNAL_DEV = 0x8;
const INCOMPAT_META_BG = 0x10;
const INCOMPAT_EXTENTS = 0x40;
const INCOMPAT_64BIT = 0x80;
const RO_COMPAT_SPARSE_SUPER = 0x1;

/** A structural problem: the parser stops and the caller reports `message`. */
export class Ext4FormatError extends Error {
  override name = 'Ext4FormatError';
}

export interface Ext4Superblock {
  blockSize: number;
  blocksCount: number;
  inodesCount: number;
  firstDataBlock: number;
  blocksPerGroup: number;
  inodesPerGroup: number;
  inodeSize: number;
  descSize: number;
  hasJournal: boolean;
  journalInode: number;
  isJournalDevice: boolean;
  metaBg: boolean;
  firstMetaBg: number;
  extents: boolean;
  sparseSuper: boolean;
  sparseSuper2: boolean;
  backupGroups: [number, number];
}

/** Parses the superblock of a filesystem starting at byte `fsOffset`; null if there is no ext magic. */
export async function readSuperblock(read: ByteReader, fsOffset: number): Promise<Ext4Superblock | null> {
  const sb = view(await read(fsOffset + 1024, 1024));
  if (sb.getUint16(0x38, true) !== EXT4_MAGIC) return null;
  const logBlock = sb.getUint32(0x18, true);
  if (logBlock > 6) throw new Ext4FormatError(`superblock block size 2^(10+${logBlock}) is out of range`);
  const blockSize = 1024 << logBlock;
  const compat = sb.getUint32(0x5c, true);
  const incompat = sb.getUint32(0x60, true);
  const roCompat = sb.getUint32(0x64, true);
  const is64 = (incompat & INCOMPAT_64BIT) !== 0;
  const rev = sb.getUint32(0x4c, true);
  const inodeSize = rev >= 1 ? sb.getUint16(0x58, true) : 128;
  const descSize = is64 ? sb.getUint16(0xfe, true) : 32;
  const s: Ext4Superblock = {
    blockSize,
    blocksCount: sb.getUint32(0x04, true) + (is64 ? sb.getUint32(0x150, true) * 2 ** 32 : 0),
    inodesCount: sb.getUint32(0x00, true),
    firstDataBlock: sb.getUint32(0x14, true),
    blocksPerGroup: sb.getUint32(0x20, true),
    inodesPerGroup: sb.getUint32(0x28, true),
    inodeSize,
    descSize,
    hasJournal: (compat & COMPAT_HAS_JOURNAL) !== 0,
    journalInode: sb.getUint32(0xe0, true),
    isJournalDevice: (incompat & INCOMPAT_JOURNAL_DEV) !== 0,
    metaBg: (incompat & INCOMPAT_META_BG) !== 0,
    firstMetaBg: sb.getUint32(0x104, true),
    extents: (incompat & INCOMPAT_EXTENTS) !== 0,
    sparseSuper: (roCompat & RO_COMPAT_SPARSE_SUPER) !== 0,
    sparseSuper2: (compat & COMPAT_SPARSE_SUPER2) !== 0,
    backupGroups: [sb.getUint32(0x24c, true), sb.getUint32(0x250, true)],
  };
  if (s.blocksPerGroup === 0 || s.inodesPerGroup === 0 || s.blocksPerGroup > blockSize * 8) {
    throw new Ext4FormatError(`superblock has ${s.blocksPerGroup} blocks and ${s.inodesPerGroup} inodes per group`);
  }
  if (inodeSize < 128 || inodeSize > blockSize || (inodeSize & (inodeSize - 1)) !== 0) {
    throw new Ext4FormatError(`superblock inode size ${inodeSize} is invalid`);
  }
  if (descSize < 32 || descSize > 1024 || (is64 && descSize < 64)) {
    throw new Ext4FormatError(`group descriptor size ${descSize} is invalid`);
  }
  if (s.blocksCount === 0 || s.firstDataBlock >= s.blocksCount) {
    throw new Ext4FormatError(`superblock block count ${s.blocksCount} / first data block ${s.firstDataBlock} are inconsistent`);
  }
  return s;
}

function isPowerOf(n: number, base: number): boolean {
  if (n < 1) return false;
  while (n % base === 0) n /= base;
  return n === 1;
}

/** Whether block group `g` carries a superblock backup (and so a GDT copy after it). */
function groupHasSuperblock(sb: Ext4Superblock, g: number): boolean {
  if (g === 0) return true;
  if (sb.sparseSuper2) return g === sb.backupGroups[0] || g === sb.backupGroups[1];
  if (!sb.sparseSuper) return true;
  return g === 1 || isPowerOf(g, 3) || isPowerOf(g, 5) || isPowerOf(g, 7);
}

/** Filesystem block holding group `g`'s descriptor, and the byte offset inside it. */
function descriptorLocation(sb: Ext4Superblock, g: number): { block: number; offset: number } {
  const perBlock = sb.blockSize / sb.descSize;
  const descBlockIndex = Math.floor(g / perBlock);
  const offset = (g % perBlock) * sb.descSize;
  if (!sb.metaBg || descBlockIndex < sb.firstMetaBg) {
    return { block: sb.firstDataBlock + 1 + descBlockIndex, offset };
  }
  // META_BG: each meta group's descriptor block sits in the first group of that meta group.
  const firstGroup = descBlockIndex * perBlock;
  const groupStart = sb.firstDataBlock + firstGroup * sb.blocksPerGroup;
  return { block: groupStart + (groupHasSuperblock(sb, firstGroup) ? 1 : 0), offset };
}

/** Reads inode `ino` (1-based); returns its raw bytes. */
export async function readInode(read: ByteReader, fsOffset: number, sb: Ext4Superblock, ino: number): Promise<Uint8Array> {
  if (!Number.isInteger(ino) || ino < 1 || ino > sb.inodesCount) {
    throw new Ext4FormatError(`inode ${ino} is outside the filesystem's ${sb.inodesCount} inodes`);
  }
  const group = Math.floor((ino - 1) / sb.inodesPerGroup);
  const index = (ino - 1) % sb.inodesPerGroup;
  const loc = descriptorLocation(sb, group);
  checkBlock(sb, loc.block, 'group descriptor');
  const desc = view(await read(fsOffset + loc.block * sb.blockSize + loc.offset, sb.descSize));
  let inodeTable = desc.getUint32(0x08, true);
  if (sb.descSize >= 64) inodeTable += desc.getUint32(0x28, true) * 2 ** 32;
  checkBlock(sb, inodeTable, `inode table of group ${group}`);
  const byte = inodeTable * sb.blockSize + index * sb.inodeSize;
  if (byte + sb.inodeSize > sb.blocksCount * sb.blockSize) throw new Ext4FormatError(`inode ${ino} lies past the end of the filesystem`);
  return read(fsOffset + byte, sb.inodeSize);
}

export function checkBlock(sb: Ext4Superblock, block: number, what: string): void {
  if (!Number.isSafeInteger(block) || block < sb.firstDataBlock || block >= sb.blocksCount) {
    throw new Ext4FormatError(`${what} points at block ${block}, outside the filesystem (blocks ${sb.firstDataBlock}..${sb.blocksCount - 1})`);
  }
}
