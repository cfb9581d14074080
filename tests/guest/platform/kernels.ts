// Builds the platform test kernels of tests/guest/asm/platform with their
// shared include inlined (so the build cache, keyed by source content, sees
// changes to the include too), and runs them under ts86 and QEMU the same way.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ASM_DIR, buildKernel, runQemu, runTs86, type GuestRun } from '../build-kernel.ts';

const PLATFORM_ASM = join(ASM_DIR, 'platform');
const SRC_CACHE = join(resolve(dirname(fileURLToPath(import.meta.url)), '../../..'), '.cache', 'guest', 'platform-src');

export function buildPlatformKernel(name: string): string {
  const inc = readFileSync(join(PLATFORM_ASM, 'platform.inc'), 'utf8');
  const src = readFileSync(join(PLATFORM_ASM, `${name}.asm`), 'utf8').replace('%include "platform.inc"', inc);
  const id = createHash('sha256').update(src).digest('hex').slice(0, 12);
  mkdirSync(SRC_CACHE, { recursive: true });
  const path = join(SRC_CACHE, `${name}-${id}.asm`);
  if (!existsSync(path)) writeFileSync(path, src);
  return buildKernel(path);
}

/** ts86 in deterministic mode (repeatable, idle time skipped), rebooting disabled as QEMU's -no-reboot. */
export function runPlatformTs86(elf: string, extra: string[] = []): Promise<GuestRun> {
  return runTs86(['run', elf, '--clock', 'deterministic', '--no-reboot', '--max-seconds', '60', ...extra], 90_000);
}

/** QEMU "pc" without the default VGA and NIC, so its PCI bus holds only the chipset. */
export function runPlatformQemu(elf: string, extra: string[] = []): Promise<GuestRun> {
  return runQemu(elf, 90_000, ['-vga', 'none', '-nic', 'none', ...extra]);
}
