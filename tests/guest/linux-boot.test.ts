// Issue #4's transcript test: Debian's i386 kernel and the busybox initramfs
// boot under `ts86 boot` to a shell; the scripted workload prints exactly what
// qemu-system-i386 -M pc (TCG) printed for the same images (the committed
// fixture, re-recorded by scripts/transcript/record-qemu.ts); then a plain
// `poweroff` ends ts86 with status 0.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImages } from '../../scripts/images/build-images.ts';
import type { GuestProcess } from '../../scripts/transcript/guest-process.ts';
import { bootTs86 } from '../../scripts/transcript/ts86.ts';
import { normalizeNewlines } from '../../scripts/transcript/serial-driver.ts';
import { QEMU_FIXTURE_PATH, runWorkload } from '../../scripts/transcript/workload.ts';

/** The interpreter boots the kernel in minutes on a loaded 2-core machine; bounded so a hang fails. */
const BOOT_TIMEOUT_MS = 15 * 60_000;

describe('Debian i386 under ts86 boot', () => {
  let guest: GuestProcess;

  beforeAll(async () => {
    buildImages({ log: () => {} });
    guest = bootTs86({ maxSeconds: BOOT_TIMEOUT_MS / 1000 + 600 });
    await guest.waitForShell(BOOT_TIMEOUT_MS);
  }, BOOT_TIMEOUT_MS + 60_000);

  afterAll(() => guest?.kill());

  it('has a shell that does arithmetic', async () => {
    const out = normalizeNewlines(await guest.run('echo $((6*7))', 120_000)).split('\n');
    expect(out).toContain('42');
  }, 180_000);

  it('prints the workload transcript QEMU printed, line for line', async () => {
    const transcript = await runWorkload(guest.console, { prompt: guest.manifest.prompt, timeoutMs: 300_000 });
    expect(transcript.split('\n')).toEqual(readFileSync(QEMU_FIXTURE_PATH, 'utf8').split('\n'));
  }, 1_800_000);

  it('powers off with exit status 0', async () => {
    const exit = await guest.powerOff(300_000);
    expect(exit).toEqual({ code: 0, signal: null });
  }, 360_000);
});
