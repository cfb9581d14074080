import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openFileDisk, openFileMetadata, openNodeFile } from '../../src/storage/backends/node-file.ts';
import { SlotRecordStore } from '../../src/storage/cow/slot-record-store.ts';
import { CowOverlay } from '../../src/storage/cow/overlay.ts';
import { SECTOR_SIZE } from '../../src/storage/block-device.ts';
import { firstDifference, sectors } from './fakes.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ts86-file-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('file disk (Node)', () => {
  it('creates a sparse disk, writes, fsyncs and reads back after reopening', async () => {
    const path = join(dir, 'a.img');
    const disk = await openFileDisk(path, { create: true, capacity: 2048 });
    expect(disk.capacity).toBe(2048);
    expect(disk.name).toBe(`file:${path}`);
    await disk.writev(100, [sectors(3, 4).subarray(0, 1000), sectors(3, 4).subarray(1000)]);
    await disk.flush();
    await disk.close();
    expect((await stat(path)).size).toBe(2048 * SECTOR_SIZE);
    const again = await openFileDisk(path);
    const out = new Uint8Array(3 * SECTOR_SIZE);
    await again.readv(100, [out]);
    expect(firstDifference(out, sectors(3, 4))).toBeNull();
    const zeros = new Uint8Array(SECTOR_SIZE);
    await again.readv(0, [zeros]);
    expect(zeros.every((b) => b === 0)).toBe(true);
    await again.close();
  });

  it('opens read-only images and refuses writes', async () => {
    const path = join(dir, 'ro.img');
    await writeFile(path, sectors(8, 2));
    const disk = await openFileDisk(path, { readOnly: true });
    await expect(disk.writev(0, [new Uint8Array(512)])).rejects.toMatchObject({ code: 'read-only' });
    await disk.close();
  });

  it('refuses images that are not whole sectors, and missing files, with clear messages', async () => {
    const path = join(dir, 'odd.img');
    await writeFile(path, new Uint8Array(1000));
    await expect(openFileDisk(path)).rejects.toThrow(/1000 bytes, not a whole number of 512-byte sectors; pad it \(truncate -s 1024\)/);
    await expect(openFileDisk(join(dir, 'missing.img'))).rejects.toMatchObject({ code: 'not-found' });
  });

  it('reads zeros past the end of a short (sparse-grown) file', async () => {
    const path = join(dir, 'short.img');
    await writeFile(path, sectors(1, 9));
    const disk = await openFileDisk(path, { capacity: 16 });
    const out = new Uint8Array(2 * SECTOR_SIZE).fill(0xee);
    await disk.readv(0, [out]);
    expect(firstDifference(out.subarray(0, SECTOR_SIZE), sectors(1, 9))).toBeNull();
    expect(out.subarray(SECTOR_SIZE).every((b) => b === 0)).toBe(true);
    await disk.close();
  });
});

describe('SlotRecordStore', () => {
  it('alternates slots and returns the newest valid record', async () => {
    const base = join(dir, 'meta1');
    const store = await openFileMetadata(base);
    expect(await store.load()).toBeNull();
    await store.save(new Uint8Array([1, 2, 3]));
    await store.save(new Uint8Array([4, 5]));
    await store.close();
    const again = await openFileMetadata(base);
    expect(await again.load()).toEqual(new Uint8Array([4, 5]));
    await again.close();
  });

  it('falls back to the previous record when the newest slot is torn', async () => {
    const base = join(dir, 'meta2');
    const store = await openFileMetadata(base);
    await store.save(new Uint8Array([1, 1, 1])); // slot a
    await store.save(new Uint8Array([2, 2, 2, 2])); // slot b
    await store.close();
    const b = await readFile(`${base}.meta-b`);
    b[b.length - 1] ^= 0xff; // torn / damaged payload
    await writeFile(`${base}.meta-b`, b);
    const again = await openFileMetadata(base);
    expect(await again.load()).toEqual(new Uint8Array([1, 1, 1]));
    // The next save must not overwrite the only valid slot.
    await again.save(new Uint8Array([3]));
    await again.close();
    const third = await openFileMetadata(base);
    expect(await third.load()).toEqual(new Uint8Array([3]));
    await third.close();
  });

  it('refuses when both slots are damaged rather than pretending the overlay is empty', async () => {
    const base = join(dir, 'meta3');
    await writeFile(`${base}.meta-a`, new Uint8Array(40).fill(7));
    await writeFile(`${base}.meta-b`, new Uint8Array(40).fill(9));
    const store = new SlotRecordStore([await openNodeFile(`${base}.meta-a`), await openNodeFile(`${base}.meta-b`)]);
    await expect(store.load()).rejects.toMatchObject({ code: 'corrupt' });
    await store.close();
  });
});

describe('COW overlay on host files', () => {
  it('persists overlay data and dirty map across reopen', async () => {
    const basePath = join(dir, 'base.img');
    await writeFile(basePath, sectors(512, 1));
    const open = async () =>
      CowOverlay.open(
        await openFileDisk(basePath, { readOnly: true }),
        await openFileDisk(join(dir, 'ov.img'), { create: true, capacity: 512 }),
        await openFileMetadata(join(dir, 'ov.img')),
        { baseId: 'base.img' },
      );
    const cow = await open();
    await cow.writev(300, [sectors(2, 77)]);
    await cow.flush();
    await cow.close();
    const again = await open();
    const out = new Uint8Array(4 * SECTOR_SIZE);
    await again.readv(299, [out]);
    const expected = sectors(512, 1).slice(299 * SECTOR_SIZE, 303 * SECTOR_SIZE);
    expected.set(sectors(2, 77), SECTOR_SIZE);
    expect(firstDifference(out, expected)).toBeNull();
    expect(firstDifference(await readFile(basePath), sectors(512, 1))).toBeNull();
    await again.close();
  });
});
