// Protected -> real -> protected mode, real-mode interrupts through a
// private IVT, unreal FS and the A20 gate, against QEMU.
import { describe, it, expect } from 'vitest';
import { buildSystemKernel, runBoth, PASS_STATUS } from './kernel.ts';

describe('real mode round trip (realmode.asm)', () => {
  it('matches qemu-system-i386', async () => {
    const { ts86, qemu } = await runBoth(buildSystemKernel('realmode'));
    expect(ts86.stdout).toBe(qemu.stdout);
    expect(ts86.status).toBe(PASS_STATUS);
    expect(qemu.status).toBe(PASS_STATUS);
    expect(ts86.stdout).toContain('real mode: cs, cr0.pe = 0200 0000 \n');
    expect(ts86.stdout).toContain('1111 3333 2222 \n');
    expect(ts86.stdout).toContain('1bad 0010 \n');
  });
});
