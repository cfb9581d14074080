// Virtual-8086 mode extensions and protected-mode virtual interrupts
// (CR4.VME, CR4.PVI). QEMU 7.2's TCG does not implement them, so ts86 runs
// the kernel alone against the transcript the SDM (20.3, 20.4) implies.
import { describe, it, expect } from 'vitest';
import { runTs86 } from '../build-kernel.ts';
import { buildSystemKernel, PASS_STATUS } from './kernel.ts';

const EXPECTED = `v86 with VME
3000 
3200 
3000 
v86 int 0x30 handler, pushed flags: 3200 3000 
3200 
exc 0d err=0000 eip=0000001a cs=0200
  vip|vif|if=00080000
  monitor: INT n not redirected; posting a virtual interrupt (VIP)
exc 0d err=0000 eip=0000001d cs=0200
  vip|vif|if=00100000
  monitor: STI with VIP; delivering it, VIF on
3200 
exc 0d err=0000 eip=00000021 cs=0200
  vip|vif|if=00080000
v86 done
exc 0d err=0000 eip=00000029 cs=0200
  vip|vif|if=00080000
  monitor: hlt
-- pvi
cpl3 cli: vif|if=00000000
cpl3 sti: vif|if=00080000
`;

describe('VME and PVI (vme.asm)', () => {
  it('produces the SDM transcript', async () => {
    const r = await runTs86(['run', buildSystemKernel('vme'), '--max-seconds', '30']);
    expect(r.stdout).toBe(EXPECTED);
    expect(r.status).toBe(PASS_STATUS);
  });
});
