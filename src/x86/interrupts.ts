// Interrupt and exception delivery (SDM vol. 3, 6.12 and the INT n
// pseudocode): the real-mode IVT, protected-mode interrupt and trap gates
// (16- and 32-bit) with stack switches to inner privilege levels, entry
// from virtual-8086 mode, VME virtual interrupts, and IRET in every mode.
// Task gates go to tasks.ts. All checks and the frame's stores happen
// before any register changes, so a fault during delivery leaves the
// interrupted state intact for the double-fault logic in interpreter.ts.
import {
  S, Seg, MODE_PROT, MODE_V86, FLAG_IF, FLAG_TF, FLAG_NT, FLAG_RF, FLAG_VM, FLAG_AC, FLAG_IOPL, FLAG_VIF, FLAG_VIP,
  FLAG_1, FLAG_ID, FLAG_CF, FLAG_DF, FLAG_OF, CR4_VME,
} from './state.ts';
import { Vec } from './faults.ts';
import type { Cpu } from './cpu.ts';
import { materializeFlags } from './flags.ts';
import {
  desc, Descriptor, readDescriptor, descAccess, descDpl, loadCache, loadRealSegment, loadNullSegment, markAccessed,
  supervisorRead32, checkStackSelector, invalidateOuterSegments,
} from './segments.ts';
import { checkCodeLimit, commitCodeSegment } from './transfer.ts';
import { readTssStack, softIntRedirected } from './tss.ts';
import { taskGateInterrupt, taskReturn } from './tasks.ts';
import { StackFrame } from './stack-frame.ts';

export const enum IntKind {
  /** INT3, INTO: gate DPL is checked against CPL. */
  SOFTWARE = 0,
  /** CPU exception. */
  EXCEPTION = 1,
  /** External interrupt (PIC/APIC), NMI, or INT1. */
  HARDWARE = 2,
  /** INT n (CD ib): a software interrupt that is also IOPL-sensitive (and VME-redirectable) in V86 mode. */
  INTN = 3,
}

/** Fault-class exceptions push RF = 1 in their EFLAGS image (SDM 17.3.1.1), so IRET does not re-trigger a breakpoint. */
const FAULT_CLASS = new Uint8Array(32);
for (const v of [0, 5, 6, 7, 10, 11, 12, 13, 14, 16, 17, 19]) FAULT_CLASS[v] = 1;

/** Writes a complete EFLAGS value, honouring which bits exist. */
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

function iopl(cpu: Cpu): number {
  return (cpu.st[S.EFLAGS] & FLAG_IOPL) >>> 12;
}

const frame = new StackFrame();
const handlerDesc = new Descriptor();
const stackDesc = new Descriptor();

/** Delivers interrupt `vector`. EIP in the state is the return address to push. */
export function deliverInterrupt(cpu: Cpu, vector: number, kind: IntKind, errorCode: number): void {
  const st = cpu.st;
  // Test runners and debuggers may take software interrupts themselves (see Cpu.interruptTrap).
  if ((kind === IntKind.SOFTWARE || kind === IntKind.INTN) && cpu.interruptTrap && cpu.interruptTrap(vector)) return;
  st[S.HALTED] = 0;
  const mode = st[S.MODE];
  if (!(mode & MODE_PROT)) {
    deliverReal(cpu, vector, 0, false);
    return;
  }
  if (kind === IntKind.INTN && (mode & MODE_V86)) {
    // SDM 20.3.3: without VME, INT n at IOPL < 3 traps to the monitor; with
    // VME the TSS redirection bitmap can send it to the V86 task's own IVT.
    if (st[S.CR + 4] & CR4_VME) {
      if (softIntRedirected(cpu, vector)) {
        deliverReal(cpu, vector, 0, iopl(cpu) < 3);
        return;
      }
      if (iopl(cpu) < 3) cpu.raise(Vec.GP, 0);
    } else if (iopl(cpu) < 3) {
      cpu.raise(Vec.GP, 0);
    }
  }
  deliverProtected(cpu, vector, kind, errorCode);
}

/**
 * Real-address-mode delivery through the IVT at IDTR (or, for a VME
 * redirected interrupt, the V86 task's IVT at linear 0). `virtualIf`: VME
 * with IOPL < 3 pushes VIF as IF and IOPL as 3, and clears VIF instead of IF.
 */
function deliverReal(cpu: Cpu, vector: number, ivtBase: number, virtualIf: boolean): void {
  const st = cpu.st;
  const v86 = (st[S.MODE] & MODE_V86) !== 0;
  const off = vector << 2;
  if (!v86 && off + 3 > (st[S.IDTR_LIMIT] >>> 0)) cpu.raise(Vec.GP, 0);
  let flags = readEflags(cpu) & 0xffff;
  if (virtualIf) flags = (flags & ~FLAG_IF) | (st[S.EFLAGS] & FLAG_VIF ? FLAG_IF : 0) | FLAG_IOPL;
  frame.onCurrentStack(cpu, 0);
  frame.reserve(cpu, 3, 2);
  const vec = cpu.readLin32(((v86 ? ivtBase : st[S.IDTR_BASE]) + off) | 0);
  frame.push16(cpu, flags);
  frame.push16(cpu, st[S.SEG_SEL + Seg.CS]);
  frame.push16(cpu, st[S.EIP]);
  st[S.ESP] = frame.esp;
  st[S.EFLAGS] &= ~(FLAG_TF | FLAG_RF | (virtualIf ? FLAG_VIF : FLAG_IF | FLAG_AC));
  loadRealSegment(cpu, Seg.CS, vec >>> 16);
  st[S.EIP] = vec & 0xffff;
  cpu.updateMode();
}

function deliverProtected(cpu: Cpu, vector: number, kind: IntKind, errorCode: number): void {
  const st = cpu.st;
  const software = kind === IntKind.SOFTWARE || kind === IntKind.INTN;
  const ext = software ? 0 : 1;
  const idtOff = vector << 3;
  const idtCode = idtOff | 2 | ext;
  if (idtOff + 7 > (st[S.IDTR_LIMIT] >>> 0)) cpu.raise(Vec.GP, idtCode);
  const lo = supervisorRead32(cpu, (st[S.IDTR_BASE] + idtOff) | 0);
  const hi = supervisorRead32(cpu, (st[S.IDTR_BASE] + idtOff + 4) | 0);
  const type = (hi >> 8) & 0x1f;
  // Task gate (5), 16-bit interrupt/trap gates (6, 7), 32-bit ones (0xE, 0xF).
  if (type !== 5 && (type & 0x16) !== 0x06) cpu.raise(Vec.GP, idtCode);
  if (software && descDpl(hi) < st[S.CPL]) cpu.raise(Vec.GP, idtOff | 2);
  if (!(hi & 0x8000)) cpu.raise(Vec.NP, idtCode);
  const rf = kind === IntKind.EXCEPTION && FAULT_CLASS[vector] ? FLAG_RF : 0;
  if (type === 5) {
    taskGateInterrupt(cpu, (lo >>> 16) & 0xffff, errorCode, ext, rf);
    return;
  }
  const gate32 = (type & 0x8) !== 0;
  const sel = (lo >>> 16) & 0xffff;
  const offset = gate32 ? (hi & 0xffff0000) | (lo & 0xffff) : lo & 0xffff;
  const selCode = (sel & 0xfffc) | ext;
  if ((sel & 0xfffc) === 0) cpu.raise(Vec.GP, ext);
  if (!readDescriptor(cpu, sel)) cpu.raise(Vec.GP, selCode);
  const acc = descAccess(desc.hi);
  const dpl = (acc >> 5) & 3;
  const cpl = st[S.CPL];
  if ((acc & 0x18) !== 0x18 || dpl > cpl) cpu.raise(Vec.GP, selCode);
  if (!(acc & 0x80)) cpu.raise(Vec.NP, selCode);
  handlerDesc.copyFrom(desc);

  const fromV86 = (st[S.MODE] & MODE_V86) !== 0;
  // RF clears once an instruction completes, so only a fault's image carries it (the state's RF
  // may still be the one an earlier IRET loaded; ts86 does not clear it per instruction).
  const flags = (readEflags(cpu) & ~FLAG_RF) | rf;
  const slots = errorCode >= 0 ? 1 : 0;
  let newCpl = cpl;
  let ss = 0;
  if (!(acc & 0x4) && dpl < cpl) {
    // Inner privilege: the handler's stack comes from the TSS.
    if (fromV86 && dpl !== 0) cpu.raise(Vec.GP, selCode);
    const stack = readTssStack(cpu, dpl, ext);
    ss = stack.ss;
    checkStackSelector(cpu, ss, dpl, Vec.TS, ext);
    stackDesc.copyFrom(desc);
    frame.onNewStack(stackDesc, stack.esp, true, (ss & 0xfffc) | ext);
    frame.reserve(cpu, slots + (fromV86 ? 9 : 5), gate32 ? 4 : 2);
    checkCodeLimit(cpu, handlerDesc, offset, ext);
    if (fromV86) {
      frame.push(cpu, st[S.SEG_SEL + Seg.GS], gate32);
      frame.push(cpu, st[S.SEG_SEL + Seg.FS], gate32);
      frame.push(cpu, st[S.SEG_SEL + Seg.DS], gate32);
      frame.push(cpu, st[S.SEG_SEL + Seg.ES], gate32);
    }
    frame.push(cpu, st[S.SEG_SEL + Seg.SS], gate32);
    frame.push(cpu, st[S.ESP], gate32);
    newCpl = dpl;
  } else {
    // Same privilege (or a conforming handler, which runs at the current CPL).
    if (fromV86) cpu.raise(Vec.GP, selCode);
    frame.onCurrentStack(cpu, ext);
    frame.reserve(cpu, slots + 3, gate32 ? 4 : 2);
    checkCodeLimit(cpu, handlerDesc, offset, ext);
  }
  frame.push(cpu, flags, gate32);
  frame.push(cpu, st[S.SEG_SEL + Seg.CS], gate32);
  frame.push(cpu, st[S.EIP], gate32);
  if (errorCode >= 0) frame.push(cpu, errorCode, gate32);

  // Commit.
  if (newCpl !== cpl) {
    if (fromV86) {
      loadNullSegment(cpu, Seg.ES, 0);
      loadNullSegment(cpu, Seg.DS, 0);
      loadNullSegment(cpu, Seg.FS, 0);
      loadNullSegment(cpu, Seg.GS, 0);
    }
    markAccessed(cpu, stackDesc);
    loadCache(cpu, Seg.SS, (ss & 0xfffc) | newCpl, stackDesc);
  }
  st[S.ESP] = frame.esp;
  st[S.EFLAGS] &= ~(FLAG_TF | FLAG_NT | FLAG_RF | FLAG_VM | (type & 1 ? 0 : FLAG_IF));
  commitCodeSegment(cpu, handlerDesc, sel, offset, newCpl);
}

// ---------------------------------------------------------------- IRET

/** Arithmetic and control flags IRET always restores (in protected mode). */
const IRET_BASE_FLAGS = FLAG_CF | 0x4 | 0x10 | 0x40 | 0x80 | FLAG_TF | FLAG_DF | FLAG_OF | FLAG_NT | FLAG_RF | FLAG_AC | FLAG_ID;

const codeDesc = new Descriptor();

/** IRET / IRETD. */
export function interruptReturn(cpu: Cpu, o32: boolean): void {
  const st = cpu.st;
  const mode = st[S.MODE];
  if (!(mode & MODE_PROT)) {
    returnReal(cpu, o32, 0);
    return;
  }
  if (mode & MODE_V86) {
    if (iopl(cpu) === 3) {
      returnReal(cpu, o32, FLAG_IOPL);
      return;
    }
    if (!(st[S.CR + 4] & CR4_VME) || o32) cpu.raise(Vec.GP, 0);
    returnVirtual(cpu);
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
  codeDesc.copyFrom(desc);
  const newEip = o32 ? eip : eip & 0xffff;
  let newEsp = 0, newSs = 0;
  if (rpl > cpl) {
    newEsp = o32 ? cpu.peek32(3 * size) : cpu.peek16(3 * size);
    newSs = (o32 ? cpu.peek32(4 * size) : cpu.peek16(4 * size)) & 0xffff;
    checkStackSelector(cpu, newSs, rpl, Vec.GP, 0);
  }
  checkCodeLimit(cpu, codeDesc, newEip, 0);

  // Commit. Which EFLAGS bits IRET may change depends on the old CPL and IOPL.
  const cur = readEflags(cpu);
  let changeable = IRET_BASE_FLAGS;
  if (cpl === 0) changeable |= FLAG_IOPL | FLAG_VIF | FLAG_VIP;
  if (cpl <= iopl(cpu)) changeable |= FLAG_IF;
  if (!o32) changeable &= 0xffff;
  if (rpl > cpl) {
    markAccessed(cpu);
    loadCache(cpu, Seg.SS, newSs);
  } else {
    cpu.setStackPointer(cpu.stackPointer + 3 * size);
  }
  commitCodeSegment(cpu, codeDesc, cs, newEip, rpl);
  if (rpl > cpl) {
    cpu.setStackPointer(newEsp);
    invalidateOuterSegments(cpu);
  }
  writeEflags(cpu, (cur & ~changeable) | (flags & changeable));
}

/**
 * IRET in real mode, or in V86 mode with IOPL 3: pop IP, CS, FLAGS. A
 * 16-bit IRET loads FLAGS[15:0]; a 32-bit one all but VM, VIF and VIP.
 * `keep` adds bits the popped image may not change (IOPL in V86 mode).
 */
function returnReal(cpu: Cpu, o32: boolean, keep: number): void {
  const st = cpu.st;
  const eip = o32 ? cpu.peek32(0) : cpu.peek16(0);
  const cs = (o32 ? cpu.peek32(4) : cpu.peek16(2)) & 0xffff;
  const flags = o32 ? cpu.peek32(8) : cpu.peek16(4);
  if ((eip >>> 0) > (st[S.SEG_LIMIT + Seg.CS] >>> 0)) cpu.raise(Vec.GP, 0);
  cpu.setStackPointer(cpu.stackPointer + (o32 ? 12 : 6));
  loadRealSegment(cpu, Seg.CS, cs);
  st[S.EIP] = eip;
  keep |= o32 ? FLAG_VM | FLAG_VIF | FLAG_VIP : ~0xffff;
  writeEflags(cpu, (readEflags(cpu) & keep) | (flags & ~keep));
  cpu.updateMode();
}

/**
 * VME: 16-bit IRET in V86 mode at IOPL < 3 (SDM IRET, "VME"). IF and IOPL
 * stay; the popped IF goes to VIF. Returning with IF set while an interrupt
 * is pending (VIP), or with TF set, traps to the monitor.
 */
function returnVirtual(cpu: Cpu): void {
  const st = cpu.st;
  const eip = cpu.peek16(0);
  const cs = cpu.peek16(2);
  const flags = cpu.peek16(4);
  if (((flags & FLAG_IF) && (st[S.EFLAGS] & FLAG_VIP)) || (flags & FLAG_TF)) cpu.raise(Vec.GP, 0);
  cpu.setStackPointer(cpu.stackPointer + 6);
  loadRealSegment(cpu, Seg.CS, cs);
  st[S.EIP] = eip;
  const cur = readEflags(cpu);
  const keep = ~0xffff | FLAG_IF | FLAG_IOPL;
  writeEflags(cpu, (cur & keep & ~FLAG_VIF) | (flags & ~keep) | (flags & FLAG_IF ? FLAG_VIF : 0));
}

/** IRETD at CPL 0 with VM set in the popped EFLAGS: resume a virtual-8086 task. */
function returnToV86(cpu: Cpu, eip: number, cs: number, flags: number): void {
  const st = cpu.st;
  const esp = cpu.peek32(12);
  const ss = cpu.peek32(16);
  const es = cpu.peek32(20);
  const ds = cpu.peek32(24);
  const fs = cpu.peek32(28);
  const gs = cpu.peek32(32);
  if ((eip >>> 0) > 0xffff) cpu.raise(Vec.GP, 0);
  writeEflags(cpu, flags);
  st[S.CPL] = 3;
  cpu.updateMode();
  loadRealSegment(cpu, Seg.CS, cs);
  loadRealSegment(cpu, Seg.SS, ss);
  loadRealSegment(cpu, Seg.ES, es);
  loadRealSegment(cpu, Seg.DS, ds);
  loadRealSegment(cpu, Seg.FS, fs);
  loadRealSegment(cpu, Seg.GS, gs);
  st[S.ESP] = esp;
  st[S.EIP] = eip;
  cpu.updateMode();
}
