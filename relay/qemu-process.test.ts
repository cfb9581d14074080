// The launcher with real QEMU (TCG) and the generated echo guest, which boots
// in milliseconds: console both ways, QMP stop/cont/reset, exits, failures,
// and no orphans when the relay itself is killed.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RelayError } from './errors.ts';
import { ECHO_GUEST_BANNER } from './guest/test-guests.ts';
import type { VmSpec } from './qemu-args.ts';
import { launchQemu, type QemuProcess } from './qemu-process.ts';
import { writeEchoGuest } from './test-support/echo-guest-file.ts';
import { processAlive, sleep, TextCollector, waitUntil } from './test-support/text-collector.ts';

let dir: string;
let spec: VmSpec;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'ts86-qemu-test-'));
  spec = { arch: 'i386', accel: 'tcg', kernel: await writeEchoGuest(dir), memoryMiB: 16, noReboot: false, network: 'none' };
});
afterAll(() => rm(dir, { recursive: true, force: true }));

function attach(vm: QemuProcess): TextCollector {
  const out = new TextCollector();
  vm.onSerial((d) => out.push(d));
  return out;
}

describe('launchQemu', () => {
  it('bridges COM1 both ways and obeys QMP stop, cont and system_reset', async () => {
    const vm = await launchQemu(spec);
    try {
      const out = attach(vm);
      // Started paused (-S): nothing runs until cont.
      expect(await vm.qmp.execute('query-status')).toMatchObject({ status: 'prelaunch' });
      await vm.qmp.execute('cont');
      await out.waitFor(ECHO_GUEST_BANNER, 10_000);
      vm.writeSerial(Buffer.from('abc'));
      await out.waitFor('abc', 5000, out.all.indexOf(ECHO_GUEST_BANNER) + ECHO_GUEST_BANNER.length);

      await vm.qmp.execute('stop');
      const mark = out.mark();
      vm.writeSerial(Buffer.from('xyz'));
      await sleep(700);
      expect(out.since(mark)).toBe(''); // a stopped vCPU echoes nothing
      await vm.qmp.execute('cont');
      await out.waitFor('xyz', 5000, mark);

      const beforeReset = out.mark();
      await vm.qmp.execute('system_reset');
      await out.waitFor(ECHO_GUEST_BANNER, 10_000, beforeReset); // booted again
    } finally {
      const exit = await vm.stop();
      expect(exit).toMatchObject({ code: 0, signal: null });
    }
  });

  it('removes its temp directory when QEMU ends, however it ends', async () => {
    const vm = await launchQemu(spec);
    expect(existsSync(vm.tempDir)).toBe(true);
    vm.kill('SIGKILL');
    const exit = await vm.exited;
    expect(exit.signal).toBe('SIGKILL');
    expect(existsSync(vm.tempDir)).toBe(false);
  });

  it('reports a kernel QEMU cannot load as qemu-failed with QEMU\'s own words', async () => {
    const bogus = path.join(dir, 'not-a-kernel');
    await writeFile(bogus, 'garbage');
    const err = await launchQemu({ ...spec, kernel: bogus }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RelayError);
    expect((err as RelayError).code).toBe('qemu-failed');
    expect((err as RelayError).message).toMatch(/QEMU exited during start-up .*: .*(kernel|linux)/i);
  });

  it('reports a missing QEMU binary', async () => {
    const err = await launchQemu(spec, { binary: 'qemu-system-does-not-exist' }).catch((e: unknown) => e);
    expect((err as RelayError).code).toBe('qemu-failed');
    expect((err as RelayError).message).toMatch(/qemu-system-does-not-exist/);
  });

  it('leaves no orphan QEMU when the relay process is killed with SIGKILL', async () => {
    const tmp = path.join(dir, 'orphan-tmp');
    await mkdir(tmp);
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, 'test-support', 'orphan-check.ts')], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, TMPDIR: tmp },
    });
    const out = new TextCollector();
    child.stdout.on('data', (d: Buffer) => out.push(d));
    const pid = Number((await out.waitFor(/^\d+\n/, 30_000)).trim());
    expect(processAlive(pid)).toBe(true);
    child.kill('SIGKILL');
    await waitUntil(() => !processAlive(pid), 5000, `QEMU ${pid} is gone`);
  }, 40_000);
});
