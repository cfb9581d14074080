// Builds the system-level test kernels (tests/guest/asm/system/*.asm) and
// runs one under `ts86 run` and under qemu-system-i386 side by side.
// buildKernel's cache key covers the .inc files next to hello.asm only, so
// a small wrapper source whose name carries a hash of the kernel and of the
// system includes makes an edit to either rebuild the kernel.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ASM_DIR, buildKernel, runTs86, type GuestRun } from '../build-kernel.ts';

const SYSTEM_ASM = join(ASM_DIR, 'system');
const WRAPPERS = join(ASM_DIR, '..', '..', '..', '.cache', 'guest', 'system');

export function buildSystemKernel(name: string): string {
  const asm = join(SYSTEM_ASM, `${name}.asm`);
  const hash = createHash('sha256');
  hash.update(readFileSync(asm));
  for (const f of readdirSync(SYSTEM_ASM).sort()) {
    if (f.endsWith('.inc')) hash.update(readFileSync(join(SYSTEM_ASM, f)));
  }
  mkdirSync(WRAPPERS, { recursive: true });
  const wrapper = join(WRAPPERS, `${name}-${hash.digest('hex').slice(0, 12)}.asm`);
  if (!existsSync(wrapper)) writeFileSync(wrapper, `%include "${asm}"\n`);
  return buildKernel(wrapper);
}

export interface SideBySide { ts86: GuestRun; qemu: GuestRun }

/**
 * QEMU the way build-kernel.ts's runQemu runs it, but with stdin on
 * /dev/null: with `-serial stdio`, a stdin pipe that is closed at once makes
 * QEMU 7.2 drop serial output now and then (its stdio chardev sees the
 * hang-up), which these long transcripts hit under load.
 */
function runQemuQuiet(elf: string, extra: string[]): Promise<GuestRun> {
  return new Promise((resolveRun) => {
    const child = spawn('qemu-system-i386', [
      '-M', 'pc', '-accel', 'tcg', '-m', '128', '-kernel', elf, '-display', 'none', '-serial', 'stdio', '-monitor', 'none',
      '-no-reboot', '-device', 'isa-debug-exit,iobase=0xf4,iosize=4', ...extra,
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolveRun({ stdout, stderr, status });
    });
  });
}

/** Runs the kernel under both emulators. `qemuExtra` adds QEMU options (e.g. a -cpu with NX). */
export async function runBoth(elf: string, opts: { ts86Extra?: string[]; qemuExtra?: string[] } = {}): Promise<SideBySide> {
  const [ts86, qemu] = await Promise.all([
    runTs86(['run', elf, '--max-seconds', '30', ...(opts.ts86Extra ?? [])]),
    runQemuQuiet(elf, opts.qemuExtra ?? []),
  ]);
  return { ts86, qemu };
}

/** The exit status a kernel gets when it reports success (EXIT_PASS in sys.inc). */
export const PASS_STATUS = (0x10 << 1) | 1;
