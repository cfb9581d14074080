// Issue #6's guest test: the Debian i386 guest under `ts86 boot --disk IMG`
// loads virtio_pci/virtio_blk/ext4 with modprobe, mounts an ext4 image the
// test made with `mkfs.ext4 -d`, reads the host's files, writes and removes
// files, runs sync and powers off. Afterwards the host image passes
// `e2fsck -fn` and holds exactly what the guest wrote.
//
// TS86_GUEST_EMULATOR=qemu runs the same flow under qemu-system-i386 with a
// modern-only virtio-blk-pci function (disable-legacy=on, as ts86 has it):
// the check that the test itself is right. The guest's driver takes MSI-X;
// TS86_GUEST_INTX=1 boots with pci=nomsi so that it uses INTA# instead.
//
// busybox's poweroff does not unmount: the file system is still marked
// mounted, so e2fsck -n skips journal recovery and checks what `sync` wrote
// to the blocks' home locations (it also notes the superblock's free counts
// lag behind, which is not an error: the exit status stays 0).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImages } from '../../scripts/images/build-images.ts';
import { hasCommand } from '../../scripts/images/exec.ts';
import type { GuestProcess } from '../../scripts/transcript/guest-process.ts';
import { IMAGES_DIR } from '../../scripts/images/config.ts';
import { readManifest } from '../../scripts/images/manifest.ts';
import { bootQemu } from '../../scripts/transcript/qemu.ts';
import { normalizeNewlines } from '../../scripts/transcript/serial-driver.ts';
import { bootTs86 } from '../../scripts/transcript/ts86.ts';
import { pseudoRandomBytes } from '../support/pseudo-random.ts';

const EMULATOR = process.env.TS86_GUEST_EMULATOR === 'qemu' ? 'qemu' : 'ts86';
/** The interpreter boots the kernel in minutes on a loaded 2-core machine; bounded so a hang fails. */
const BOOT_TIMEOUT_MS = EMULATOR === 'qemu' ? 180_000 : 30 * 60_000;
const COMMAND_TIMEOUT_MS = EMULATOR === 'qemu' ? 60_000 : 10 * 60_000;
const DISK_BYTES = 16 << 20;
const INTX = process.env.TS86_GUEST_INTX === '1';
/** TS86_GUEST_LOG=FILE appends the guest's console output to FILE as it arrives (to follow a slow boot). */
const LOG = process.env.TS86_GUEST_LOG;
const onOutput = LOG ? (text: string) => appendFileSync(LOG, text) : undefined;

function boot(disk: string): GuestProcess {
  const base = readManifest(IMAGES_DIR);
  const manifest = INTX ? { ...base, cmdline: `${base.cmdline} pci=nomsi` } : base;
  if (EMULATOR === 'qemu') {
    return bootQemu({
      manifest,
      extraArgs: ['-drive', `file=${disk},if=none,id=vblk0,format=raw`, '-device', 'virtio-blk-pci,drive=vblk0,disable-legacy=on,disable-modern=off'],
      onOutput,
    });
  }
  return bootTs86({ manifest, extraArgs: ['--disk', disk], maxSeconds: (BOOT_TIMEOUT_MS + 20 * COMMAND_TIMEOUT_MS) / 1000, onOutput });
}

/** /proc/interrupts lines of the disk: IRQ chip, handler name and count. */
function diskInterrupts(lines: string[]): { chip: string; name: string; count: number }[] {
  return lines.flatMap((l) => {
    const m = /^\s*\d+:\s+(\d+)\s+(\S+)\s.*\s(virtio0\S*)\s*$/.exec(l);
    return m ? [{ count: Number(m[1]), chip: m[2]!, name: m[3]! }] : [];
  });
}

/** An e2fsprogs tool; /sbin is often not on a non-root PATH. */
function e2fsTool(name: string): string {
  if (hasCommand(name)) return name;
  const found = ['/usr/sbin', '/sbin'].map((d) => join(d, name)).find((p) => existsSync(p));
  if (!found) throw new Error(`${name} not found: apt-get install e2fsprogs`);
  return found;
}

const md5 = (b: Uint8Array) => createHash('md5').update(b).digest('hex');

const HELLO = 'written by the host\n';
const BIG = pseudoRandomBytes(300 * 1024, 6);
const SEQ = Array.from({ length: 3000 }, (_, i) => `${i + 1}\n`).join('');

describe(`virtio-blk disk under ${EMULATOR}${INTX ? ' (INTx)' : ''}`, () => {
  let guest: GuestProcess;
  let work: string;
  let disk: string;
  /** md5 the guest computed for the random file it wrote. */
  let guestRandMd5 = '';

  /** Runs a short command (no wrapping at 80 columns) and returns its output lines, without the echo. */
  async function run(command: string): Promise<string[]> {
    const lines = normalizeNewlines(await guest.run(command, COMMAND_TIMEOUT_MS)).split('\n');
    expect(lines[0]).toContain(command);
    if (lines.at(-1) === '') lines.pop();
    return lines.slice(1);
  }

  /** Contents of a file in the host image (debugfs), as bytes. */
  function imageFile(path: string): Buffer {
    return execFileSync(e2fsTool('debugfs'), ['-R', `cat ${path}`, disk], { stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 64 << 20 });
  }

  function imageList(path: string): string[] {
    const out = execFileSync(e2fsTool('debugfs'), ['-R', `ls -p ${path}`, disk], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    // ls -p: /inode/mode/uid/gid/name/size/
    return out
      .split('\n')
      .map((l) => l.split('/')[5])
      .filter((n): n is string => !!n && n !== '.' && n !== '..' && n !== 'lost+found')
      .sort();
  }

  beforeAll(async () => {
    buildImages({ log: () => {} });
    work = mkdtempSync(join(tmpdir(), `ts86-vblk-${EMULATOR}-`));
    const content = join(work, 'content');
    mkdirSync(join(content, 'dir-to-remove'), { recursive: true });
    writeFileSync(join(content, 'hello.txt'), HELLO);
    writeFileSync(join(content, 'keep.txt'), 'stays\n');
    writeFileSync(join(content, 'remove-me.txt'), 'the guest deletes this\n');
    writeFileSync(join(content, 'dir-to-remove', 'a.txt'), 'a\n');
    writeFileSync(join(content, 'dir-to-remove', 'b.txt'), 'b\n');
    writeFileSync(join(content, 'big.bin'), BIG);
    disk = join(work, 'disk.img');
    writeFileSync(disk, new Uint8Array(0));
    // metadata_csum: mounting needs crc32c, so the module set really gets exercised.
    execFileSync(e2fsTool('mkfs.ext4'), ['-q', '-F', '-O', 'metadata_csum', '-L', 'ts86vblk', '-d', content, disk, `${DISK_BYTES >> 10}k`], {
      stdio: 'pipe',
    });
    guest = boot(disk);
    await guest.waitForShell(BOOT_TIMEOUT_MS);
  }, BOOT_TIMEOUT_MS + 60_000);

  afterAll(() => {
    guest?.kill();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('loads virtio_pci, virtio_blk and ext4, and sees a modern virtio-blk PCI disk as /dev/vda', async () => {
    expect(await run('modprobe -a virtio_pci virtio_blk ext4 && echo ok')).toEqual(['ok']);
    expect(await run('for i in 1 2 3 4 5; do [ -b /dev/vda ] && break; sleep 1; done; echo ok')).toEqual(['ok']);
    expect(await run('cat /sys/block/vda/size')).toEqual([String(DISK_BYTES / 512)]);
    // The virtio device (type 2, block) on a PCI function 1af4:1042.
    expect(await run('cd /sys/block/vda/device && cat device vendor ../vendor ../device; cd')).toEqual([
      '0x0002',
      '0x1af4',
      '0x1af4',
      '0x1042',
    ]);
  }, 4 * COMMAND_TIMEOUT_MS);

  it('mounts the ext4 image and reads the files the host put there', async () => {
    expect(await run('mount -t ext4 /dev/vda /mnt && echo ok')).toEqual(['ok']);
    expect(await run('cat /mnt/hello.txt')).toEqual([HELLO.trim()]);
    expect(await run('md5sum /mnt/big.bin')).toEqual([`${md5(BIG)}  /mnt/big.bin`]);
  }, 3 * COMMAND_TIMEOUT_MS);

  it('writes and removes files and syncs', async () => {
    expect(await run('echo from the guest > /mnt/guest.txt && echo ok')).toEqual(['ok']);
    expect(await run('mkdir /mnt/new && seq 1 3000 > /mnt/new/seq.txt && echo ok')).toEqual(['ok']);
    expect(await run('dd if=/dev/urandom of=/mnt/new/rnd.bin bs=4k count=64 2>/dev/null; echo $?')).toEqual(['0']);
    const sum = await run('md5sum /mnt/new/rnd.bin');
    expect(sum).toHaveLength(1);
    guestRandMd5 = sum[0]!.split(' ')[0]!;
    expect(guestRandMd5).toMatch(/^[0-9a-f]{32}$/);
    expect(await run('cp /mnt/big.bin /mnt/new/big-copy.bin && echo ok')).toEqual(['ok']);
    expect(await run('rm /mnt/remove-me.txt && rm -r /mnt/dir-to-remove && echo ok')).toEqual(['ok']);
    expect(await run('ls -1 /mnt')).toEqual(['big.bin', 'guest.txt', 'hello.txt', 'keep.txt', 'lost+found', 'new']);
    expect(await run('sync && echo synced')).toEqual(['synced']);
    // Completions were signalled the way the driver set up: MSI-X vectors per queue, or INTA# via the IOAPIC.
    const irqs = diskInterrupts(await run('grep virtio0 /proc/interrupts'));
    const requests = irqs.find((i) => (INTX ? i.name === 'virtio0' : i.name === 'virtio0-req.0'));
    expect(requests, JSON.stringify(irqs)).toBeDefined();
    expect(requests!.chip).toBe(INTX ? 'IO-APIC' : 'PCI-MSI');
    expect(requests!.count).toBeGreaterThan(0);
  }, 10 * COMMAND_TIMEOUT_MS);

  it('powers off with exit status 0', async () => {
    expect(await guest.powerOff(COMMAND_TIMEOUT_MS)).toEqual({ code: 0, signal: null });
  }, COMMAND_TIMEOUT_MS + 10_000);

  it('leaves a clean file system with exactly what the guest wrote', () => {
    // -f: check even though it looks clean; -n: open read-only, answer no. Exit status 0: no errors.
    const fsck = execFileSync(e2fsTool('e2fsck'), ['-fn', disk], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(fsck).toMatch(/ts86vblk: \d+\/\d+ files/);
    expect(imageList('/')).toEqual(['big.bin', 'guest.txt', 'hello.txt', 'keep.txt', 'new']);
    expect(imageList('/new')).toEqual(['big-copy.bin', 'rnd.bin', 'seq.txt']);
    expect(imageFile('/guest.txt').toString()).toBe('from the guest\n');
    expect(imageFile('/hello.txt').toString()).toBe(HELLO);
    expect(imageFile('/keep.txt').toString()).toBe('stays\n');
    expect(imageFile('/new/seq.txt').toString()).toBe(SEQ);
    expect(md5(imageFile('/new/big-copy.bin'))).toBe(md5(BIG));
    expect(md5(imageFile('/big.bin'))).toBe(md5(BIG));
    expect(md5(imageFile('/new/rnd.bin'))).toBe(guestRandMd5);
  });
});
