// The read-only Blob/File backend (a disk image picked in the page), in Node:
// lazy slices, vectored reads, refusals, and the error a user sees when the
// picked file can no longer be read.
import { describe, expect, it } from 'vitest';
import { BlobBlockDevice } from '../../src/storage/backends/blob.ts';
import { SECTOR_SIZE } from '../../src/storage/block-device.ts';
import { CowOverlay } from '../../src/storage/cow/overlay.ts';
import { MemoryMetadataStore } from '../../src/storage/cow/metadata-store.ts';
import { MemoryBlockDevice } from '../../src/storage/backends/memory.ts';
import { isStorageError } from '../../src/storage/errors.ts';
import { firstDifference, sectors } from './fakes.ts';

const image = new Uint8Array(sectors(256, 9)); // 128 KiB

/** A File whose slices are counted, and whose reads can be made to fail like a file changed on disk. */
class WatchedFile extends File {
  slices: [number, number][] = [];
  failWith: unknown = null;
  shortBy = 0;

  override slice(start?: number, end?: number, type?: string): Blob {
    this.slices.push([start ?? 0, end ?? this.size]);
    const piece = super.slice(start, end, type);
    const { failWith, shortBy } = this;
    if (failWith) return { arrayBuffer: () => Promise.reject(failWith) } as Blob;
    if (shortBy) return super.slice(start, (end ?? this.size) - shortBy, type);
    return piece;
  }
}

function watched(bytes = image, name = 'picked.img'): WatchedFile {
  return new WatchedFile([bytes], name, { lastModified: 1_700_000_000_000 });
}

async function rejection(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (e) {
    if (isStorageError(e)) return { code: e.code, message: e.message };
    throw e;
  }
  throw new Error('did not reject');
}

describe('BlobBlockDevice', () => {
  it('is a read-only disk of the file\'s size, named after the file, and reads nothing when opened', () => {
    const file = watched();
    const disk = BlobBlockDevice.open(file);
    expect(disk.capacity).toBe(256);
    expect(disk.readOnly).toBe(true);
    expect(disk.name).toBe('blob:picked.img');
    expect(BlobBlockDevice.open(new Blob([image])).name).toBe('blob:blob');
    expect(BlobBlockDevice.open(file, { name: 'other' }).name).toBe('blob:other');
    expect(file.slices).toEqual([]);
  });

  it('reads at odd sectors into odd-sized segments with one slice per request', async () => {
    const file = watched();
    const disk = BlobBlockDevice.open(file);
    const segs = [new Uint8Array(100), new Uint8Array(3 * SECTOR_SIZE - 100 - 7), new Uint8Array(7), new Uint8Array(2 * SECTOR_SIZE)];
    await disk.readv(37, segs);
    const got = new Uint8Array(5 * SECTOR_SIZE);
    let off = 0;
    for (const s of segs) {
      got.set(s, off);
      off += s.length;
    }
    expect(firstDifference(got, image.subarray(37 * SECTOR_SIZE, 42 * SECTOR_SIZE))).toBeNull();
    expect(file.slices).toEqual([[37 * SECTOR_SIZE, 42 * SECTOR_SIZE]]);

    const last = new Uint8Array(SECTOR_SIZE);
    await disk.readv(255, [last]);
    expect(firstDifference(last, image.subarray(255 * SECTOR_SIZE))).toBeNull();
    const whole = new Uint8Array(image.length);
    await disk.readv(0, [whole]);
    expect(firstDifference(whole, image)).toBeNull();
    await disk.readv(10, []);
    expect(file.slices).toHaveLength(3);
    expect(disk.stats().read).toMatchObject({ ops: 4, errors: 0, bytes: 6 * SECTOR_SIZE + image.length });
  });

  it('refuses writes, discards, reads past the end and a size that is not whole sectors', async () => {
    const disk = BlobBlockDevice.open(watched());
    expect(await rejection(disk.writev(0, [new Uint8Array(SECTOR_SIZE)]))).toMatchObject({ code: 'read-only', message: expect.stringMatching(/^blob:picked\.img is read-only, so the write was refused; put a copy-on-write overlay on top/) });
    expect(await rejection(disk.discard(0, 1))).toMatchObject({ code: 'read-only' });
    expect(await rejection(disk.readv(255, [new Uint8Array(2 * SECTOR_SIZE)]))).toMatchObject({ code: 'out-of-range' });
    expect(await rejection(disk.readv(0, [new Uint8Array(100)]))).toMatchObject({ code: 'misaligned' });
    await disk.flush(); // nothing to make durable
    expect(() => BlobBlockDevice.open(new File([new Uint8Array(1000)], 'odd.img'))).toThrow(
      expect.objectContaining({ code: 'misaligned', message: 'odd.img is 1000 bytes, not a whole number of 512-byte sectors; pad it (truncate -s 1024) first' }),
    );
  });

  it('tells the user to pick the file again when it was changed or deleted after it was picked', async () => {
    const file = watched();
    const disk = BlobBlockDevice.open(file);
    // What Chromium's Blob.arrayBuffer() rejects with once the file on disk changed.
    file.failWith = new DOMException('The requested file could not be read, typically due to permission problems that have occurred after a reference to a file was acquired.', 'NotReadableError');
    const changed = await rejection(disk.readv(8, [new Uint8Array(SECTOR_SIZE)]));
    expect(changed.code).toBe('not-found');
    expect(changed.message).toMatch(/^The disk image file picked\.img can no longer be read: it was changed, moved or deleted after it was picked\. Pick the file again\. \(The requested file could not be read/);
    file.failWith = new DOMException('A requested file or directory could not be found at the time an operation was processed.', 'NotFoundError');
    expect(await rejection(disk.readv(8, [new Uint8Array(SECTOR_SIZE)]))).toMatchObject({ code: 'not-found', message: expect.stringMatching(/Pick the file again/) });
    file.failWith = null;
    file.shortBy = 100; // a file that shrank under a reader that did not notice
    expect(await rejection(disk.readv(8, [new Uint8Array(SECTOR_SIZE)]))).toMatchObject({ code: 'not-found', message: expect.stringMatching(/Pick the file again\. \(got 412 of 512 bytes\)$/) });
    file.shortBy = 0;
    file.failWith = new Error('disk on fire');
    expect(await rejection(disk.readv(8, [new Uint8Array(SECTOR_SIZE)]))).toMatchObject({ code: 'io', message: expect.stringMatching(/disk on fire/) });
    expect(disk.stats().read.errors).toBe(4);
    file.failWith = null;
    const ok = new Uint8Array(SECTOR_SIZE);
    await disk.readv(8, [ok]);
    expect(firstDifference(ok, image.subarray(8 * SECTOR_SIZE, 9 * SECTOR_SIZE))).toBeNull();
  });

  it('becomes writable under a copy-on-write overlay, leaving the file as it was', async () => {
    const file = watched();
    const base = BlobBlockDevice.open(file);
    const cow = await CowOverlay.open(base, MemoryBlockDevice.create(base.capacity), new MemoryMetadataStore(), { chunkSize: 4096 });
    const data = sectors(3, 4);
    await cow.writev(5, [data]);
    const back = new Uint8Array(4 * SECTOR_SIZE);
    await cow.readv(4, [back]);
    expect(firstDifference(back.subarray(SECTOR_SIZE), data)).toBeNull();
    expect(firstDifference(back.subarray(0, SECTOR_SIZE), image.subarray(4 * SECTOR_SIZE, 5 * SECTOR_SIZE))).toBeNull();
    expect(firstDifference(new Uint8Array(await file.arrayBuffer()), image)).toBeNull();
    await cow.close();
  });
});
