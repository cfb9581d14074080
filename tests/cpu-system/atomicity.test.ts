// A fault in the middle of a control transfer must leave the interrupted
// state exactly as it was (the instruction restarts, SDM 6.6): frames are
// built before anything is committed. Also the post-commit rule for task
// switches: a fault loading the new task's segments is taken in the new
// task (SDM 7.3, table 7-1).
import { describe, it, expect } from 'vitest';
import { Rig, CODE0, DATA0, IDT, CODE } from './rig.ts';
import { S, Seg } from '../../src/x86/state.ts';

const SMALL_STACK = 0x28;

describe('faults during transfers leave the state intact', () => {
  it('INT n whose frame does not fit: #SS(0), ESP/CS/EIP unchanged', () => {
    const rig = new Rig();
    rig.descriptor(SMALL_STACK, 0, 0xfff, 0x93, 0x4);
    rig.gate(IDT + 0x40 * 8, CODE0, CODE + 0x100, 0x8e);
    rig.code(`
      mov ax, ${SMALL_STACK}
      mov ss, ax
      mov esp, 8
    fault:
      int 0x40
      hlt`);
    const stop = rig.run();
    expect(stop).toEqual({ vector: 12, errorCode: 0 });
    expect(rig.reg(S.ESP)).toBe(8);
    expect(rig.st[S.SEG_SEL + Seg.SS]).toBe(SMALL_STACK);
    expect(rig.reg(S.EIP)).toBe(CODE + 11); // the INT instruction
  });

  it('far CALL whose return address does not fit: #SS(0), ESP unchanged', () => {
    const rig = new Rig();
    rig.descriptor(SMALL_STACK, 0, 0xfff, 0x93, 0x4);
    rig.code(`
      mov ax, ${SMALL_STACK}
      mov ss, ax
      mov esp, 4
      call ${CODE0}:target
    target:
      hlt`);
    expect(rig.run()).toEqual({ vector: 12, errorCode: 0 });
    expect(rig.reg(S.ESP)).toBe(4);
    expect(rig.st[S.SEG_SEL + Seg.CS]).toBe(CODE0);
  });

  it('IRET to an outer level with a not-present SS: #SS(sel), CPL and CS unchanged', () => {
    const rig = new Rig();
    const CODE3 = 0x18, ABSENT_SS = 0x30;
    rig.descriptor(ABSENT_SS, 0, 0xfffff, 0x73, 0xc); // DPL 3 data, not present
    rig.code(`
      push dword ${ABSENT_SS | 3}
      push dword 0x8000
      push dword 2
      push dword ${CODE3 | 3}
      push dword 0
      iretd`);
    expect(rig.run()).toEqual({ vector: 12, errorCode: ABSENT_SS });
    expect(rig.st[S.CPL]).toBe(0);
    expect(rig.st[S.SEG_SEL + Seg.CS]).toBe(CODE0);
    expect(rig.st[S.SEG_SEL + Seg.SS]).toBe(DATA0);
  });

  it('MOV CR3 with a reserved bit in a present PDPTE: #GP(0), CR3 and the PDPTE registers unchanged', () => {
    const rig = new Rig();
    rig.ram.setUint32(0x5000, 0x6001, true); // good PDPT: PDPTE 0 -> PD at 0x6000
    rig.ram.setUint32(0x6000, 0x83, true); // 2 MiB identity page: P, RW, PS
    rig.ram.setUint32(0x3000, 0x6001 | 0x40, true); // bad PDPT: bit 6 is reserved
    rig.code(`
      mov eax, cr4
      or eax, 0x20
      mov cr4, eax
      mov eax, 0x5000
      mov cr3, eax
      mov eax, cr0
      or eax, 0x80000000
      mov cr0, eax
      mov eax, 0x3000
      mov cr3, eax
      hlt`);
    expect(rig.run()).toEqual({ vector: 13, errorCode: 0 });
    expect(rig.reg(S.CR + 3)).toBe(0x5000);
    expect(rig.reg(S.PDPTE)).toBe(0x6001);
  });
});

describe('task switch faults after the commit point', () => {
  it('a bad SS in the new TSS raises #TS(SS) at the new task\'s first instruction', () => {
    const rig = new Rig();
    const TSS_A = 0x30, TSS_B = 0x38, TSS_A_BASE = 0x4000, TSS_B_BASE = 0x4100;
    rig.descriptor(TSS_A, TSS_A_BASE, 0x67, 0x89, 0);
    rig.descriptor(TSS_B, TSS_B_BASE, 0x67, 0x89, 0);
    const b = (off: number, v: number): void => rig.ram.setUint32(TSS_B_BASE + off, v, true);
    b(0x20, CODE + 0x40); // EIP
    b(0x24, 2); // EFLAGS
    b(0x4c, CODE0); // CS
    b(0x50, 0x18 | 3); // SS: RPL 3 in a CPL-0 task
    for (const off of [0x48, 0x54, 0x58, 0x5c]) b(off, DATA0);
    rig.code(`
      mov ax, ${TSS_A}
      ltr ax
      jmp ${TSS_B}:0`);
    expect(rig.run()).toEqual({ vector: 10, errorCode: 0x18 });
    expect(rig.reg(S.EIP)).toBe(CODE + 0x40);
    expect(rig.st[S.SEG_SEL + Seg.TR]).toBe(TSS_B);
    expect(rig.st[S.CR] & 8).toBe(8); // CR0.TS
  });
});
