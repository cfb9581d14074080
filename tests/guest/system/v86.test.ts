// Virtual-8086 mode with a ring-0 monitor (IOPL-sensitive instructions,
// the I/O bitmap, INT n to a DPL-3 gate, leaving by HLT), against QEMU.
import { describe, it, expect } from 'vitest';
import { buildSystemKernel, runBoth, PASS_STATUS } from './kernel.ts';

describe('virtual-8086 mode (v86.asm)', () => {
  it('matches qemu-system-i386', async () => {
    const { ts86, qemu } = await runBoth(buildSystemKernel('v86'));
    expect(ts86.stdout).toBe(qemu.stdout);
    expect(ts86.status).toBe(PASS_STATUS);
    expect(qemu.status).toBe(PASS_STATUS);
    expect(ts86.stdout).toContain('v86 hello: 0200 0300 4444 2222 1111 \n0002 \n');
    expect(ts86.stdout).toContain('int21 ds on entry=0000\n');
    expect(ts86.stdout).toContain('int21 frame gs=1111\n');
    expect(ts86.stdout).toContain('exc 0d err=001a eip=0000003f cs=0200\n');
  });
});
