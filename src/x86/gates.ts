// Far JMP/CALL through system descriptors (SDM JMP and CALL pseudocode):
// 16- and 32-bit call gates, at the same privilege or, for CALL, to an
// inner level with the stack switch from the TSS and the copy of the gate's
// parameter count; task gates and TSS descriptors go to tasks.ts.
import { S, Seg, MODE_SS32 } from './state.ts';
import { Vec } from './faults.ts';
import type { Cpu } from './cpu.ts';
import {
  desc, Descriptor, readDescriptor, descAccess, descDpl, loadCache, markAccessed, checkStackSelector,
} from './segments.ts';
import { FarKind, checkCodeLimit, commitCodeSegment } from './transfer.ts';
import { taskJumpOrCall } from './tasks.ts';
import { readTssStack } from './tss.ts';
import { StackFrame } from './stack-frame.ts';

const codeDesc = new Descriptor();
const stackDesc = new Descriptor();
const frame = new StackFrame();
/** Parameters copied from the caller's stack (at most 31). */
const params = new Int32Array(32);

/**
 * JMP or CALL whose selector `sel` names a system descriptor (now in
 * `desc`). `_o32` is the instruction's operand size; through a gate the
 * gate's own size decides the size of EIP and of the pushed frame.
 */
export function farGateTransfer(cpu: Cpu, kind: FarKind, sel: number, _o32: boolean): void {
  const st = cpu.st;
  const type = (desc.hi >>> 8) & 0xf;
  const dpl = descDpl(desc.hi);
  const cpl = st[S.CPL];
  switch (type) {
    case 1: case 3: case 9: case 11: // TSS (available or busy)
    case 5: // task gate
      if (dpl < cpl || dpl < (sel & 3)) cpu.raise(Vec.GP, sel & 0xfffc);
      taskJumpOrCall(cpu, sel, kind === FarKind.CALL);
      return;
    case 4: case 12:
      callGate(cpu, kind, sel, type === 12);
      return;
    default:
      cpu.raise(Vec.GP, sel & 0xfffc);
  }
}

function callGate(cpu: Cpu, kind: FarKind, gateSel: number, gate32: boolean): void {
  const st = cpu.st;
  const cpl = st[S.CPL];
  if (descDpl(desc.hi) < cpl || descDpl(desc.hi) < (gateSel & 3)) cpu.raise(Vec.GP, gateSel & 0xfffc);
  if (!(desc.hi & 0x8000)) cpu.raise(Vec.NP, gateSel & 0xfffc);
  const sel = (desc.lo >>> 16) & 0xffff;
  const offset = gate32 ? (desc.hi & 0xffff0000) | (desc.lo & 0xffff) : desc.lo & 0xffff;
  const count = desc.hi & 0x1f;

  if ((sel & 0xfffc) === 0) cpu.raise(Vec.GP, 0);
  if (!readDescriptor(cpu, sel)) cpu.raise(Vec.GP, sel & 0xfffc);
  const acc = descAccess(desc.hi);
  const dpl = (acc >> 5) & 3;
  const conforming = (acc & 0x4) !== 0;
  if ((acc & 0x18) !== 0x18 || dpl > cpl) cpu.raise(Vec.GP, sel & 0xfffc);
  // JMP never changes privilege: a non-conforming target must be at CPL.
  if (kind === FarKind.JMP && !conforming && dpl !== cpl) cpu.raise(Vec.GP, sel & 0xfffc);
  if (!(acc & 0x80)) cpu.raise(Vec.NP, sel & 0xfffc);
  codeDesc.copyFrom(desc);

  if (kind === FarKind.JMP) {
    checkCodeLimit(cpu, codeDesc, offset, 0);
    commitCodeSegment(cpu, codeDesc, sel, offset, cpl);
    return;
  }
  if (!conforming && dpl < cpl) {
    callInner(cpu, sel, offset, dpl, count, gate32);
    return;
  }
  frame.onCurrentStack(cpu, 0);
  frame.reserve(cpu, 2, gate32 ? 4 : 2);
  checkCodeLimit(cpu, codeDesc, offset, 0);
  frame.push(cpu, st[S.SEG_SEL + Seg.CS], gate32);
  frame.push(cpu, st[S.EIP], gate32);
  st[S.ESP] = frame.esp;
  commitCodeSegment(cpu, codeDesc, sel, offset, cpl);
}

/** CALL through a gate to a more privileged non-conforming segment (codeDesc). */
function callInner(cpu: Cpu, sel: number, offset: number, dpl: number, count: number, gate32: boolean): void {
  const st = cpu.st;
  const stack = readTssStack(cpu, dpl, 0);
  const ss = stack.ss;
  checkStackSelector(cpu, ss, dpl, Vec.TS, 0);
  stackDesc.copyFrom(desc);

  // The parameters come from the caller's stack, read with its privilege.
  const size = gate32 ? 4 : 2;
  const big = (st[S.MODE] & MODE_SS32) !== 0;
  for (let k = 0; k < count; k++) {
    const off = st[S.ESP] + k * size;
    params[k] = gate32 ? cpu.read32(Seg.SS, big ? off : off & 0xffff) : cpu.read16(Seg.SS, big ? off : off & 0xffff);
  }
  frame.onNewStack(stackDesc, stack.esp, true, ss & 0xfffc);
  frame.reserve(cpu, 4 + count, size);
  checkCodeLimit(cpu, codeDesc, offset, 0);
  frame.push(cpu, st[S.SEG_SEL + Seg.SS], gate32);
  frame.push(cpu, st[S.ESP], gate32);
  for (let k = count - 1; k >= 0; k--) frame.push(cpu, params[k], gate32);
  frame.push(cpu, st[S.SEG_SEL + Seg.CS], gate32);
  frame.push(cpu, st[S.EIP], gate32);

  markAccessed(cpu, stackDesc);
  loadCache(cpu, Seg.SS, (ss & 0xfffc) | dpl, stackDesc);
  st[S.ESP] = frame.esp;
  commitCodeSegment(cpu, codeDesc, sel, offset, dpl);
}
