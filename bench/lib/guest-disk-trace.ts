// A real guest's disk I/O, for the cache benchmarks: the Debian guest under
// `ts86 boot --disk IMG --disk-trace FILE` mounts an ext4 image and copies,
// reads back (with its page cache dropped) and deletes files, with syncs in
// between and many small synchronous writes, so the trace carries ext4's own
// journal commits, flushes and metadata traffic. The pristine image and the trace are cached under
// .cache/bench/ (keyed by the guest images and this workload), since
// recording takes a few minutes of emulated Linux.
//
// replayTrace() plays the requests, in order, against a journal-aware policy
// over an LRU cache over the pristine image in memory. The trace has no data,
// so a write writes back the pristine bytes of its sectors: the image (and the
// superblock the policy parses) stays valid, and the cache sees the same
// requests, sizes and order as under the guest.

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildImages } from '../../scripts/images/build-images.ts';
import { IMAGES_DIR, REPO_ROOT } from '../../scripts/images/config.ts';
import { bootTs86 } from '../../scripts/transcript/ts86.ts';
import { MemoryBlockDevice } from '../../src/storage/backends/memory.ts';
import { SECTOR_SIZE } from '../../src/storage/block-device.ts';
import { CachedBlockDevice, type CacheStats } from '../../src/storage/cache/block-cache.ts';
import { JournalAwarePolicy } from '../../src/storage/journal/policy.ts';
import { parseDiskTrace, type DiskTraceRecord } from '../../src/storage/trace.ts';
import { pseudoRandomBytes } from '../../tests/support/pseudo-random.ts';

const IMAGE_MIB = 96;
const CACHE_DIR = join(REPO_ROOT, '.cache', 'bench');

/** What the guest does; part of the cache key, so editing it records a new trace. */
const WORKLOAD = [
  'modprobe -a virtio_pci virtio_blk ext4 && echo ok',
  'for i in 1 2 3 4 5; do [ -b /dev/vda ] && break; sleep 1; done; echo ok',
  'mount -t ext4 /dev/vda /mnt && echo ok',
  ...[1, 2, 3].flatMap((round) => [
    // Bulk data: copied, then read back cold (the guest's page cache dropped, as under memory pressure).
    `cp -r /mnt/src /mnt/copy${round} && sync && echo ok`,
    `echo 3 > /proc/sys/vm/drop_caches; cat /mnt/src/* /mnt/copy${round}/* | md5sum`,
    // Small synchronous writes: every sync is a journal commit (a mail spool, a database log).
    `for i in $(seq 1 150); do echo $i > /mnt/small$i; sync; done; echo ok`,
    // Metadata and a hot subset of files, read cold again.
    `echo 3 > /proc/sys/vm/drop_caches; ls -lR /mnt | md5sum; cat /mnt/src/file1* | md5sum`,
    `rm -rf /mnt/copy${round} /mnt/small* && sync && echo ok`,
  ]),
  'umount /mnt && echo ok',
];

export interface GuestTrace {
  /** The ext4 image as it was before the guest ran. */
  image: Uint8Array;
  records: DiskTraceRecord[];
}

function makeImage(dir: string): string {
  const content = join(dir, 'content');
  mkdirSync(join(content, 'src'), { recursive: true });
  // Sizes from a few KiB to 1 MiB, as a source tree with some binaries would have.
  for (let i = 0; i < 60; i++) writeFileSync(join(content, 'src', `file${i}.bin`), pseudoRandomBytes(((i * 7919) % 64) * 1024 + 3000 + (i % 10 === 0 ? 512 << 10 : 0), i));
  const img = join(dir, 'disk.img');
  execFileSync('mke2fs', ['-q', '-F', '-t', 'ext4', '-d', content, img, `${IMAGE_MIB}M`], { stdio: 'pipe' });
  return img;
}

export async function guestDiskTrace(log: (m: string) => void = () => {}): Promise<GuestTrace> {
  const manifest = buildImages({ log: () => {} });
  const key = createHash('sha256').update(JSON.stringify({ manifest, WORKLOAD, IMAGE_MIB, content: makeImage.toString(), v: 1 })).digest('hex').slice(0, 16);
  const dir = join(CACHE_DIR, `guest-disk-${key}`);
  const pristine = join(dir, 'pristine.img');
  const tracePath = join(dir, 'trace.jsonl');
  if (!existsSync(tracePath)) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const img = makeImage(dir);
    writeFileSync(pristine, readFileSync(img));
    log('recording a guest disk trace (Debian under ts86: boot, then the file workload; a few minutes)...');
    const partial = join(dir, 'trace.partial');
    const guest = bootTs86({ imagesDir: IMAGES_DIR, extraArgs: ['--disk', img, '--disk-trace', partial], maxSeconds: 3600 });
    try {
      await guest.waitForShell(30 * 60_000);
      for (const command of WORKLOAD) {
        const out = await guest.run(command, 15 * 60_000);
        log(`  ${command.slice(0, 60)} -> ${out.split('\n').slice(1).join(' ').trim().slice(0, 40)}`);
      }
      await guest.powerOff(120_000);
    } finally {
      guest.kill();
    }
    renameSync(partial, tracePath);
    rmSync(img);
  }
  return { image: new Uint8Array(readFileSync(pristine)), records: parseDiskTrace(readFileSync(tracePath, 'utf8')) };
}

export interface ReplayResult {
  cache: CacheStats;
  /** Read lookups that hit, over all read lookups (blocks). */
  hitRate: number;
  journalWrites: number;
  requests: number;
}

/** Replays the trace in order (one request at a time) through policy → cache → the image in memory. */
export async function replayTrace(trace: GuestTrace, options: { cacheBytes: number; journalPolicy: boolean }): Promise<ReplayResult> {
  const disk = MemoryBlockDevice.fromImage(trace.image.slice());
  const cache = new CachedBlockDevice(disk, { budgetBytes: options.cacheBytes });
  const policy = await JournalAwarePolicy.attach(cache, { cache, enabled: options.journalPolicy, log: () => {} });
  if (options.journalPolicy && policy.journalRanges.length === 0) throw new Error(`no ext4 journal found: ${policy.policyStats().inactiveReason}`);
  const before = cache.cacheStats();
  let buf = new Uint8Array(64 * 1024);
  for (const r of trace.records) {
    const bytes = r.count * SECTOR_SIZE;
    if (bytes > buf.length) buf = new Uint8Array(bytes);
    const view = buf.subarray(0, bytes);
    switch (r.op) {
      case 'read': await policy.readv(r.sector, [view]); break;
      case 'write':
        view.set(trace.image.subarray(r.sector * SECTOR_SIZE, r.sector * SECTOR_SIZE + bytes));
        await policy.writev(r.sector, [view], r.fua ? { fua: true } : {});
        break;
      case 'flush': await policy.flush(); break;
      case 'discard': await policy.discard(r.sector, r.count); break;
    }
  }
  await policy.flush();
  const after = cache.cacheStats();
  const hits = after.hits - before.hits;
  const misses = after.misses - before.misses;
  return { cache: after, hitRate: hits / Math.max(1, hits + misses), journalWrites: policy.policyStats().journalWrites, requests: trace.records.length };
}
