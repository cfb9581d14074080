import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CachedBlockDevice } from '../../src/storage/cache/block-cache.ts';
import { JournalAwarePolicy } from '../../src/storage/journal/policy.ts';
import { SECTOR_SIZE } from '../../src/storage/block-device.ts';
import { TestDisk, sectors } from './fakes.ts';
import { haveE2fsprogs, makeFs } from './ext4-images.ts';

let dir: string;
let ext4: Uint8Array;
beforeAll(async () => {
  if (!haveE2fsprogs()) throw new Error('e2fsprogs (mke2fs, debugfs) is required: apt-get install e2fsprogs');
  dir = await mkdtemp(join(tmpdir(), 'ts86-policy-'));
  makeFs(join(dir, 'fs.img'), '16M', ['-t', 'ext4', '-b', '4096']);
  ext4 = new Uint8Array(await readFile(join(dir, 'fs.img')));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function stack(image: Uint8Array | null, enabled = true) {
  const capacity = (image?.length ?? 16 << 20) / SECTOR_SIZE;
  const disk = new TestDisk(capacity, {}, image ?? undefined);
  const cache = new CachedBlockDevice(disk, { budgetBytes: 1 << 20 });
  const logs: string[] = [];
  const policy = await JournalAwarePolicy.attach(cache, { cache, enabled, log: (m) => logs.push(m) });
  return { disk, cache, policy, logs };
}

describe('JournalAwarePolicy', () => {
  it('finds the journal at attach and logs it', async () => {
    const { policy, logs } = await stack(ext4);
    const s = policy.policyStats();
    expect(s.active).toBe(true);
    expect(s.journals).toHaveLength(1);
    expect(s.journals[0]!.bytes).toBe(4 << 20);
    expect(policy.journalRanges.every((r) => r.end <= 20000)).toBe(true); // the sectors the tests below use are outside
    expect(logs[0]).toMatch(/journal-aware policy active on cache: 4 MiB ext4 journal \(inode 8\) on whole disk/);
  });

  it('writes journal blocks through without caching them; other writes stay in the cache until flush', async () => {
    const { disk, cache, policy } = await stack(ext4);
    const jStart = policy.journalRanges[0]!.start;
    disk.log.length = 0;
    await policy.writev(jStart + 8, [sectors(8, 3)]);
    expect(cache.isCached(jStart + 8)).toBe(false);
    expect(disk.log).toEqual([`write ${jStart + 8}+8`]); // reached the disk immediately
    await policy.writev(20000, [sectors(8, 4)]);
    expect(cache.isCached(20000)).toBe(true);
    expect(disk.log).toHaveLength(1);
    expect(policy.policyStats()).toMatchObject({ journalWrites: 1, journalBytes: 4096, cachedWrites: 1 });
    expect(cache.cacheStats().bypassedWriteBytes).toBe(4096);
  });

  it('drops a write immediately followed by a flush from the cache once durable', async () => {
    const { disk, cache, policy } = await stack(ext4);
    await policy.writev(20008, [sectors(8, 1)]);
    await policy.writev(20016, [sectors(8, 2)]);
    await policy.flush();
    expect(cache.isCached(20008)).toBe(true); // followed by another write, not by the flush
    expect(cache.isCached(20016)).toBe(false);
    expect(disk.durable.subarray(20016 * SECTOR_SIZE, 20024 * SECTOR_SIZE)).toEqual(sectors(8, 2));
    expect(policy.policyStats().syncWritesDemoted).toBe(1);
  });

  it('sends FUA writes down write-through and durable', async () => {
    const { disk, cache, policy } = await stack(ext4);
    await policy.writev(20032, [sectors(8, 6)], { fua: true });
    expect(cache.isCached(20032)).toBe(false);
    expect(disk.durable.subarray(20032 * SECTOR_SIZE, 20040 * SECTOR_SIZE)).toEqual(sectors(8, 6));
    expect(policy.policyStats().fuaWrites).toBe(1);
  });

  it('caches everything when switched off', async () => {
    const { cache, policy } = await stack(ext4, false);
    const jStart = policy.journalRanges[0]!.start;
    await policy.writev(jStart, [sectors(8, 3)]);
    expect(cache.isCached(jStart)).toBe(true);
    policy.setEnabled(true);
    await policy.writev(jStart + 64, [sectors(8, 3)]);
    expect(cache.isCached(jStart + 64)).toBe(false);
  });

  it('is inactive with a logged reason on a blank disk, and rescans after the guest formats it', async () => {
    const { policy, logs } = await stack(null);
    expect(policy.policyStats()).toMatchObject({ active: false, inactiveReason: 'whole disk: no ext2/3/4 superblock; no partition table' });
    expect(logs[0]).toMatch(/inactive on cache: whole disk: no ext2\/3\/4 superblock/);
    // "mkfs" in the guest: the image is written, then flushed.
    for (let off = 0; off < ext4.length; off += 1 << 20) {
      const piece = ext4.subarray(off, off + (1 << 20));
      if (piece.some((b) => b !== 0)) await policy.writev(off / SECTOR_SIZE, [piece]);
    }
    await policy.flush();
    expect(policy.policyStats()).toMatchObject({ active: true, scans: 2 });
  });

  it('is inactive, never failing, on a garbage superblock', async () => {
    const junk = ext4.slice();
    junk[1024 + 0x18] = 40; // absurd block size
    const { policy } = await stack(junk);
    expect(policy.policyStats().inactiveReason).toMatch(/damaged metadata: superblock block size/);
    const buf = new Uint8Array(SECTOR_SIZE);
    await policy.readv(0, [buf]); // the disk still works
  });
});
