// Real ext2/3/4 images made at test time with e2fsprogs, and debugfs as the
// oracle for where a file's blocks are.

import { execFileSync } from 'node:child_process';
import { mkdirSync, openSync, writeSync, closeSync, writeFileSync, ftruncateSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FileExtent } from '../../src/storage/journal/ext4-file-map.ts';
import { mergeExtents } from '../../src/storage/journal/ext4-file-map.ts';

export function haveE2fsprogs(): boolean {
  try {
    execFileSync('mke2fs', ['-V'], { stdio: 'ignore' });
    execFileSync('debugfs', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export interface SparseFile {
  /** [byte offset, length] regions holding data; the rest is holes. */
  regions: Array<[number, number]>;
}

/** mke2fs -F -q <options> [-d <dir with files>] <path> <size>. */
export function makeFs(path: string, size: string, options: string[], files?: Record<string, SparseFile>): void {
  const args = ['-q', '-F', ...options];
  if (files) {
    const dir = `${path}.d`;
    mkdirSync(dir, { recursive: true });
    for (const [name, f] of Object.entries(files)) {
      const fd = openSync(join(dir, name), 'w');
      let end = 0;
      for (const [off, len] of f.regions) {
        writeSync(fd, Buffer.alloc(len, 0x5a), 0, len, off);
        end = Math.max(end, off + len);
      }
      ftruncateSync(fd, end);
      closeSync(fd);
    }
    args.push('-d', dir);
  }
  args.push(path, size);
  execFileSync('mke2fs', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** debugfs's view of a file's data blocks (extent tree / indirect blocks themselves excluded). */
export function debugfsExtents(image: string, file: string): { inode: number; extents: FileExtent[] } {
  const out = execFileSync('debugfs', ['-R', `stat ${file}`, image], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const inode = Number(/Inode: (\d+)/.exec(out)?.[1]);
  const section = /(?:EXTENTS|BLOCKS):\n([\s\S]*?)(?:\nTOTAL:|$)/.exec(out)?.[1] ?? '';
  const extents: FileExtent[] = [];
  for (const m of section.matchAll(/\((\d+)(?:-(\d+))?\):(\d+)(?:-(\d+))?/g)) {
    const logical = Number(m[1]);
    const count = (m[2] ? Number(m[2]) : logical) - logical + 1;
    extents.push({ logical, physical: Number(m[3]), count });
  }
  return { inode, extents: mergeExtents(extents) };
}

/** dumpe2fs -h's "Total journal blocks". */
export function journalBlocks(image: string): number {
  const out = execFileSync('dumpe2fs', ['-h', image], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  return Number(/Total journal blocks:\s+(\d+)/.exec(out)?.[1]);
}

/** A disk image with an MBR whose first primary partition holds `fsImage` at `startSector`. */
export function mbrDisk(path: string, fsImage: string, startSector: number, type = 0x83): void {
  const fs = readFileSync(fsImage);
  const mbr = Buffer.alloc(512);
  const e = 446;
  mbr[e + 4] = type;
  mbr.writeUInt32LE(startSector, e + 8);
  mbr.writeUInt32LE(fs.length / 512, e + 12);
  mbr[510] = 0x55;
  mbr[511] = 0xaa;
  writeDisk(path, [
    [0, mbr],
    [startSector * 512, fs],
  ]);
}

/** A GPT disk (protective MBR, header at LBA 1, entries at LBA 2) whose second entry holds `fsImage`. */
export function gptDisk(path: string, fsImage: string, startSector: number): void {
  const fs = readFileSync(fsImage);
  const total = startSector + fs.length / 512 + 64;
  const mbr = Buffer.alloc(512);
  mbr[446 + 4] = 0xee;
  mbr.writeUInt32LE(1, 446 + 8);
  mbr.writeUInt32LE(Math.min(total - 1, 0xffffffff), 446 + 12);
  mbr[510] = 0x55;
  mbr[511] = 0xaa;
  const header = Buffer.alloc(512);
  header.write('EFI PART', 0, 'latin1');
  header.writeBigUInt64LE(2n, 0x48);
  header.writeUInt32LE(128, 0x50);
  header.writeUInt32LE(128, 0x54);
  const entries = Buffer.alloc(128 * 128);
  const linuxFs = Buffer.from('af3dc60f838472478e793d69d8477de4', 'hex');
  linuxFs.copy(entries, 128 + 0); // entry 2 (index 1); entry 1 unused
  entries.writeBigUInt64LE(BigInt(startSector), 128 + 0x20);
  entries.writeBigUInt64LE(BigInt(startSector + fs.length / 512 - 1), 128 + 0x28);
  writeDisk(path, [
    [0, mbr],
    [512, header],
    [1024, entries],
    [startSector * 512, fs],
  ], total * 512);
}

function writeDisk(path: string, parts: Array<[number, Buffer]>, size?: number): void {
  writeFileSync(path, Buffer.alloc(0));
  const fd = openSync(path, 'r+');
  let end = 0;
  for (const [off, data] of parts) {
    writeSync(fd, data, 0, data.length, off);
    end = Math.max(end, off + data.length);
  }
  ftruncateSync(fd, size ?? end);
  closeSync(fd);
}
