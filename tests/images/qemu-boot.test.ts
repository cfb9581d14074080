// Boots the default images in QEMU TCG, the reference machine: the shell comes
// up on ttyS0, the workload's transcript matches the committed fixture, the
// shipped modules load and really drive a virtio disk with ext4 on it, Ctrl-C
// reaches the foreground job, and a plain `poweroff` ends QEMU with status 0.
// Builds the images first if they are missing or stale (a fresh clone).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImages } from '../../scripts/images/build-images.ts';
import { hasCommand } from '../../scripts/images/exec.ts';
import { type QemuGuest, bootQemu } from '../../scripts/transcript/qemu.ts';
import { normalizeNewlines } from '../../scripts/transcript/serial-driver.ts';
import { QEMU_FIXTURE_PATH, runWorkload } from '../../scripts/transcript/workload.ts';

const HOST_NOTE = 'written by the host\n';

/** An e2fsprogs tool; /sbin is often not on a non-root PATH. */
function e2fsTool(name: string): string {
  if (hasCommand(name)) return name;
  const found = ['/usr/sbin', '/sbin'].map((d) => join(d, name)).find((p) => existsSync(p));
  if (!found) throw new Error(`${name} not found: apt-get install e2fsprogs`);
  return found;
}

/** Output of a command typed with echo on: the echoed command line, then what it printed. */
function commandLines(raw: string, command: string): string[] {
  const lines = normalizeNewlines(raw).split('\n');
  expect(lines[0]).toContain(command); // the shell's echo (after any terminal query it sent)
  if (lines.at(-1) === '') lines.pop();
  return lines.slice(1);
}

describe('default images in QEMU TCG', () => {
  let guest: QemuGuest;
  let work: string;
  let disk: string;

  beforeAll(async () => {
    buildImages({ log: () => {} });
    // A small ext4 disk (with metadata_csum, so mounting needs crc32c) for the virtio-blk check.
    work = mkdtempSync(join(tmpdir(), 'ts86-qemu-'));
    const content = join(work, 'content');
    mkdirSync(content);
    writeFileSync(join(content, 'hello.txt'), HOST_NOTE);
    disk = join(work, 'disk.img');
    execFileSync(e2fsTool('mkfs.ext4'), ['-q', '-F', '-O', 'metadata_csum', '-L', 'ts86test', '-d', content, disk, '8M'], { stdio: 'pipe' });
    guest = bootQemu({ extraArgs: ['-drive', `file=${disk},if=virtio,format=raw`] });
    await guest.waitForShell(120_000);
  }, 600_000);

  afterAll(() => {
    guest?.kill();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('has a shell that does arithmetic', async () => {
    expect(commandLines(await guest.run('echo $((6*7))'), 'echo $((6*7))')).toEqual(['42']);
  });

  it('prints the committed reference transcript for the workload', async () => {
    const transcript = await runWorkload(guest.console, { prompt: guest.manifest.prompt });
    expect(transcript).toBe(readFileSync(QEMU_FIXTURE_PATH, 'utf8'));
  });

  it('loads virtio_blk and ext4 with modprobe and mounts an ext4 virtio disk', async () => {
    // Commands stay short: a line that wraps at the shell's 80 columns comes
    // back with line-editing redraws in its echo.
    const run = async (command: string) => commandLines(await guest.run(command, 30_000), command);
    // virtio_pci binds the PCI function; virtio_blk then creates /dev/vda.
    expect(await run('modprobe virtio_pci && modprobe virtio_blk && echo ok')).toEqual(['ok']);
    expect(await run('modprobe ext4 && echo ok')).toEqual(['ok']);
    const loaded = (await run('cut -d" " -f1 /proc/modules | sort | paste -s -d" "'))[0]!.split(' ');
    for (const m of ['virtio', 'virtio_ring', 'virtio_pci', 'virtio_blk', 'ext4', 'jbd2', 'mbcache', 'crc16', 'crc32c_generic']) {
      expect(loaded).toContain(m);
    }
    expect(await run('mount -t ext4 /dev/vda /mnt && cat /mnt/hello.txt')).toEqual([HOST_NOTE.trim()]);
    expect(await run('echo from the guest > /mnt/guest.txt && umount /mnt && echo ok')).toEqual(['ok']);
  });

  it('delivers Ctrl-C to the foreground job', async () => {
    await guest.console.typeLine('echo sleeping; sleep 120');
    await guest.console.waitFor('sleeping\r\n', 30_000);
    // Give the shell a moment to start sleep as the foreground job.
    await new Promise((r) => setTimeout(r, 500));
    await guest.console.write('\x03');
    await guest.console.waitFor(guest.manifest.prompt, 20_000);
    expect(commandLines(await guest.run('echo $?'), 'echo $?')).toEqual(['130']);
  });

  it('powers off on a plain `poweroff`, QEMU exiting with status 0, the disk clean', async () => {
    expect(await guest.powerOff(60_000)).toEqual({ code: 0, signal: null });
    expect(execFileSync(e2fsTool('debugfs'), ['-R', 'cat /guest.txt', disk], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })).toBe(
      'from the guest\n',
    );
  });
});
