// Hardware task switching (SDM vol. 3, 7.3): JMP/CALL to a TSS descriptor
// or task gate, interrupts and exceptions through task gates, and IRET with
// EFLAGS.NT. The switch reads the whole new TSS and checks that the old one
// is writable before changing anything; from the moment the old state is
// saved, faults belong to the new task (SDM table 7-1), so EIP_START moves
// to the new task's EIP and its segment loads fault there.
import { S, Seg, CR0_TS, CR0_PG, FLAG_NT, FLAG_VM, FLAG_RF } from './state.ts';
import { Vec } from './faults.ts';
import type { Cpu } from './cpu.ts';
import {
  desc, Descriptor, readDescriptor, readGdtDescriptor, descAccess, descBase, descLimit, descDpl, loadCache,
  loadRealSegment, markAccessed, supervisorRead16, supervisorRead32, supervisorWrite16, supervisorWrite32,
  supervisorProbeWrite, checkStackSelector, checkDataSelector, SEG_UNUSABLE,
} from './segments.ts';
import { readEflags, writeEflags } from './interrupts.ts';
import { StackFrame } from './stack-frame.ts';
import { tssLayout, TSS_BUSY_BIT, type TssLayout } from './tss.ts';
import { loadCr3 } from './paging.ts';

export const enum TaskSource { JMP = 0, CALL = 1, IRET = 2, INT = 3 }

const tssDesc = new Descriptor();
const codeDesc = new Descriptor();
const frame = new StackFrame();

/** The new task's state, read from its TSS before anything changes. */
const incoming = {
  eip: 0, eflags: 0, cr3: 0, ldt: 0, trap: 0,
  regs: new Int32Array(8),
  segs: new Int32Array(6),
};

/** Sets or clears the busy bit of the TSS descriptor `sel` in the GDT. */
function setBusy(cpu: Cpu, sel: number, busy: boolean): void {
  const addr = (cpu.st[S.GDTR_BASE] + (sel & 0xfff8) + 4) | 0;
  const hi = supervisorRead32(cpu, addr);
  const bit = TSS_BUSY_BIT << 8;
  supervisorWrite32(cpu, addr, busy ? hi | bit : hi & ~bit);
}

/**
 * JMP or CALL whose selector named a task gate or TSS descriptor (in
 * `desc`, privilege against CPL and RPL already checked by the caller).
 */
export function taskJumpOrCall(cpu: Cpu, sel: number, call: boolean): void {
  const source = call ? TaskSource.CALL : TaskSource.JMP;
  const type = (desc.hi >>> 8) & 0xf;
  if (type === 5) {
    if (!(desc.hi & 0x8000)) cpu.raise(Vec.NP, sel & 0xfffc);
    const tssSel = (desc.lo >>> 16) & 0xffff;
    readTaskGateTarget(cpu, tssSel, 0);
    switchTask(cpu, tssSel, source, 0, 0);
    finishSwitch(cpu, 0);
    return;
  }
  // A busy TSS cannot be entered by JMP or CALL.
  if ((type & 7) !== 1) cpu.raise(Vec.GP, sel & 0xfffc);
  if (!(desc.hi & 0x8000)) cpu.raise(Vec.NP, sel & 0xfffc);
  tssDesc.copyFrom(desc);
  switchTask(cpu, sel, source, 0, 0);
  finishSwitch(cpu, 0);
}

/**
 * Reads the TSS descriptor a task gate names into tssDesc, with the checks
 * for gates: in the GDT (#GP), an available TSS (#GP), present (#NP).
 */
function readTaskGateTarget(cpu: Cpu, tssSel: number, ext: number): void {
  const code = (tssSel & 0xfffc) | ext;
  if (!readGdtDescriptor(cpu, tssSel)) cpu.raise(Vec.GP, code);
  const acc = descAccess(desc.hi);
  if ((acc & 0x17) !== 0x01) cpu.raise(Vec.GP, code); // S = 0, type 1 or 9 (available)
  if (!(acc & 0x80)) cpu.raise(Vec.NP, code);
  tssDesc.copyFrom(desc);
}

/**
 * An interrupt or exception whose IDT entry is a task gate naming `tssSel`.
 * The error code, if any, is pushed on the new task's stack. `savedRf` is
 * the RF bit to store in the old task's EFLAGS image (set for faults).
 */
export function taskGateInterrupt(cpu: Cpu, tssSel: number, errorCode: number, ext: number, savedRf: number): void {
  readTaskGateTarget(cpu, tssSel, ext);
  switchTask(cpu, tssSel, TaskSource.INT, ext, savedRf);
  if (errorCode >= 0) {
    const st = cpu.st;
    frame.onCurrentStack(cpu, ext);
    frame.push(cpu, errorCode, (tssDesc.hi & 0x800) !== 0);
    st[S.ESP] = frame.esp;
  }
  finishSwitch(cpu, ext);
}

/** IRET with EFLAGS.NT: return to the task named by the current TSS's back link. */
export function taskReturn(cpu: Cpu): void {
  const st = cpu.st;
  const link = supervisorRead16(cpu, st[S.SEG_BASE + Seg.TR]);
  if (!readGdtDescriptor(cpu, link)) cpu.raise(Vec.TS, link & 0xfffc);
  const acc = descAccess(desc.hi);
  if ((acc & 0x17) !== 0x03) cpu.raise(Vec.TS, link & 0xfffc); // S = 0, busy TSS (3 or 11)
  if (!(acc & 0x80)) cpu.raise(Vec.NP, link & 0xfffc);
  tssDesc.copyFrom(desc);
  switchTask(cpu, link, TaskSource.IRET, 0, 0);
  finishSwitch(cpu, 0);
}

function readIncoming(cpu: Cpu, base: number, t: TssLayout): void {
  const rd = t.width === 4 ? supervisorRead32 : supervisorRead16;
  incoming.eip = rd(cpu, (base + t.eip) | 0);
  incoming.eflags = rd(cpu, (base + t.eflags) | 0);
  for (let r = 0; r < 8; r++) incoming.regs[r] = rd(cpu, (base + t.regs + r * t.width) | 0);
  incoming.segs.fill(0);
  for (let s = 0; s < t.segCount; s++) incoming.segs[s] = supervisorRead16(cpu, (base + t.segs + s * t.segStride) | 0);
  incoming.ldt = supervisorRead16(cpu, (base + t.ldt) | 0);
  incoming.cr3 = t.cr3 >= 0 ? supervisorRead32(cpu, (base + t.cr3) | 0) : 0;
  incoming.trap = t.trap >= 0 ? supervisorRead16(cpu, (base + t.trap) | 0) & 1 : 0;
}

function saveOutgoing(cpu: Cpu, base: number, t: TssLayout, eflags: number): void {
  const st = cpu.st;
  const wr = t.width === 4 ? supervisorWrite32 : supervisorWrite16;
  wr(cpu, (base + t.eip) | 0, st[S.EIP]);
  wr(cpu, (base + t.eflags) | 0, eflags);
  for (let r = 0; r < 8; r++) wr(cpu, (base + t.regs + r * t.width) | 0, st[r]);
  for (let s = 0; s < t.segCount; s++) supervisorWrite16(cpu, (base + t.segs + s * t.segStride) | 0, st[S.SEG_SEL + s]);
}

/**
 * The task switch proper, to the TSS `sel` whose descriptor is in tssDesc
 * (type, busy state and presence already checked for the source).
 */
function switchTask(cpu: Cpu, sel: number, source: TaskSource, ext: number, savedRf: number): void {
  const st = cpu.st;
  const newType = (tssDesc.hi >>> 8) & 0xf;
  const t = tssLayout(newType);
  const newBase = descBase(tssDesc.lo, tssDesc.hi);
  const newLimit = descLimit(tssDesc.lo, tssDesc.hi);
  if ((newLimit >>> 0) < t.minLimit) cpu.raise(Vec.TS, (sel & 0xfffc) | ext);

  // Read the new task's state and make sure the old TSS (and the new one's
  // link field) can be written, so nothing below faults in the old task.
  readIncoming(cpu, newBase, t);
  const oldSel = st[S.SEG_SEL + Seg.TR];
  const oldBase = st[S.SEG_BASE + Seg.TR];
  const old = tssLayout(st[S.SEG_ACCESS + Seg.TR]);
  supervisorProbeWrite(cpu, (oldBase + old.saveFirst) | 0, old.saveLast - old.saveFirst + 1);
  if (source === TaskSource.CALL || source === TaskSource.INT) supervisorProbeWrite(cpu, newBase, 2);

  if (source === TaskSource.JMP || source === TaskSource.IRET) setBusy(cpu, oldSel, false);
  let oldFlags = readEflags(cpu) & ~FLAG_RF;
  oldFlags |= savedRf;
  if (source === TaskSource.IRET) oldFlags &= ~FLAG_NT;
  saveOutgoing(cpu, oldBase, old, oldFlags);

  // From here on the switch is committed: exceptions are taken in the new task.
  let newFlags = incoming.eflags;
  if (source === TaskSource.CALL || source === TaskSource.INT) {
    supervisorWrite16(cpu, newBase, oldSel);
    newFlags |= FLAG_NT;
  }
  if (source !== TaskSource.IRET) {
    setBusy(cpu, sel, true);
    tssDesc.hi |= TSS_BUSY_BIT << 8;
  }
  st[S.CR] |= CR0_TS;
  loadCache(cpu, Seg.TR, sel & 0xffff, tssDesc);
  if ((newType & 8) && (st[S.CR] & CR0_PG)) loadCr3(cpu, incoming.cr3);

  st[S.EIP] = incoming.eip;
  st[S.EIP_START] = incoming.eip;
  if (t.width === 4) {
    writeEflags(cpu, newFlags);
    for (let r = 0; r < 8; r++) st[r] = incoming.regs[r];
  } else {
    // A 16-bit TSS holds only the low halves; the rest of EFLAGS and the registers are kept.
    writeEflags(cpu, (readEflags(cpu) & ~0xffff) | (newFlags & 0xffff));
    for (let r = 0; r < 8; r++) st[r] = (st[r] & ~0xffff) | (incoming.regs[r] & 0xffff);
  }
  // Local breakpoint enables belong to the old task (SDM 17.2.4).
  st[S.DR + 7] &= ~0x155;

  const v86 = (st[S.EFLAGS] & FLAG_VM) !== 0;
  if (v86) {
    st[S.CPL] = 3;
    for (let s = 0; s < 6; s++) loadRealSegment(cpu, s, incoming.segs[s]);
  } else {
    // Selectors first, with unusable caches: if a descriptor load faults,
    // the handler sees the new task's selectors as hardware leaves them.
    st[S.CPL] = incoming.segs[Seg.CS] & 3;
    for (let s = 0; s < 6; s++) {
      st[S.SEG_SEL + s] = incoming.segs[s];
      if (s !== Seg.CS && s !== Seg.SS) st[S.SEG_ACCESS + s] = SEG_UNUSABLE;
    }
  }
  cpu.updateMode();
  loadTaskLdt(cpu, incoming.ldt, ext);
  if (!v86) loadTaskSegments(cpu, ext);
  cpu.updateMode();
}

/**
 * The last steps, after the switch and any error-code push (SDM JMP, CALL,
 * INT, IRET: "IF EIP not within code segment limit THEN #GP"), and the T-bit
 * debug trap before the new task's first instruction (DR6.BT).
 */
function finishSwitch(cpu: Cpu, ext: number): void {
  const st = cpu.st;
  if ((st[S.EIP] >>> 0) > (st[S.SEG_LIMIT + Seg.CS] >>> 0)) cpu.raise(Vec.GP, ext);
  if (incoming.trap) {
    st[S.DR + 6] |= 0x8000;
    cpu.raise(Vec.DB);
  }
}

function loadTaskLdt(cpu: Cpu, ldt: number, ext: number): void {
  const st = cpu.st;
  st[S.SEG_SEL + Seg.LDTR] = ldt;
  st[S.SEG_ACCESS + Seg.LDTR] = SEG_UNUSABLE;
  if ((ldt & 0xfffc) === 0) return;
  const code = (ldt & 0xfffc) | ext;
  if (!readGdtDescriptor(cpu, ldt)) cpu.raise(Vec.TS, code);
  const acc = descAccess(desc.hi);
  if ((acc & 0x1f) !== 0x02 || !(acc & 0x80)) cpu.raise(Vec.TS, code);
  loadCache(cpu, Seg.LDTR, ldt);
}

/** Loads CS, SS, DS, ES, FS, GS of the new task with the checks of SDM table 7-1. */
function loadTaskSegments(cpu: Cpu, ext: number): void {
  const st = cpu.st;
  const cpl = st[S.CPL];
  const csSel = incoming.segs[Seg.CS];
  const csCode = (csSel & 0xfffc) | ext;
  if ((csSel & 0xfffc) === 0 || !readDescriptor(cpu, csSel)) cpu.raise(Vec.TS, csCode);
  const acc = descAccess(desc.hi);
  const dpl = descDpl(desc.hi);
  if ((acc & 0x18) !== 0x18) cpu.raise(Vec.TS, csCode);
  if (acc & 0x4 ? dpl > cpl : dpl !== cpl) cpu.raise(Vec.TS, csCode);
  if (!(acc & 0x80)) cpu.raise(Vec.NP, csCode);
  codeDesc.copyFrom(desc);

  checkStackSelector(cpu, incoming.segs[Seg.SS], cpl, Vec.TS, ext);
  markAccessed(cpu);
  loadCache(cpu, Seg.SS, incoming.segs[Seg.SS]);

  markAccessed(cpu, codeDesc);
  loadCache(cpu, Seg.CS, csSel, codeDesc);

  for (const seg of DATA_SEG_ORDER) {
    const sel = incoming.segs[seg];
    if ((sel & 0xfffc) === 0) continue; // stays unusable
    checkDataSelector(cpu, sel, cpl, Vec.TS, ext);
    markAccessed(cpu);
    loadCache(cpu, seg, sel);
  }
}

const DATA_SEG_ORDER = [Seg.DS, Seg.ES, Seg.FS, Seg.GS];
