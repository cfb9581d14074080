// LAR/LSL/VERR/VERW over every kind of descriptor from ring 0 and ring 3,
// LLDT/LTR/SLDT/STR, far-pointer loads, ARPL, BOUND and segment-load faults,
// checked against QEMU running the same kernel.
import { describe, it, expect } from 'vitest';
import { buildSystemKernel, runBoth, PASS_STATUS } from './kernel.ts';

describe('descriptor instructions (descriptors.asm)', () => {
  it('matches qemu-system-i386', async () => {
    const { ts86, qemu } = await runBoth(buildSystemKernel('descriptors'));
    expect(ts86.stdout).toBe(qemu.stdout);
    expect(ts86.status).toBe(PASS_STATUS);
    expect(qemu.status).toBe(PASS_STATUS);
    // A TSS is visible to LAR/LSL but not readable or writable; a call gate has no limit.
    expect(ts86.stdout).toContain('sel=0038 00008b00Z dead8b00Z 000000e8Z dead00e8Z--\n');
    expect(ts86.stdout).toContain('sel=0080 0000ec00Z deadec00Z deadbeef- deadbeef---\n');
    // LTR marks the 16-bit TSS busy.
    expect(ts86.stdout).toContain('sel=0070 00008300Z dead8300Z 0000002bZ dead002bZ--\n');
    expect(ts86.stdout).toContain('esi after fault=5a5a5a5a\n');
  });
});
