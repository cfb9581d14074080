// Paging faults and bits (32-bit, PSE, PAE, NX), checked against QEMU
// running the same kernel with NX available (-cpu qemu32,+nx).
import { describe, it, expect } from 'vitest';
import { buildSystemKernel, runBoth, PASS_STATUS } from './kernel.ts';

describe('paging (paging.asm)', () => {
  it('matches qemu-system-i386', async () => {
    const { ts86, qemu } = await runBoth(buildSystemKernel('paging'), { qemuExtra: ['-cpu', 'qemu32,+nx'] });
    // A reserved-bit fault is a fault on a present entry: the SDM (and hardware) set P
    // along with RSVD (error code 9). QEMU 7.2 reports RSVD alone (8); normalise that.
    const rsvd = /^exc 0e err=0008 /gm;
    expect(ts86.stdout).not.toMatch(rsvd);
    expect(ts86.stdout).toBe(qemu.stdout.replace(rsvd, 'exc 0e err=0009 '));
    expect(ts86.status).toBe(PASS_STATUS);
    expect(qemu.status).toBe(PASS_STATUS);
    expect(ts86.stdout).toContain('pte before=00\npte after read=20\npte after write=60\n');
    expect(ts86.stdout).toMatch(/exc 0e err=0011 eip=00601000 cs=0008\n {2}cr2=00601000\n/);
  });
});
