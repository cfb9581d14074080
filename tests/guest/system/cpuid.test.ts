// CPUID, MSRs, RDTSC/RDPMC and debug registers as ts86's CPU model
// defines them (a Pentium II-class part advertising exactly what ts86
// implements). QEMU's CPU model differs by design, so ts86 runs the kernel
// alone against this transcript.
import { describe, it, expect } from 'vitest';
import { runTs86 } from '../build-kernel.ts';
import { buildSystemKernel, PASS_STATUS } from './kernel.ts';

const EXPECTED = `-- cpuid
leaf0 max=00000002
vendor=GenuineIntel
leaf=00000001
  eax=00000633
  ebx=00000000
  ecx=00000000
  edx=0001bb7f
leaf=00000002
  eax=03020101
  ebx=00000000
  ecx=00000000
  edx=0c040843
leaf=00000003
  eax=03020101
  ebx=00000000
  ecx=00000000
  edx=0c040843
leaf=80000000
  eax=80000004
  ebx=00000000
  ecx=00000000
  edx=00000000
leaf=80000001
  eax=00000000
  ebx=00000000
  ecx=00000000
  edx=00100000
leaf=80000005
  eax=03020101
  ebx=00000000
  ecx=00000000
  edx=0c040843
brand=ts86 virtual CPU
-- msrs
msr=00000017
  edx=00000000
  eax=00000000
msr=0000001b
  edx=00000000
  eax=fee00900
msr=0000008b
  edx=00000000
  eax=00000000
msr=000000fe
  edx=00000000
  eax=00000508
msr=00000174
  edx=00000000
  eax=00000000
msr=00000175
  edx=00000000
  eax=00000000
msr=00000176
  edx=00000000
  eax=00000000
msr=000001a0
  edx=00000000
  eax=00000000
msr=00000277
  edx=00070406
  eax=00070406
msr=000002ff
  edx=00000000
  eax=00000000
msr=c0000080
  edx=00000000
  eax=00000000
physmask0 edx=0000000f
physmask0 eax=f8000800
fix64k eax=06060606
deftype=00000c00
pat eax=00070407
efer=00000800
tsc high after write=00000007
tsc monotonic=1
-- msr faults
exc 0d err=0000 eip=* cs=0008
exc 0d err=0000 eip=* cs=0008
exc 0d err=0000 eip=* cs=0008
exc 0d err=0000 eip=* cs=0008
exc 0d err=0000 eip=* cs=0008
exc 0d err=0000 eip=* cs=0008
exc 0d err=0000 eip=* cs=0008
-- rdpmc
pmc1=00000000
exc 0d err=0000 eip=* cs=0008
-- ring 3
ring 3 rdtsc ok
exc 0d err=0000 eip=* cs=001b
exc 0d err=0000 eip=* cs=001b
ring 3 cpuid ok
exc 0d err=0000 eip=* cs=001b
ring 3 pmc0=00000000
exc 0d err=0000 eip=* cs=001b
ring 3 cpuid ok
-- debug registers
dr6=ffff0ff0
dr7=ffff07ff
dr0=12345678
dr5=00000400
exc 06 err=0000 eip=* cs=0008
exc 01 err=0000 eip=* cs=0008
dr6.bd=00002000
dr7 after #DB=00000400
-- cr4
exc 0d err=0000 eip=* cs=0008
exc 0d err=0000 eip=* cs=0008
`;

describe('CPUID, MSRs and debug registers (cpuid.asm)', () => {
  it('produces the expected transcript', async () => {
    const r = await runTs86(['run', buildSystemKernel('cpuid'), '--max-seconds', '30']);
    expect(r.stdout.replace(/eip=[0-9a-f]{8}/g, 'eip=*')).toBe(EXPECTED);
    expect(r.status).toBe(PASS_STATUS);
  });
});
