// Privilege transitions through call gates, interrupts and IRET, checked
// against QEMU running the same kernel.
import { describe, it, expect } from 'vitest';
import { buildSystemKernel, runBoth, PASS_STATUS } from './kernel.ts';

describe('privilege transitions (rings.asm)', () => {
  it('matches qemu-system-i386', async () => {
    const { ts86, qemu } = await runBoth(buildSystemKernel('rings'));
    expect(ts86.stdout).toBe(qemu.stdout);
    expect(ts86.status).toBe(PASS_STATUS);
    expect(qemu.status).toBe(PASS_STATUS);
    // Spot checks that would catch a bug QEMU happened to share.
    expect(ts86.stdout).toContain('gate cs=0008\n');
    expect(ts86.stdout).toContain('param0=22222222\nparam1=11111111\n');
    expect(ts86.stdout).toContain('after gate ds=0000\n');
    expect(ts86.stdout).toContain('conforming cs=004b\n');
    expect(ts86.stdout).toContain('exc 0d err=040a');
    expect(ts86.stdout).toContain('exc 0b err=0060');
  });
});
