// SYSENTER/SYSEXIT round trip and faults, against QEMU.
import { describe, it, expect } from 'vitest';
import { buildSystemKernel, runBoth, PASS_STATUS } from './kernel.ts';

describe('SYSENTER/SYSEXIT (sysenter.asm)', () => {
  it('matches qemu-system-i386', async () => {
    const { ts86, qemu } = await runBoth(buildSystemKernel('sysenter'));
    expect(ts86.stdout).toBe(qemu.stdout);
    expect(ts86.status).toBe(PASS_STATUS);
    expect(qemu.status).toBe(PASS_STATUS);
    expect(ts86.stdout).toContain('entry cs=0008\nentry ss=0010\nentry esp - top=00000000\nentry if=0000\n');
    expect(ts86.stdout).toContain('back in ring 3\nuser cs=001b\nuser ss=0023\n');
  });
});
