import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openFileDisk } from '../../src/storage/backends/node-file.ts';
import { MemoryBlockDevice } from '../../src/storage/backends/memory.ts';
import { deviceByteReader } from '../../src/storage/journal/byte-reader.ts';
import { locateJournals } from '../../src/storage/journal/locate.ts';
import { fileExtents } from '../../src/storage/journal/ext4-file-map.ts';
import { readInode, readSuperblock } from '../../src/storage/journal/ext4-superblock.ts';
import { RangeSet } from '../../src/storage/journal/range-set.ts';
import { debugfsExtents, gptDisk, haveE2fsprogs, journalBlocks, makeFs, mbrDisk } from './ext4-images.ts';
import { rng, randInt } from './fakes.ts';

let dir: string;
beforeAll(async () => {
  if (!haveE2fsprogs()) throw new Error('e2fsprogs (mke2fs, debugfs) is required: apt-get install e2fsprogs');
  dir = await mkdtemp(join(tmpdir(), 'ts86-ext4-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function scan(image: string) {
  const disk = await openFileDisk(image, { readOnly: true });
  try {
    return await locateJournals(deviceByteReader(disk), disk.capacity);
  } finally {
    await disk.close();
  }
}

// Each variant exercises a different path of the parser; debugfs says where inode 8's blocks are.
const variants: Array<[string, string[], string]> = [
  ['ext4, 4 KiB blocks, 64-bit descriptors, extents', ['-t', 'ext4', '-b', '4096', '-O', '64bit'], '64M'],
  ['ext4, 1 KiB blocks', ['-t', 'ext4', '-b', '1024'], '64M'],
  ['ext4, 32-byte descriptors (no 64bit)', ['-t', 'ext4', '-b', '4096', '-O', '^64bit'], '64M'],
  ['ext4 with meta_bg', ['-t', 'ext4', '-b', '1024', '-O', 'meta_bg,^resize_inode'], '64M'],
  ['ext3, block map with indirect + double-indirect blocks', ['-t', 'ext3', '-b', '1024', '-J', 'size=16'], '64M'],
  ['ext4, 128-byte inodes, large journal', ['-t', 'ext4', '-b', '4096', '-I', '128', '-J', 'size=64'], '256M'],
  ['ext4, small disk: journal in three fragments', ['-t', 'ext4', '-b', '4096'], '16M'],
];

describe('journal location on real ext3/ext4 images (debugfs as oracle)', () => {
  for (const [title, options, size] of variants) {
    it(title, async () => {
      const img = join(dir, `${title.replace(/\W+/g, '_')}.img`);
      makeFs(img, size, options);
      const oracle = debugfsExtents(img, '<8>');
      expect(oracle.extents.length).toBeGreaterThan(0);
      const result = await scan(img);
      expect(result.notes).toEqual([]);
      expect(result.journals).toHaveLength(1);
      const j = result.journals[0]!;
      expect(j.where).toBe('whole disk');
      expect(j.journalInode).toBe(8);
      expect(j.extents).toEqual(oracle.extents);
      expect(j.extents.reduce((n, e) => n + e.count, 0)).toBe(journalBlocks(img));
      const perBlock = j.blockSize / 512;
      expect(j.ranges).toEqual(oracle.extents.map((e) => ({ start: e.physical * perBlock, end: (e.physical + e.count) * perBlock })));
    });
  }

  it('finds the journal inside an MBR partition', async () => {
    const fs = join(dir, 'part.fs');
    makeFs(fs, '32M', ['-t', 'ext4', '-b', '4096']);
    const disk = join(dir, 'mbr.img');
    mbrDisk(disk, fs, 2048);
    const oracle = debugfsExtents(fs, '<8>');
    const result = await scan(disk);
    expect(result.journals.map((j) => j.where)).toEqual(['mbr1']);
    expect(result.journals[0]!.ranges).toEqual(oracle.extents.map((e) => ({ start: 2048 + e.physical * 8, end: 2048 + (e.physical + e.count) * 8 })));
    expect(result.layoutSectors).toContainEqual({ start: 2050, end: 2052 });
  });

  it('finds the journal inside a GPT partition', async () => {
    const fs = join(dir, 'gpt.fs');
    makeFs(fs, '32M', ['-t', 'ext4', '-b', '1024']);
    const disk = join(dir, 'gpt.img');
    gptDisk(disk, fs, 4096);
    const oracle = debugfsExtents(fs, '<8>');
    const result = await scan(disk);
    expect(result.journals.map((j) => j.where)).toEqual(['gpt2']);
    expect(result.journals[0]!.ranges[0]).toEqual({ start: 4096 + oracle.extents[0]!.physical * 2, end: 4096 + (oracle.extents[0]!.physical + oracle.extents[0]!.count) * 2 });
  });

  it('is inactive with a reason for ext2, blank and foreign disks', async () => {
    const ext2 = join(dir, 'ext2.img');
    makeFs(ext2, '16M', ['-t', 'ext2']);
    expect((await scan(ext2)).notes).toEqual(['whole disk: filesystem has no journal (ext2)']); // no partition scan: sector 0 is a filesystem
    const blank = MemoryBlockDevice.create(4096);
    const r = await locateJournals(deviceByteReader(blank), blank.capacity);
    expect(r.journals).toEqual([]);
    expect(r.notes).toEqual(['whole disk: no ext2/3/4 superblock', 'no partition table']);
  });
});

describe('file block maps (debugfs as oracle)', () => {
  // Sparse files give many extents: a depth-1 tree with 4 KiB blocks, depth-2 with 1 KiB blocks.
  const cases: Array<[string, string[], number, number]> = [
    ['extent tree of depth 1', ['-t', 'ext4', '-b', '4096'], 40, 65536],
    ['extent tree of depth 2', ['-t', 'ext4', '-b', '1024'], 400, 4096],
    ['block map with holes (ext3)', ['-t', 'ext3', '-b', '1024'], 300, 4096],
  ];
  for (const [title, options, regions, stride] of cases) {
    it(title, async () => {
      const img = join(dir, `${title.replace(/\W+/g, '_')}.img`);
      const region = options.includes('1024') ? 1024 : 4096;
      makeFs(img, '64M', options, { sparse: { regions: Array.from({ length: regions }, (_, i) => [i * stride, region] as [number, number]) } });
      const oracle = debugfsExtents(img, '/sparse');
      expect(oracle.extents.length).toBe(regions);
      const disk = await openFileDisk(img, { readOnly: true });
      const read = deviceByteReader(disk);
      const sb = (await readSuperblock(read, 0))!;
      const inode = await readInode(read, 0, sb, oracle.inode);
      expect(await fileExtents(read, 0, sb, inode)).toEqual(oracle.extents);
      if (title.includes('depth 2')) expect(new DataView(inode.buffer, inode.byteOffset + 0x28).getUint16(6, true)).toBe(2);
      await disk.close();
    });
  }
});

describe('damaged filesystems', () => {
  it('never throws, only explains, when metadata bytes are corrupted', async () => {
    const img = join(dir, 'fuzz-src.img');
    makeFs(img, '8M', ['-t', 'ext4', '-b', '1024']);
    const pristine = new Uint8Array(await readFile(img));
    const disk0 = MemoryBlockDevice.fromImage(pristine.slice());
    const j = (await locateJournals(deviceByteReader(disk0), disk0.capacity)).journals[0]!;
    // Corrupt bytes where the parser looks: superblock, group descriptors, inode table, first journal block.
    const sb = (await readSuperblock(deviceByteReader(disk0), 0))!;
    const inode8 = await readInode(deviceByteReader(disk0), 0, sb, 8);
    const inodeOffset = pristine.findIndex((_, i) => i % 128 === 0 && pristine.subarray(i, i + 60).every((b, k) => b === inode8[k]));
    const hot: Array<[number, number]> = [
      [1024, 1024],
      [2048, 1024],
      [inodeOffset, 256],
      [j.extents[0]!.physical * 1024, 16],
    ];
    const r = rng(42);
    let inactive = 0;
    const image = pristine.slice();
    const disk = MemoryBlockDevice.fromImage(image);
    for (let round = 0; round < 300; round++) {
      const touched: number[] = [];
      for (let k = 0; k < 1 + randInt(r, 4); k++) {
        const [off, len] = hot[randInt(r, hot.length)]!;
        const at = off + randInt(r, len);
        touched.push(at);
        image[at] = randInt(r, 256);
      }
      const result = await locateJournals(deviceByteReader(disk), disk.capacity);
      if (result.journals.length === 0) {
        inactive++;
        expect(result.notes.length).toBeGreaterThan(0);
      } else {
        // Whatever it found must lie on the disk.
        for (const jj of result.journals) for (const rg of jj.ranges) expect(rg.end).toBeLessThanOrEqual(disk.capacity);
      }
      for (const at of touched) image[at] = pristine[at]!;
    }
    expect(inactive).toBeGreaterThan(0);
  });

  it('rejects a looping extent tree and out-of-range pointers', async () => {
    const img = join(dir, 'loop.img');
    makeFs(img, '64M', ['-t', 'ext4', '-b', '4096'], { sparse: { regions: Array.from({ length: 40 }, (_, i) => [i * 65536, 4096] as [number, number]) } });
    const bytes = new Uint8Array(await readFile(img));
    const disk = MemoryBlockDevice.fromImage(bytes);
    const read = deviceByteReader(disk);
    const sb = (await readSuperblock(read, 0))!;
    const { inode: ino } = debugfsExtents(img, '/sparse');
    const inode = await readInode(read, 0, sb, ino);
    const root = new DataView(inode.buffer, inode.byteOffset + 0x28, 60);
    expect(root.getUint16(6, true)).toBe(1);
    const leafBlock = root.getUint32(12 + 4, true);
    // Make the leaf an index node pointing at itself.
    const leaf = new DataView(bytes.buffer, leafBlock * 4096, 4096);
    leaf.setUint16(6, 0, true);
    const looped = new Uint8Array(inode);
    const lv = new DataView(looped.buffer, looped.byteOffset + 0x28, 60);
    lv.setUint16(6, 2, true); // root claims depth 2: child (the leaf) must be depth 1
    await expect(fileExtents(read, 0, sb, looped)).rejects.toThrow(/depth 0, expected 1/);
    lv.setUint16(6, 1, true);
    lv.setUint32(12 + 4, sb.blocksCount + 5, true);
    await expect(fileExtents(read, 0, sb, looped)).rejects.toThrow(/outside the filesystem/);
  });
});

describe('RangeSet', () => {
  it('merges ranges and answers overlap queries', () => {
    const s = new RangeSet([
      { start: 10, end: 20 },
      { start: 30, end: 40 },
      { start: 18, end: 25 },
    ]);
    expect(s.ranges).toEqual([
      { start: 10, end: 25 },
      { start: 30, end: 40 },
    ]);
    expect(s.overlaps(0, 10)).toBe(false);
    expect(s.overlaps(0, 11)).toBe(true);
    expect(s.overlaps(25, 30)).toBe(false);
    expect(s.overlaps(39, 100)).toBe(true);
    expect(s.overlaps(40, 100)).toBe(false);
    expect(s.totalSectors).toBe(25);
  });
});
