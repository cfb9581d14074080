// Far control transfers: loading CS by far JMP, CALL and RET in real, V86
// and protected mode. Gates (call, task) are handled in gates.ts.
import { S, Seg, MODE_PROT, MODE_V86, MODE_CS32 } from './state.ts';
import { Vec } from './faults.ts';
import type { Cpu } from './cpu.ts';
import { desc, readDescriptor, descAccess, loadCache, loadRealSegment, markAccessed, loadSegment, invalidateOuterSegments } from './segments.ts';
import { farGateTransfer } from './gates.ts';

/** CS:EIP load outside protected mode. */
export function setRealCs(cpu: Cpu, sel: number, eip: number): void {
  loadRealSegment(cpu, Seg.CS, sel);
  cpu.st[S.EIP] = eip;
  cpu.updateMode();
}

/** Loads CS from `desc` (already checked) with the given RPL/CPL and jumps to `eip`, checking the limit. */
export function enterCodeSegment(cpu: Cpu, sel: number, eip: number, cpl: number): void {
  const st = cpu.st;
  const limit = ((desc.hi & 0x800000) ? (((desc.lo & 0xffff) | (desc.hi & 0xf0000)) << 12 | 0xfff) : ((desc.lo & 0xffff) | (desc.hi & 0xf0000))) >>> 0;
  if ((eip >>> 0) > limit) cpu.raise(Vec.GP, 0);
  markAccessed(cpu);
  loadCache(cpu, Seg.CS, (sel & 0xfffc) | cpl);
  st[S.CPL] = cpl;
  st[S.EIP] = eip;
  cpu.updateMode();
}

export const enum FarKind { JMP = 0, CALL = 1 }

/**
 * Far JMP or CALL to sel:offset. For CALL the return address (CS, next EIP)
 * is pushed with the given operand size.
 */
export function farJumpOrCall(cpu: Cpu, kind: FarKind, sel: number, offset: number, o32: boolean): void {
  const st = cpu.st;
  sel &= 0xffff;
  if (!(st[S.MODE] & MODE_PROT) || (st[S.MODE] & MODE_V86)) {
    if (kind === FarKind.CALL) pushReturn(cpu, o32);
    setRealCs(cpu, sel, o32 ? offset : offset & 0xffff);
    return;
  }
  if ((sel & 0xfffc) === 0) cpu.raise(Vec.GP, 0);
  if (!readDescriptor(cpu, sel)) cpu.raise(Vec.GP, sel & 0xfffc);
  const acc = descAccess(desc.hi);
  if (!(acc & 0x10)) {
    farGateTransfer(cpu, kind, sel, o32);
    return;
  }
  if (!(acc & 0x8)) cpu.raise(Vec.GP, sel & 0xfffc);
  const cpl = st[S.CPL];
  const dpl = (acc >> 5) & 3;
  const rpl = sel & 3;
  if (acc & 0x4) {
    if (dpl > cpl) cpu.raise(Vec.GP, sel & 0xfffc);
  } else if (rpl > cpl || dpl !== cpl) {
    cpu.raise(Vec.GP, sel & 0xfffc);
  }
  if (!(acc & 0x80)) cpu.raise(Vec.NP, sel & 0xfffc);
  if (kind === FarKind.CALL) {
    // The pushes must fit before CS changes; a fault leaves everything as it was.
    const sp = cpu.stackPointer;
    try {
      pushReturn(cpu, o32);
      enterCodeSegment(cpu, sel, o32 ? offset : offset & 0xffff, cpl);
    } catch (e) {
      cpu.setStackPointer(sp);
      throw e;
    }
    return;
  }
  enterCodeSegment(cpu, sel, o32 ? offset : offset & 0xffff, cpl);
}

function pushReturn(cpu: Cpu, o32: boolean): void {
  const st = cpu.st;
  if (o32) {
    cpu.push32(st[S.SEG_SEL + Seg.CS]);
    cpu.push32(st[S.EIP]);
  } else {
    cpu.push16(st[S.SEG_SEL + Seg.CS]);
    cpu.push16(st[S.EIP]);
  }
}

/** Far RET (with `release` extra bytes of parameters to drop). */
export function farReturn(cpu: Cpu, o32: boolean, release: number): void {
  const st = cpu.st;
  const size = o32 ? 4 : 2;
  const eip = o32 ? cpu.peek32(0) : cpu.peek16(0);
  const sel = (o32 ? cpu.peek32(size) : cpu.peek16(size)) & 0xffff;
  if (!(st[S.MODE] & MODE_PROT) || (st[S.MODE] & MODE_V86)) {
    cpu.setStackPointer(cpu.stackPointer + 2 * size + release);
    setRealCs(cpu, sel, eip);
    return;
  }
  const cpl = st[S.CPL];
  const rpl = sel & 3;
  if ((sel & 0xfffc) === 0) cpu.raise(Vec.GP, 0);
  if (!readDescriptor(cpu, sel)) cpu.raise(Vec.GP, sel & 0xfffc);
  const acc = descAccess(desc.hi);
  const dpl = (acc >> 5) & 3;
  if (rpl < cpl || (acc & 0x18) !== 0x18) cpu.raise(Vec.GP, sel & 0xfffc);
  if ((acc & 0x4) ? dpl > rpl : dpl !== rpl) cpu.raise(Vec.GP, sel & 0xfffc);
  if (!(acc & 0x80)) cpu.raise(Vec.NP, sel & 0xfffc);
  if (rpl === cpl) {
    cpu.setStackPointer(cpu.stackPointer + 2 * size + release);
    enterCodeSegment(cpu, sel, eip, cpl);
    return;
  }
  // Return to an outer privilege level: the outer SS:ESP follows the parameters.
  const newEsp = o32 ? cpu.peek32(2 * size + release) : cpu.peek16(2 * size + release);
  const newSs = (o32 ? cpu.peek32(3 * size + release) : cpu.peek16(3 * size + release)) & 0xffff;
  const codeLo = desc.lo, codeHi = desc.hi, codeAddr = desc.addr;
  st[S.CPL] = rpl; // SS checks are made against the new CPL
  try {
    loadSegment(cpu, Seg.SS, newSs);
  } catch (e) {
    st[S.CPL] = cpl;
    throw e;
  }
  desc.lo = codeLo; desc.hi = codeHi; desc.addr = codeAddr;
  enterCodeSegment(cpu, sel, eip, rpl);
  cpu.setStackPointer(newEsp + release);
  invalidateOuterSegments(cpu);
}

/** Near branch target check: EIP beyond the CS limit raises #GP(0) at the branch. */
export function jumpNear(cpu: Cpu, target: number, o32: boolean): void {
  const st = cpu.st;
  const eip = o32 ? target | 0 : target & 0xffff;
  if ((eip >>> 0) > (st[S.SEG_LIMIT + Seg.CS] >>> 0)) cpu.raise(Vec.GP, 0);
  st[S.EIP] = eip;
}

export function cs32(cpu: Cpu): boolean {
  return (cpu.st[S.MODE] & MODE_CS32) !== 0;
}
