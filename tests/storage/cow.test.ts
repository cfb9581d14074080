import { describe, expect, it } from 'vitest';
import { CowOverlay } from '../../src/storage/cow/overlay.ts';
import { MemoryMetadataStore } from '../../src/storage/cow/metadata-store.ts';
import { MemoryBlockDevice } from '../../src/storage/backends/memory.ts';
import { SECTOR_SIZE } from '../../src/storage/block-device.ts';
import { StorageError } from '../../src/storage/errors.ts';
import { TestDisk, firstDifference, randInt, rng, sectors } from './fakes.ts';

function expectBytes(actual: Uint8Array, expected: Uint8Array, what = ''): void {
  expect(firstDifference(actual, expected), what).toBeNull();
}

const CHUNK = 4096;
const SPC = CHUNK / SECTOR_SIZE;

function baseImage(capacity = 256): MemoryBlockDevice {
  return MemoryBlockDevice.fromImage(sectors(capacity, 1), { name: 'base.img', readOnly: true });
}

async function readAll(dev: { readv(s: number, b: Uint8Array[]): Promise<void>; capacity: number }): Promise<Uint8Array> {
  const out = new Uint8Array(dev.capacity * SECTOR_SIZE);
  await dev.readv(0, [out]);
  return out;
}

describe('CowOverlay', () => {
  it('reads the base until written, then the overlay; the base never changes', async () => {
    const base = baseImage();
    const original = base.image.slice();
    const overlay = new TestDisk(256);
    const cow = await CowOverlay.open(base, overlay, new MemoryMetadataStore(), { chunkSize: CHUNK });
    expectBytes(await readAll(cow), original);
    await cow.writev(SPC, [sectors(SPC, 7)]); // exactly chunk 1
    const expected = original.slice();
    expected.set(sectors(SPC, 7), CHUNK);
    expectBytes(await readAll(cow), expected);
    expectBytes(base.image, original);
    expect(cow.dirtyChunks).toBe(1);
    expect(cow.stats().extra).toMatchObject({ cow: { copyUps: 0, dirtyChunks: 1 } });
  });

  it('copies the rest of the chunk up from the base on a partial first write', async () => {
    const base = baseImage();
    const overlay = new TestDisk(256);
    const cow = await CowOverlay.open(base, overlay, new MemoryMetadataStore(), { chunkSize: CHUNK });
    await cow.writev(SPC * 2 + 3, [sectors(2, 9)]);
    const expected = base.image.slice();
    expected.set(sectors(2, 9), (SPC * 2 + 3) * SECTOR_SIZE);
    expectBytes(await readAll(cow), expected);
    // The whole chunk lives in the overlay now.
    expectBytes(overlay.volatile.subarray(2 * CHUNK, 3 * CHUNK), expected.subarray(2 * CHUNK, 3 * CHUNK));
    expect(cow.stats().extra).toMatchObject({ cow: { copyUps: 1 } });
  });

  it('persists the dirty map only after the overlay data is durable', async () => {
    const overlay = new TestDisk(256);
    const meta = new MemoryMetadataStore();
    const cow = await CowOverlay.open(baseImage(), overlay, meta, { chunkSize: CHUNK });
    await cow.writev(0, [sectors(1, 2)]);
    expect(meta.saves).toBe(0);
    const savesAtFlushStart: number[] = [];
    const origFlush = overlay.flush.bind(overlay);
    overlay.flush = async () => {
      savesAtFlushStart.push(meta.saves);
      await origFlush();
    };
    await cow.flush();
    expect(savesAtFlushStart).toEqual([0]);
    expect(meta.saves).toBe(1);
    await cow.flush(); // nothing changed: no new save
    expect(meta.saves).toBe(1);
  });

  it('resumes the same disk when reopened, and only flushed writes survive a crash', async () => {
    const base = baseImage();
    const overlay = new TestDisk(256);
    const meta = new MemoryMetadataStore();
    const cow = await CowOverlay.open(base, overlay, meta, { chunkSize: CHUNK });
    await cow.writev(5, [sectors(3, 11)]);
    await cow.writev(40, [sectors(SPC, 12)]);
    await cow.flush();
    const flushed = await readAll(cow);
    await cow.writev(100, [sectors(1, 13)]); // not flushed; chunk 12 was clean
    const crashed = overlay.crash();
    const reopened = await CowOverlay.open(base, crashed, meta, { chunkSize: CHUNK });
    expectBytes(await readAll(reopened), flushed);
  });

  it('never exposes a non-durable copy-up after a crash, even if the map was saved later', async () => {
    // Write to a clean chunk, start a flush, and complete a second copy-up while the
    // overlay flush runs: the saved map may only name chunks covered by that flush.
    const base = baseImage();
    const overlay = new TestDisk(256, { latency: (op) => (op === 'flush' ? 6 : 1) });
    const meta = new MemoryMetadataStore();
    const cow = await CowOverlay.open(base, overlay, meta, { chunkSize: CHUNK });
    await cow.writev(1, [sectors(1, 21)]);
    const flush = cow.flush();
    const racing = cow.writev(SPC * 5 + 1, [sectors(1, 22)]);
    await Promise.all([flush, racing]);
    const crashed = overlay.crash();
    const reopened = await CowOverlay.open(base, crashed, meta, { chunkSize: CHUNK });
    const got = await readAll(reopened);
    const expected = base.image.slice();
    expected.set(sectors(1, 21), SECTOR_SIZE);
    // Chunk 5 is either entirely the base or base + the racing write, never zeros.
    const chunk5 = got.subarray(5 * CHUNK, 6 * CHUNK);
    const withRacing = base.image.slice(5 * CHUNK, 6 * CHUNK);
    withRacing.set(sectors(1, 22), SECTOR_SIZE);
    expect([...chunk5].join() === [...base.image.subarray(5 * CHUNK, 6 * CHUNK)].join() || [...chunk5].join() === [...withRacing].join()).toBe(true);
    expectBytes(got.subarray(0, CHUNK), expected.subarray(0, CHUNK));
  });

  it('refuses an overlay that belongs to another base', async () => {
    const meta = new MemoryMetadataStore();
    const cow = await CowOverlay.open(baseImage(), new TestDisk(256), meta, { chunkSize: CHUNK, baseId: 'debian-12.img' });
    await cow.writev(0, [sectors(1, 1)]);
    await cow.flush();
    const err = await CowOverlay.open(baseImage(), new TestDisk(256), meta, { chunkSize: CHUNK, baseId: 'alpine.img' }).catch((e) => e);
    expect(err).toBeInstanceOf(StorageError);
    expect(err.code).toBe('mismatch');
    expect(err.message).toMatch(/belongs to base "debian-12.img".*not "alpine.img"/);
  });

  it('refuses a damaged dirty map', async () => {
    const meta = new MemoryMetadataStore();
    const cow = await CowOverlay.open(baseImage(), new TestDisk(256), meta, { chunkSize: CHUNK });
    await cow.writev(0, [sectors(1, 1)]);
    await cow.flush();
    const bytes = (await meta.load())!;
    bytes[bytes.length - 10]! ^= 0xff;
    await meta.save(bytes);
    const err = await CowOverlay.open(baseImage(), new TestDisk(256), meta, { chunkSize: CHUNK }).catch((e) => e);
    expect(err.code).toBe('corrupt');
  });

  it('reset returns to the base durably; export yields the merged raw image', async () => {
    const base = baseImage();
    const overlay = new TestDisk(256);
    const meta = new MemoryMetadataStore();
    const cow = await CowOverlay.open(base, overlay, meta, { chunkSize: CHUNK });
    await cow.writev(17, [sectors(4, 5)]);
    const parts: Uint8Array[] = [];
    for await (const p of cow.exportRaw(10 * SECTOR_SIZE)) parts.push(p);
    const exported = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let o = 0;
    for (const p of parts) {
      exported.set(p, o);
      o += p.length;
    }
    expectBytes(exported, await readAll(cow));
    await cow.reset();
    expectBytes(await readAll(cow), base.image);
    const reopened = await CowOverlay.open(base, overlay.crash(), meta, { chunkSize: CHUNK });
    expect(reopened.dirtyChunks).toBe(0);
  });

  it('discarding whole dirty chunks falls back to the base', async () => {
    const base = baseImage();
    const cow = await CowOverlay.open(base, new TestDisk(256), new MemoryMetadataStore(), { chunkSize: CHUNK });
    await cow.writev(0, [sectors(2 * SPC, 3)]);
    await cow.discard(0, SPC + 1);
    expect(cow.isDirty(0)).toBe(false);
    expect(cow.isDirty(SPC)).toBe(true);
    const got = await readAll(cow);
    expectBytes(got.subarray(0, CHUNK), base.image.subarray(0, CHUNK));
  });

  it('keeps concurrent partial writes to one clean chunk (no lost copy-up)', async () => {
    const r = rng(7);
    for (let round = 0; round < 20; round++) {
      const base = baseImage(64);
      const cow = await CowOverlay.open(base, new TestDisk(64, { latency: () => randInt(r, 3) }), new MemoryMetadataStore(), { chunkSize: CHUNK });
      const model = base.image.slice();
      const writes: Promise<void>[] = [];
      for (let s = 0; s < SPC; s += 1 + randInt(r, 2)) {
        const data = sectors(1, round * 100 + s);
        model.set(data, s * SECTOR_SIZE);
        writes.push(cow.writev(s, [data]));
      }
      await Promise.all(writes);
      expectBytes(await readAll(cow), model);
    }
  });

  it('refuses a read-only overlay or a smaller one', async () => {
    await expect(CowOverlay.open(baseImage(), MemoryBlockDevice.create(256, { readOnly: true }), new MemoryMetadataStore())).rejects.toThrow(/must be writable/);
    await expect(CowOverlay.open(baseImage(), MemoryBlockDevice.create(128), new MemoryMetadataStore())).rejects.toThrow(/smaller than base/);
  });
});
