// `ts86 boot --disk FILE`: repeated --disk options, and the refusals for
// images that cannot be used (each names the file and says why).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.ts';
import { parseCli } from '../../src/cli/args.ts';

describe('ts86 boot --disk', () => {
  let dir: string;
  let stderr: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ts86-disk-cli-'));
    stderr = '';
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stderr += String(chunk);
      return true;
    });
  });
  afterEach(() => {
    vi.restoreAllMocks();
    rmSync(dir, { recursive: true, force: true });
  });

  const boot = (...disks: string[]) => main(['boot', '--kernel', join(dir, 'no-kernel'), ...disks.flatMap((d) => ['--disk', d])]);

  it('collects every --disk in order', () => {
    expect(parseCli(['boot', '--kernel', 'k', '--disk', 'a.img', '--memory', '64', '--disk=b.img']).disks).toEqual(['a.img', 'b.img']);
    expect(parseCli(['boot', '--kernel', 'k']).disks).toEqual([]);
  });

  it('refuses a missing image', async () => {
    expect(await boot(join(dir, 'missing.img'))).toBe(1);
    expect(stderr).toMatch(/cannot use disk image ".*missing\.img": Not found/);
  });

  it('refuses an image whose size is not a whole number of sectors', async () => {
    const img = join(dir, 'odd.img');
    writeFileSync(img, new Uint8Array(1000));
    expect(await boot(img)).toBe(1);
    expect(stderr).toMatch(/odd\.img.*1000 bytes, not a whole number of 512-byte sectors/);
  });

  it('refuses a directory, and the same image twice', async () => {
    const sub = join(dir, 'sub');
    mkdirSync(sub);
    expect(await boot(sub)).toBe(1);
    expect(stderr).toMatch(/cannot use disk image ".*sub"/);
    const img = join(dir, 'a.img');
    writeFileSync(img, new Uint8Array(4096));
    stderr = '';
    expect(await boot(img, img)).toBe(1);
    expect(stderr).toMatch(/given twice/);
  });

  it('opens good images before reporting the next problem (the kernel here)', async () => {
    const a = join(dir, 'a.img');
    const b = join(dir, 'b.img');
    writeFileSync(a, new Uint8Array(4096));
    writeFileSync(b, new Uint8Array(8192));
    expect(await boot(a, b)).toBe(1);
    expect(stderr).toMatch(/cannot read kernel/);
  });
});

describe('Pc.attachDisk queues (ts86 boot --disk-queues)', () => {
  it('gives the disk that many request queues and offers VIRTIO_BLK_F_MQ', async () => {
    const { Pc } = await import('../../src/machine/pc.ts');
    const { MemoryBlockDevice } = await import('../../src/storage/backends/memory.ts');
    const { BlkConfigOffset } = await import('../../src/devices/virtio/blk-config.ts');
    const { BLK_F_MQ, featureBit } = await import('../../src/devices/virtio/constants.ts');
    const pc = new Pc({ memoryMiB: 16 });
    pc.attachDisk(MemoryBlockDevice.create(64), { queues: 4 });
    pc.attachDisk(MemoryBlockDevice.create(64));
    const [mq, single] = pc.disks.map((d) => d.blk);
    expect(mq!.readConfig(BlkConfigOffset.numQueues, 2)).toBe(4);
    expect(mq!.offered & featureBit(BLK_F_MQ)).not.toBe(0n);
    expect(single!.readConfig(BlkConfigOffset.numQueues, 2)).toBe(1);
    expect(single!.offered & featureBit(BLK_F_MQ)).toBe(0n);
  });
});
