// The accelerator decision: forced modes, fallback on every way /dev/kvm can
// fail, and the real probe guest under QEMU.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { bootProbeGuest, chooseAccel } from './kvm-probe.ts';

let dir: string;
let fakeDevice: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'ts86-probe-test-'));
  fakeDevice = path.join(dir, 'kvm');
  await writeFile(fakeDevice, ''); // opens read-write like a working /dev/kvm
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('chooseAccel', () => {
  it('--accel tcg and --accel kvm skip the probe', async () => {
    const bootTest = vi.fn();
    expect(await chooseAccel('tcg', { bootTest })).toMatchObject({ accel: 'tcg' });
    expect((await chooseAccel('tcg', { bootTest })).notice).toBeUndefined();
    expect(await chooseAccel('kvm', { bootTest, devicePath: '/nonexistent' })).toMatchObject({ accel: 'kvm' });
    expect(bootTest).not.toHaveBeenCalled();
  });

  it('falls back to TCG with a notice when /dev/kvm is missing', async () => {
    const bootTest = vi.fn();
    const d = await chooseAccel('auto', { devicePath: path.join(dir, 'no-such-device'), bootTest });
    expect(d.accel).toBe('tcg');
    expect(d.notice).toMatch(/KVM is not usable .*does not exist.*falling back to TCG/);
    expect(bootTest).not.toHaveBeenCalled();
  });

  it('falls back to TCG when /dev/kvm opens but the test guest fails (the nested-KVM case)', async () => {
    const bootTest = vi.fn(async () => ({ ok: false as const, reason: 'KVM internal error (emulation failure)' }));
    const d = await chooseAccel('auto', { devicePath: fakeDevice, bootTest, timeoutMs: 1234 });
    expect(bootTest).toHaveBeenCalledWith('kvm', 1234);
    expect(d.accel).toBe('tcg');
    expect(d.notice).toContain('KVM internal error');
  });

  it('uses KVM when the device opens and the test guest runs', async () => {
    const d = await chooseAccel('auto', { devicePath: fakeDevice, bootTest: async () => ({ ok: true, ms: 42 }) });
    expect(d).toMatchObject({ accel: 'kvm' });
    expect(d.notice).toBeUndefined();
  });
});

describe('the real probe guest', () => {
  it('runs to its exit port under TCG (so a KVM failure is KVM, not the guest)', async () => {
    expect(await bootProbeGuest('tcg', 20_000)).toMatchObject({ ok: true });
  });

  it('reports a QEMU that cannot start as a failure with its reason', async () => {
    const r = await bootProbeGuest('nonsense-accel' as 'tcg', 20_000);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(/QEMU ended with status 1: .*accelerator/i);
  });

  it('on this host, auto mode gives a consistent decision', async () => {
    const d = await chooseAccel('auto', { timeoutMs: 15_000 });
    // This project's CI has a /dev/kvm whose guests die with "KVM internal
    // error": there the probe must fall back, with the reason in the notice.
    if (d.accel === 'tcg') expect(d.notice).toMatch(/KVM is not usable/);
    else expect(d.notice).toBeUndefined();
  }, 30_000);
});
