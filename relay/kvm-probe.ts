// Decides between KVM and TCG by trying KVM for real. A /dev/kvm that exists
// proves little: on nested or misconfigured hosts it opens fine and QEMU
// starts, then the guest dies on its first interrupt with "KVM internal
// error" (this is what happens on this project's own CI machines). So the
// probe (1) opens /dev/kvm read-write, as QEMU will, and (2) boots the
// generated probe guest (guest/test-guests.ts) under KVM with the same QEMU
// command line real VMs get, requiring it to run to its exit port within a
// timeout. Any failure means TCG, with a notice saying why.

import { spawn } from 'node:child_process';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DEBUG_EXIT_DEVICE, PROBE_EXIT_STATUS, PROBE_MARKER, probeGuestElf } from './guest/test-guests.ts';
import type { Accel, Arch } from './protocol.ts';
import { buildQemuArgs, qemuBinary } from './qemu-args.ts';

export type AccelMode = 'auto' | Accel;

export interface AccelDecision {
  accel: Accel;
  /** Why this is not what was hoped for (shown to the operator and to clients). */
  notice?: string;
  /** How the decision was made, for the log. */
  detail: string;
}

export type BootTestResult = { ok: true; ms: number } | { ok: false; reason: string };

export interface ProbeOptions {
  devicePath?: string;
  timeoutMs?: number;
  arch?: Arch;
  /** Replaces the real guest boot (unit tests of the decision logic). */
  bootTest?: (accel: Accel, timeoutMs: number) => Promise<BootTestResult>;
}

export const DEFAULT_PROBE_TIMEOUT_MS = 8000;

export async function chooseAccel(mode: AccelMode, opts: ProbeOptions = {}): Promise<AccelDecision> {
  if (mode === 'tcg') return { accel: 'tcg', detail: 'TCG chosen with --accel tcg' };
  if (mode === 'kvm') return { accel: 'kvm', detail: 'KVM forced with --accel kvm (not probed)' };
  const devicePath = opts.devicePath ?? '/dev/kvm';
  const timeoutMs = opts.timeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS;
  const fallback = (reason: string): AccelDecision => ({
    accel: 'tcg',
    notice: `KVM is not usable (${reason}); falling back to TCG, QEMU's software emulation, which is several times slower`,
    detail: `probe failed: ${reason}`,
  });

  const openError = await tryOpenDevice(devicePath);
  if (openError) return fallback(openError);
  const boot = await (opts.bootTest ?? ((accel, ms) => bootProbeGuest(accel, ms, opts.arch)))('kvm', timeoutMs);
  if (!boot.ok) return fallback(`the KVM test guest failed: ${boot.reason}`);
  return { accel: 'kvm', detail: `probe guest ran under KVM in ${boot.ms} ms` };
}

async function tryOpenDevice(devicePath: string): Promise<string | null> {
  try {
    const fh = await open(devicePath, 'r+');
    await fh.close();
    return null;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return `${devicePath} does not exist: no hardware virtualization, or the kvm module is not loaded`;
    if (code === 'EACCES' || code === 'EPERM') return `no permission to open ${devicePath}: add this user to the "kvm" group`;
    return `cannot open ${devicePath}: ${(e as Error).message}`;
  }
}

/**
 * Boots the probe guest under `accel` and checks it reached its exit port.
 * Exported so tests can run the same check under TCG, proving the guest and
 * this harness work at all, independently of the host's KVM.
 */
export async function bootProbeGuest(accel: Accel, timeoutMs: number, arch: Arch = 'i386'): Promise<BootTestResult> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ts86-probe-'));
  try {
    const kernel = path.join(dir, 'probe.elf');
    await writeFile(kernel, probeGuestElf());
    const args = buildQemuArgs(
      { arch, accel, kernel, memoryMiB: 16, noReboot: true, network: 'none', extraArgs: DEBUG_EXIT_DEVICE },
      { sandbox: true, startPaused: false },
    );
    return await runProbe(qemuBinary(arch), args, timeoutMs);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function runProbe(binary: string, args: string[], timeoutMs: number): Promise<BootTestResult> {
  const started = performance.now();
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    let verdict: BootTestResult | null = null;
    const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const finish = (r: BootTestResult) => {
      verdict ??= r;
      child.kill('SIGKILL');
    };
    const timer = setTimeout(() => finish({ ok: false, reason: `it did not finish within ${timeoutMs} ms` }), timeoutMs);
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => {
      stderr += s;
      // QEMU freezes the VM rather than exiting on this; no need to wait out the timeout.
      if (/KVM internal error/i.test(stderr)) finish({ ok: false, reason: 'KVM internal error (emulation failure)' });
    });
    child.on('error', (e) => finish({ ok: false, reason: `cannot run ${binary}: ${e.message}` }));
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (!verdict) {
        const ran = code === PROBE_EXIT_STATUS && stdout.includes(PROBE_MARKER);
        verdict = ran
          ? { ok: true, ms: Math.round(performance.now() - started) }
          : { ok: false, reason: `QEMU ended with ${signal ?? `status ${code}`}${stderr.trim() ? `: ${lastLine(stderr)}` : ''}` };
      }
      resolve(verdict);
    });
  });
}

function lastLine(s: string): string {
  const lines = s.trim().split('\n');
  return lines[lines.length - 1]!.trim();
}
