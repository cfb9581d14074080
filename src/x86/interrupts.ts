// Interrupt and exception delivery (SDM vol. 3, ch. 6): the real-mode IVT,
// protected-mode IDT interrupt and trap gates with stack switches to inner
// privilege levels, entry from virtual-8086 mode, and IRET in every mode.
// Task gates go to tasks.ts.
import {
  S, Seg, MODE_PROT, MODE_V86, FLAG_IF, FLAG_TF, FLAG_NT, FLAG_RF, FLAG_VM, FLAG_AC, FLAG_IOPL, FLAG_VIF, FLAG_VIP,
  FLAG_1, FLAG_ID, FLAG_CF, FLAG_DF, FLAG_OF,
} from './state.ts';
import { Vec } from './faults.ts';
import type { Cpu } from './cpu.ts';
import { materializeFlags } from './flags.ts';
import {
  desc, readDescriptor, descAccess, descBase, descLimit, loadCache, loadRealSegment, loadSegment, supervisorRead32,
  invalidateOuterSegments, SEG_UNUSABLE,
} from './segments.ts';
import { enterCodeSegment } from './transfer.ts';
import { readTssStack } from './tss.ts';
import { taskGateInterrupt, taskReturn } from './tasks.ts';

export const enum IntKind {
  /** INT n, INT3, INTO: gate DPL is checked against CPL; V86 needs IOPL 3. */
  SOFTWARE = 0,
  /** CPU exception. */
  EXCEPTION = 1,
  /** External interrupt (PIC/APIC) or NMI. */
  HARDWARE = 2,
}

/** Writes a complete EFLAGS value, honouring which bits the mode may change. */
export function writeEflags(cpu: Cpu, value: number): void {
  const st = cpu.st;
  materializeFlags(st);
  st[S.EFLAGS] = (value & 0x3f7fd7) | FLAG_1;
  st[S.LAZY_MASK] = 0;
  cpu.updateMode();
}

export function readEflags(cpu: Cpu): number {
  return materializeFlags(cpu.st);
}

/** Delivers interrupt `vector`. EIP in the state is the return address to push. */
export function deliverInterrupt(cpu: Cpu, vector: number, kind: IntKind, errorCode: number): void {
  const st = cpu.st;
  st[S.HALTED] = 0;
  if (!(st[S.MODE] & MODE_PROT)) {
    deliverReal(cpu, vector);
    return;
  }
  const ext = kind === IntKind.SOFTWARE ? 0 : 1;
  const idtOff = vector << 3;
  if (idtOff + 7 > (st[S.IDTR_LIMIT] >>> 0)) cpu.raise(Vec.GP, idtOff + 2 + ext);
  const lo = supervisorRead32(cpu, (st[S.IDTR_BASE] + idtOff) | 0);
  const hi = supervisorRead32(cpu, (st[S.IDTR_BASE] + idtOff + 4) | 0);
  const type = (hi >> 8) & 0x1f;
  const gdpl = (hi >> 13) & 3;
  if (kind === IntKind.SOFTWARE) {
    if ((st[S.MODE] & MODE_V86) && ((st[S.EFLAGS] & FLAG_IOPL) >>> 12) < 3) cpu.raise(Vec.GP, 0);
    if (gdpl < st[S.CPL]) cpu.raise(Vec.GP, idtOff + 2);
  }
  if (type === 0x05) {
    if (!(hi & 0x8000)) cpu.raise(Vec.NP, idtOff + 2 + ext);
    taskGateInterrupt(cpu, (lo >>> 16) & 0xffff, errorCode);
    return;
  }
  const is32 = (type & 0x8) !== 0;
  const isTrap = (type & 0x1) !== 0;
  if ((type & 0x16) !== 0x06) cpu.raise(Vec.GP, idtOff + 2 + ext); // 0x6, 0x7, 0xE, 0xF only
  if (!(hi & 0x8000)) cpu.raise(Vec.NP, idtOff + 2 + ext);
  const sel = (lo >>> 16) & 0xffff;
  const offset = is32 ? ((hi & 0xffff0000) | (lo & 0xffff)) : lo & 0xffff;

  if ((sel & 0xfffc) === 0) cpu.raise(Vec.GP, ext);
  if (!readDescriptor(cpu, sel)) cpu.raise(Vec.GP, (sel & 0xfffc) + ext);
  const acc = descAccess(desc.hi);
  const dpl = (acc >> 5) & 3;
  if ((acc & 0x18) !== 0x18 || dpl > st[S.CPL]) cpu.raise(Vec.GP, (sel & 0xfffc) + ext);
  if (!(acc & 0x80)) cpu.raise(Vec.NP, (sel & 0xfffc) + ext);

  const flags = readEflags(cpu);
  const oldCs = st[S.SEG_SEL + Seg.CS];
  const oldEip = st[S.EIP];
  const oldSs = st[S.SEG_SEL + Seg.SS];
  const oldEsp = st[S.ESP];
  const fromV86 = (st[S.MODE] & MODE_V86) !== 0;
  const conforming = (acc & 0x4) !== 0;
  const codeLo = desc.lo, codeHi = desc.hi, codeAddr = desc.addr;

  if (!conforming && dpl < st[S.CPL]) {
    // Inner privilege: switch to the TSS stack for the handler's level.
    if (fromV86 && dpl !== 0) cpu.raise(Vec.GP, (sel & 0xfffc) + ext);
    const stack = readTssStack(cpu, dpl, ext);
    const savedCpl = st[S.CPL];
    st[S.CPL] = dpl;
    try {
      if (fromV86) {
        // Protected-mode SS must be loaded with protected-mode rules even though VM is still set.
        st[S.EFLAGS] &= ~FLAG_VM;
        cpu.updateMode();
      }
      loadSegment(cpu, Seg.SS, stack.ss);
    } catch (e) {
      st[S.CPL] = savedCpl;
      if (fromV86) { st[S.EFLAGS] |= FLAG_VM; cpu.updateMode(); }
      throw e;
    }
    st[S.ESP] = stack.esp;
    cpu.updateMode();
    const push = is32 ? (v: number) => cpu.push32(v) : (v: number) => cpu.push16(v);
    if (fromV86) {
      push(st[S.SEG_SEL + Seg.GS]);
      push(st[S.SEG_SEL + Seg.FS]);
      push(st[S.SEG_SEL + Seg.DS]);
      push(st[S.SEG_SEL + Seg.ES]);
      for (const s of [Seg.ES, Seg.DS, Seg.FS, Seg.GS]) {
        st[S.SEG_SEL + s] = 0;
        st[S.SEG_ACCESS + s] = SEG_UNUSABLE;
      }
    }
    push(oldSs);
    push(oldEsp);
    push(flags);
    push(oldCs);
    push(oldEip);
    if (errorCode >= 0) push(errorCode);
  } else {
    if (fromV86) cpu.raise(Vec.GP, (sel & 0xfffc) + ext);
    const sp = cpu.stackPointer;
    try {
      if (is32) {
        cpu.push32(flags); cpu.push32(oldCs); cpu.push32(oldEip);
        if (errorCode >= 0) cpu.push32(errorCode);
      } else {
        cpu.push16(flags); cpu.push16(oldCs); cpu.push16(oldEip);
        if (errorCode >= 0) cpu.push16(errorCode);
      }
    } catch (e) {
      cpu.setStackPointer(sp);
      throw e;
    }
  }
  desc.lo = codeLo; desc.hi = codeHi; desc.addr = codeAddr;
  const newCpl = conforming ? st[S.CPL] : dpl;
  st[S.EFLAGS] &= ~(FLAG_TF | FLAG_NT | FLAG_RF | FLAG_VM | (isTrap ? 0 : FLAG_IF));
  enterCodeSegment(cpu, sel, is32 ? offset : offset & 0xffff, newCpl);
}

function deliverReal(cpu: Cpu, vector: number): void {
  const st = cpu.st;
  const off = vector << 2;
  if (off + 3 > (st[S.IDTR_LIMIT] >>> 0)) cpu.raise(Vec.GP, 0);
  const flags = readEflags(cpu);
  cpu.push16(flags);
  cpu.push16(st[S.SEG_SEL + Seg.CS]);
  cpu.push16(st[S.EIP]);
  const vec = cpu.readLin32((st[S.IDTR_BASE] + off) | 0);
  st[S.EFLAGS] &= ~(FLAG_IF | FLAG_TF | FLAG_AC | FLAG_RF);
  loadRealSegment(cpu, Seg.CS, vec >>> 16);
  st[S.EIP] = vec & 0xffff;
  cpu.updateMode();
}

/** IRET / IRETD. */
export function interruptReturn(cpu: Cpu, o32: boolean): void {
  const st = cpu.st;
  const mode = st[S.MODE];
  if (!(mode & MODE_PROT)) {
    const eip = o32 ? cpu.peek32(0) : cpu.peek16(0);
    const cs = o32 ? cpu.peek32(4) & 0xffff : cpu.peek16(2);
    const flags = o32 ? cpu.peek32(8) : cpu.peek16(4);
    cpu.setStackPointer(cpu.stackPointer + (o32 ? 12 : 6));
    loadRealSegment(cpu, Seg.CS, cs);
    st[S.EIP] = o32 ? eip : eip & 0xffff;
    const cur = readEflags(cpu);
    writeEflags(cpu, o32 ? (flags & 0x257fd5) | (cur & 0x1a0000) : (cur & ~0xffff) | (flags & 0xffff));
    return;
  }
  if (mode & MODE_V86) {
    // IOPL-sensitive in V86 mode (VME's virtual-interrupt variant is not modelled).
    if (((st[S.EFLAGS] & FLAG_IOPL) >>> 12) < 3) cpu.raise(Vec.GP, 0);
    const eip = o32 ? cpu.peek32(0) : cpu.peek16(0);
    const cs = o32 ? cpu.peek32(4) & 0xffff : cpu.peek16(2);
    const flags = o32 ? cpu.peek32(8) : cpu.peek16(4);
    cpu.setStackPointer(cpu.stackPointer + (o32 ? 12 : 6));
    loadRealSegment(cpu, Seg.CS, cs);
    st[S.EIP] = o32 ? eip : eip & 0xffff;
    const cur = readEflags(cpu);
    const keep = FLAG_IOPL | FLAG_VM | FLAG_VIF | FLAG_VIP;
    writeEflags(cpu, o32 ? (flags & ~keep) | (cur & keep) : (cur & ~0xffff) | (flags & 0xffff & ~FLAG_IOPL) | (cur & FLAG_IOPL));
    return;
  }
  if (st[S.EFLAGS] & FLAG_NT) {
    taskReturn(cpu);
    return;
  }
  const size = o32 ? 4 : 2;
  const eip = o32 ? cpu.peek32(0) : cpu.peek16(0);
  const cs = (o32 ? cpu.peek32(4) : cpu.peek16(2)) & 0xffff;
  const flags = o32 ? cpu.peek32(8) : cpu.peek16(4);
  const cpl = st[S.CPL];
  if ((flags & FLAG_VM) && o32 && cpl === 0) {
    returnToV86(cpu, eip, cs, flags);
    return;
  }
  const rpl = cs & 3;
  if ((cs & 0xfffc) === 0) cpu.raise(Vec.GP, 0);
  if (!readDescriptor(cpu, cs)) cpu.raise(Vec.GP, cs & 0xfffc);
  const acc = descAccess(desc.hi);
  const dpl = (acc >> 5) & 3;
  if ((acc & 0x18) !== 0x18 || rpl < cpl) cpu.raise(Vec.GP, cs & 0xfffc);
  if ((acc & 0x4) ? dpl > rpl : dpl !== rpl) cpu.raise(Vec.GP, cs & 0xfffc);
  if (!(acc & 0x80)) cpu.raise(Vec.NP, cs & 0xfffc);
  const codeLo = desc.lo, codeHi = desc.hi, codeAddr = desc.addr;
  let newEsp = 0, newSs = 0;
  if (rpl > cpl) {
    newEsp = o32 ? cpu.peek32(3 * size) : cpu.peek16(3 * size);
    newSs = (o32 ? cpu.peek32(4 * size) : cpu.peek16(4 * size)) & 0xffff;
    st[S.CPL] = rpl;
    try {
      loadSegment(cpu, Seg.SS, newSs);
    } catch (e) {
      st[S.CPL] = cpl;
      throw e;
    }
  } else {
    cpu.setStackPointer(cpu.stackPointer + 3 * size);
  }
  desc.lo = codeLo; desc.hi = codeHi; desc.addr = codeAddr;
  enterCodeSegment(cpu, cs, o32 ? eip : eip & 0xffff, rpl);
  if (rpl > cpl) {
    if (o32) st[S.ESP] = newEsp; else cpu.setStackPointer(newEsp);
  }
  // Which EFLAGS bits IRET may change depends on the old CPL and IOPL.
  const cur = readEflags(cpu);
  let changeable = FLAG_CF | 0x4 | 0x10 | 0x40 | 0x80 | FLAG_TF | FLAG_DF | FLAG_OF | FLAG_NT | FLAG_RF | FLAG_AC | FLAG_ID;
  if (cpl === 0) changeable |= FLAG_IOPL | FLAG_VIF | FLAG_VIP;
  if (cpl <= ((cur & FLAG_IOPL) >>> 12)) changeable |= FLAG_IF;
  if (!o32) changeable &= 0xffff;
  writeEflags(cpu, (cur & ~changeable) | (flags & changeable));
  if (rpl > cpl) invalidateOuterSegments(cpu);
}

function returnToV86(cpu: Cpu, eip: number, cs: number, flags: number): void {
  const st = cpu.st;
  const esp = cpu.peek32(12);
  const ss = cpu.peek32(16) & 0xffff;
  const es = cpu.peek32(20) & 0xffff;
  const ds = cpu.peek32(24) & 0xffff;
  const fs = cpu.peek32(28) & 0xffff;
  const gs = cpu.peek32(32) & 0xffff;
  writeEflags(cpu, flags);
  st[S.CPL] = 3;
  cpu.updateMode();
  for (const [seg, sel] of [[Seg.CS, cs], [Seg.SS, ss], [Seg.ES, es], [Seg.DS, ds], [Seg.FS, fs], [Seg.GS, gs]]) {
    loadRealSegment(cpu, seg, sel);
  }
  st[S.ESP] = esp;
  st[S.EIP] = eip & 0xffff;
  cpu.updateMode();
}

export { descBase, descLimit, loadCache };
