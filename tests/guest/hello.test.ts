// The smallest guest end to end: a multiboot kernel built with nasm prints
// to COM1 and exits through port 0xf4, under `ts86 run` and under QEMU,
// with the same transcript and exit status.
import { describe, it, expect } from 'vitest';
import { buildKernel, runTs86, runQemu } from './build-kernel.ts';

describe('multiboot hello kernel', () => {
  const elf = buildKernel('hello.asm');

  it('prints over COM1 and exits through isa-debug-exit under ts86', async () => {
    const r = await runTs86(['run', elf, '--max-seconds', '20']);
    expect(r.stdout).toBe('hello from ts86 multiboot\n54321\n');
    expect(r.status).toBe((0x21 << 1) | 1);
  });

  it('gives the same transcript and status as qemu-system-i386', async () => {
    const [ours, qemu] = await Promise.all([runTs86(['run', elf, '--max-seconds', '20']), runQemu(elf)]);
    expect(ours.stdout).toBe(qemu.stdout);
    expect(ours.status).toBe(qemu.status);
  });
});
