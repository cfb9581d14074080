// Assembles and links our bare-metal multiboot test kernels (nasm + ld),
// caching the result by source content under .cache/guest/.
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve, basename } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ASM_DIR = join(dirname(fileURLToPath(import.meta.url)), 'asm');
const ROOT = resolve(ASM_DIR, '../../..');
const CACHE = join(ROOT, '.cache', 'guest');
export const TS86_BIN = join(ROOT, 'bin', 'ts86.js');

/** Builds `name.asm` from tests/guest/asm (or an absolute path) into an ELF kernel; returns its path. */
export function buildKernel(source: string): string {
  const asm = source.includes('/') ? source : join(ASM_DIR, source);
  const incDir = dirname(asm);
  const hash = createHash('sha256');
  hash.update(readFileSync(asm));
  for (const f of readdirSync(ASM_DIR).sort()) {
    if (f.endsWith('.inc') || f.endsWith('.ld')) hash.update(readFileSync(join(ASM_DIR, f)));
  }
  const id = hash.digest('hex').slice(0, 16);
  mkdirSync(CACHE, { recursive: true });
  const elf = join(CACHE, `${basename(asm, '.asm')}-${id}.elf`);
  if (existsSync(elf)) return elf;
  const obj = elf.replace(/\.elf$/, '.o');
  execFileSync('nasm', ['-f', 'elf32', '-I', incDir + '/', '-I', ASM_DIR + '/', asm, '-o', obj], { stdio: 'pipe' });
  execFileSync('ld', ['-m', 'elf_i386', '--no-warn-rwx-segments', '-T', join(ASM_DIR, 'link.ld'), '-o', elf, obj], { stdio: 'pipe' });
  return elf;
}

export interface GuestRun { stdout: string; stderr: string; status: number | null }

/** Runs a command to completion, collecting output (no shell). */
export function runCommand(cmd: string, args: string[], timeoutMs: number): Promise<GuestRun> {
  return new Promise((resolveRun) => {
    // stdin is /dev/null: QEMU drops serial output at random when its stdin is a pipe closed at once.
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => { stdout += d; });
    child.stderr!.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolveRun({ stdout, stderr, status });
    });
  });
}

export function runTs86(args: string[], timeoutMs = 60_000): Promise<GuestRun> {
  return runCommand(process.execPath, [TS86_BIN, ...args], timeoutMs);
}

/** Runs a multiboot kernel under QEMU the way `ts86 run` runs it: COM1 on stdio, isa-debug-exit at 0xf4. */
export function runQemu(elf: string, timeoutMs = 60_000, extra: string[] = []): Promise<GuestRun> {
  return runCommand('qemu-system-i386', [
    '-M', 'pc', '-accel', 'tcg', '-m', '128', '-kernel', elf, '-display', 'none', '-serial', 'stdio', '-monitor', 'none',
    '-no-reboot', '-device', 'isa-debug-exit,iobase=0xf4,iosize=4', ...extra,
  ], timeoutMs);
}
