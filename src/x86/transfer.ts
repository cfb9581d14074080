// Far control transfers: loading CS by far JMP, CALL and RET in real, V86
// and protected mode (SDM JMP, CALL, RET). Transfers through system
// descriptors (call gates, task gates, TSS) continue in gates.ts. Every
// check is made before any register changes, so a fault restarts cleanly.
import { S, Seg, MODE_PROT, MODE_V86, MODE_CS32 } from './state.ts';
import { Vec } from './faults.ts';
import type { Cpu } from './cpu.ts';
import {
  desc, Descriptor, readDescriptor, descAccess, descLimit, loadCache, loadRealSegment, markAccessed,
  checkStackSelector, invalidateOuterSegments,
} from './segments.ts';
import { farGateTransfer } from './gates.ts';
import { StackFrame } from './stack-frame.ts';

/** CS:EIP load outside protected mode. */
export function setRealCs(cpu: Cpu, sel: number, eip: number): void {
  loadRealSegment(cpu, Seg.CS, sel);
  cpu.st[S.EIP] = eip;
  cpu.updateMode();
}

/** Raises #GP(code) if `eip` is beyond the limit of code descriptor `d`. */
export function checkCodeLimit(cpu: Cpu, d: Descriptor, eip: number, code: number): void {
  if ((eip >>> 0) > (descLimit(d.lo, d.hi) >>> 0)) cpu.raise(Vec.GP, code);
}

/**
 * Commits a CS load: code descriptor `d` (already checked, EIP already
 * limit-checked) with RPL = `cpl`, and jumps to `eip`.
 */
export function commitCodeSegment(cpu: Cpu, d: Descriptor, sel: number, eip: number, cpl: number): void {
  const st = cpu.st;
  markAccessed(cpu, d);
  loadCache(cpu, Seg.CS, (sel & 0xfffc) | cpl, d);
  st[S.CPL] = cpl;
  st[S.EIP] = eip;
  cpu.updateMode();
}

/** Loads CS from `desc` (already checked) and jumps to `eip`, checking the limit first (#GP(0)). */
export function enterCodeSegment(cpu: Cpu, sel: number, eip: number, cpl: number): void {
  checkCodeLimit(cpu, desc, eip, 0);
  commitCodeSegment(cpu, desc, sel, eip, cpl);
}

export const enum FarKind { JMP = 0, CALL = 1 }

const codeDesc = new Descriptor();
const frame = new StackFrame();

/**
 * Far JMP or CALL to sel:offset. For CALL the return address (CS, next EIP)
 * is pushed with the given operand size.
 */
export function farJumpOrCall(cpu: Cpu, kind: FarKind, sel: number, offset: number, o32: boolean): void {
  const st = cpu.st;
  sel &= 0xffff;
  const eip = o32 ? offset : offset & 0xffff;
  if (!(st[S.MODE] & MODE_PROT) || (st[S.MODE] & MODE_V86)) {
    if (kind === FarKind.CALL) {
      frame.onCurrentStack(cpu, 0);
      frame.push(cpu, st[S.SEG_SEL + Seg.CS], o32);
      frame.push(cpu, st[S.EIP], o32);
      if ((eip >>> 0) > (st[S.SEG_LIMIT + Seg.CS] >>> 0)) cpu.raise(Vec.GP, 0);
      st[S.ESP] = frame.esp;
    }
    setRealCs(cpu, sel, eip);
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
  if (acc & 0x4) {
    if (dpl > cpl) cpu.raise(Vec.GP, sel & 0xfffc);
  } else if ((sel & 3) > cpl || dpl !== cpl) {
    cpu.raise(Vec.GP, sel & 0xfffc);
  }
  if (!(acc & 0x80)) cpu.raise(Vec.NP, sel & 0xfffc);
  codeDesc.copyFrom(desc);
  if (kind === FarKind.CALL) {
    frame.onCurrentStack(cpu, 0);
    frame.push(cpu, st[S.SEG_SEL + Seg.CS], o32);
    frame.push(cpu, st[S.EIP], o32);
    checkCodeLimit(cpu, codeDesc, eip, 0);
    st[S.ESP] = frame.esp;
  } else {
    checkCodeLimit(cpu, codeDesc, eip, 0);
  }
  commitCodeSegment(cpu, codeDesc, sel, eip, cpl);
}

/** Far RET (with `release` extra bytes of parameters to drop). */
export function farReturn(cpu: Cpu, o32: boolean, release: number): void {
  const st = cpu.st;
  const size = o32 ? 4 : 2;
  const eip = o32 ? cpu.peek32(0) : cpu.peek16(0);
  const sel = (o32 ? cpu.peek32(size) : cpu.peek16(size)) & 0xffff;
  if (!(st[S.MODE] & MODE_PROT) || (st[S.MODE] & MODE_V86)) {
    if ((eip >>> 0) > (st[S.SEG_LIMIT + Seg.CS] >>> 0)) cpu.raise(Vec.GP, 0);
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
  if ((acc & 0x18) !== 0x18 || rpl < cpl) cpu.raise(Vec.GP, sel & 0xfffc);
  if ((acc & 0x4) ? dpl > rpl : dpl !== rpl) cpu.raise(Vec.GP, sel & 0xfffc);
  if (!(acc & 0x80)) cpu.raise(Vec.NP, sel & 0xfffc);
  codeDesc.copyFrom(desc);
  if (rpl === cpl) {
    checkCodeLimit(cpu, codeDesc, eip, 0);
    cpu.setStackPointer(cpu.stackPointer + 2 * size + release);
    commitCodeSegment(cpu, codeDesc, sel, eip, cpl);
    return;
  }
  // Return to an outer privilege level: the outer SS:ESP follows the parameters.
  const newEsp = o32 ? cpu.peek32(2 * size + release) : cpu.peek16(2 * size + release);
  const newSs = (o32 ? cpu.peek32(3 * size + release) : cpu.peek16(3 * size + release)) & 0xffff;
  checkStackSelector(cpu, newSs, rpl, Vec.GP, 0);
  checkCodeLimit(cpu, codeDesc, eip, 0);
  commitCodeSegment(cpu, codeDesc, sel, eip, rpl);
  markAccessed(cpu);
  loadCache(cpu, Seg.SS, newSs);
  cpu.updateMode();
  // The new stack's B bit decides whether ESP or only SP is loaded.
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
