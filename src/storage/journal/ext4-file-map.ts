// Where a file's data lives: walks an inode's extent tree (any depth) or its
// classic direct/indirect block map, producing logical → physical extents.
// Every pointer is bounds-checked and the work is bounded, so a corrupt or
// hostile image yields an Ext4FormatError, never a hang or a wild read.

import { view, type ByteReader } from './byte-reader.ts';
import { Ext4FormatError, checkBlock, type Ext4Superblock } from './ext4-superblock.ts';

export interface FileExtent {
  /** First file block. */
  logical: number;
  /** First filesystem block. */
  physical: number;
  /** Blocks. */
  count: number;
}

const EXTENTS_FL = 0x80000;
const INLINE_DATA_FL = 0x10000000;
const EXTENT_MAGIC = 0xf30a;
const MAX_DEPTH = 5;
/** Bounds the walk on hostile images (a 128 MiB journal in 1 KiB blocks needs 128K block pointers). */
const MAX_EXTENTS = 1 << 20;

export async function fileExtents(read: ByteReader, fsOffset: number, sb: Ext4Superblock, inode: Uint8Array): Promise<FileExtent[]> {
  const dv = view(inode);
  const flags = dv.getUint32(0x20, true);
  const size = dv.getUint32(0x04, true) + (inode.length > 0x6c + 4 ? dv.getUint32(0x6c, true) * 2 ** 32 : 0);
  const iBlock = inode.subarray(0x28, 0x28 + 60);
  if (flags & INLINE_DATA_FL) return [];
  const out: FileExtent[] =
    flags & EXTENTS_FL
      ? await walkExtentTree(read, fsOffset, sb, iBlock)
      : await walkBlockMap(read, fsOffset, sb, iBlock, Math.ceil(size / sb.blockSize));
  return mergeExtents(out);
}

async function walkExtentTree(read: ByteReader, fsOffset: number, sb: Ext4Superblock, root: Uint8Array): Promise<FileExtent[]> {
  const out: FileExtent[] = [];
  const visited = new Set<number>();
  const walk = async (node: Uint8Array, expectedDepth: number | null, where: string): Promise<void> => {
    const dv = view(node);
    if (dv.getUint16(0, true) !== EXTENT_MAGIC) throw new Ext4FormatError(`${where}: bad extent header magic`);
    const entries = dv.getUint16(2, true);
    const max = dv.getUint16(4, true);
    const depth = dv.getUint16(6, true);
    if (depth > MAX_DEPTH) throw new Ext4FormatError(`${where}: extent tree depth ${depth} exceeds ${MAX_DEPTH}`);
    if (expectedDepth !== null && depth !== expectedDepth) throw new Ext4FormatError(`${where}: depth ${depth}, expected ${expectedDepth}`);
    if (entries > max || 12 + max * 12 > node.length) throw new Ext4FormatError(`${where}: ${entries}/${max} entries do not fit the node`);
    for (let i = 0; i < entries; i++) {
      const e = 12 + i * 12;
      if (depth === 0) {
        const logical = dv.getUint32(e, true);
        let len = dv.getUint16(e + 4, true);
        if (len > 32768) len -= 32768; // uninitialized extent: still the file's blocks
        const physical = dv.getUint16(e + 6, true) * 2 ** 32 + dv.getUint32(e + 8, true);
        if (len === 0) continue;
        checkBlock(sb, physical, `${where} extent ${i}`);
        checkBlock(sb, physical + len - 1, `${where} extent ${i} end`);
        out.push({ logical, physical, count: len });
        if (out.length > MAX_EXTENTS) throw new Ext4FormatError(`more than ${MAX_EXTENTS} extents`);
      } else {
        const child = dv.getUint16(e + 8, true) * 2 ** 32 + dv.getUint32(e + 4, true);
        checkBlock(sb, child, `${where} index ${i}`);
        if (visited.has(child)) throw new Ext4FormatError(`${where}: extent tree block ${child} is referenced twice`);
        visited.add(child);
        await walk(await read(fsOffset + child * sb.blockSize, sb.blockSize), depth - 1, `extent node at block ${child}`);
      }
    }
  };
  await walk(root, null, 'inode extent root');
  return out;
}

async function walkBlockMap(read: ByteReader, fsOffset: number, sb: Ext4Superblock, iBlock: Uint8Array, fileBlocks: number): Promise<FileExtent[]> {
  const out: FileExtent[] = [];
  const perBlock = sb.blockSize / 4;
  const root = view(iBlock);
  let logical = 0;
  const add = (physical: number) => {
    if (physical !== 0) {
      checkBlock(sb, physical, `block pointer for file block ${logical}`);
      out.push({ logical, physical, count: 1 });
      if (out.length > MAX_EXTENTS) throw new Ext4FormatError(`more than ${MAX_EXTENTS} blocks`);
    }
    logical++;
  };
  // Walks an indirect block of the given level (1 = pointers to data blocks).
  const indirect = async (block: number, level: number): Promise<void> => {
    const span = perBlock ** level;
    if (block === 0) {
      logical += span; // a hole covering the whole subtree
      return;
    }
    checkBlock(sb, block, `level-${level} indirect block`);
    const ptrs = view(await read(fsOffset + block * sb.blockSize, sb.blockSize));
    for (let i = 0; i < perBlock && logical < fileBlocks; i++) {
      const p = ptrs.getUint32(i * 4, true);
      if (level === 1) add(p);
      else await indirect(p, level - 1);
    }
  };
  for (let i = 0; i < 12 && logical < fileBlocks; i++) add(root.getUint32(i * 4, true));
  for (let level = 1; level <= 3 && logical < fileBlocks; level++) await indirect(root.getUint32((11 + level) * 4, true), level);
  return out;
}

/** Sorts by logical block and joins extents contiguous in both logical and physical space. */
export function mergeExtents(extents: FileExtent[]): FileExtent[] {
  const sorted = [...extents].sort((a, b) => a.logical - b.logical);
  const out: FileExtent[] = [];
  for (const e of sorted) {
    const prev = out[out.length - 1];
    if (prev && prev.logical + prev.count === e.logical && prev.physical + prev.count === e.physical) prev.count += e.count;
    else out.push({ ...e });
  }
  return out;
}
