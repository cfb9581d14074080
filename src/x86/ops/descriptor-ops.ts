// Descriptor instructions (0F 00 group, 0F 02, 0F 03): SLDT, STR, LLDT,
// LTR, VERR, VERW, LAR, LSL. All are protected-mode only (#UD in real and
// V86 mode); the verifying ones report through ZF instead of faulting.
import type { InsnDef } from '../table/types.ts';
import { Fl } from '../table/types.ts';
import { sized } from '../table/builders.ts';
import type { Cpu } from '../cpu.ts';
import { S, Seg, FLAG_ZF } from '../state.ts';
import { Vec } from '../faults.ts';
import { A_REG, A_O32 } from '../decoded.ts';
import { getE16, setE16, setG16, setG32 } from '../operands.ts';
import { setFlagBits } from '../flags.ts';
import {
  desc, readDescriptor, readGdtDescriptor, descAccess, descLimit, loadCache, supervisorWrite32, SEG_UNUSABLE,
} from '../segments.ts';
import { TSS_BUSY_BIT } from '../tss.ts';
import { requireProtectedMode } from './segment.ts';
import { requireCpl0 } from './system.ts';

/** SLDT/STR: a register destination gets the selector zero-extended; memory always takes 16 bits. */
function storeSelector(cpu: Cpu, i: number, seg: number): void {
  requireProtectedMode(cpu);
  const sel = cpu.st[S.SEG_SEL + seg] & 0xffff;
  const p = cpu.pool;
  if ((p.attrs[i] & A_REG) && (p.attrs[i] & A_O32)) cpu.st[p.rm[i]] = sel;
  else setE16(cpu, i, sel);
}

function lldt(cpu: Cpu, i: number): void {
  requireProtectedMode(cpu);
  requireCpl0(cpu);
  const sel = getE16(cpu, i);
  const st = cpu.st;
  if ((sel & 0xfffc) === 0) {
    // A null LDTR makes every later LDT reference fault.
    st[S.SEG_SEL + Seg.LDTR] = sel;
    st[S.SEG_ACCESS + Seg.LDTR] = SEG_UNUSABLE;
    return;
  }
  if (!readGdtDescriptor(cpu, sel)) cpu.raise(Vec.GP, sel & 0xfffc);
  const acc = descAccess(desc.hi);
  if ((acc & 0x1f) !== 0x02) cpu.raise(Vec.GP, sel & 0xfffc);
  if (!(acc & 0x80)) cpu.raise(Vec.NP, sel & 0xfffc);
  loadCache(cpu, Seg.LDTR, sel);
}

/** LTR: loads TR from an available TSS descriptor in the GDT and marks it busy. */
function ltr(cpu: Cpu, i: number): void {
  requireProtectedMode(cpu);
  requireCpl0(cpu);
  const sel = getE16(cpu, i);
  if ((sel & 0xfffc) === 0) cpu.raise(Vec.GP, 0);
  if (!readGdtDescriptor(cpu, sel)) cpu.raise(Vec.GP, sel & 0xfffc);
  const acc = descAccess(desc.hi);
  if ((acc & 0x17) !== 0x01) cpu.raise(Vec.GP, sel & 0xfffc); // S = 0, type 1 or 9
  if (!(acc & 0x80)) cpu.raise(Vec.NP, sel & 0xfffc);
  desc.hi |= TSS_BUSY_BIT << 8;
  supervisorWrite32(cpu, (desc.addr + 4) | 0, desc.hi);
  loadCache(cpu, Seg.TR, sel);
}

/**
 * Reads the descriptor for LAR/LSL/VERR/VERW and applies the visibility
 * rule they share: a null or out-of-table selector fails, and so does a
 * descriptor that is not a conforming code segment whose DPL is below CPL
 * or the selector's RPL. Returns the access rights, or -1 to fail (ZF = 0).
 */
function visibleDescriptor(cpu: Cpu, sel: number): number {
  if ((sel & 0xfffc) === 0 || !readDescriptor(cpu, sel)) return -1;
  const acc = descAccess(desc.hi);
  const dpl = (acc >> 5) & 3;
  const conformingCode = (acc & 0x1c) === 0x1c;
  if (!conformingCode && (dpl < cpu.st[S.CPL] || dpl < (sel & 3))) return -1;
  return acc;
}

/** System descriptor types LAR accepts: TSSs, LDT, call gates, task gate. */
const LAR_SYSTEM = new Uint8Array(16);
for (const t of [1, 2, 3, 4, 5, 9, 11, 12]) LAR_SYSTEM[t] = 1;
/** System descriptor types LSL accepts: those with a limit (TSSs, LDT). */
const LSL_SYSTEM = new Uint8Array(16);
for (const t of [1, 2, 3, 9, 11]) LSL_SYSTEM[t] = 1;

function setZF(cpu: Cpu, on: boolean): void {
  setFlagBits(cpu.st, FLAG_ZF, on ? FLAG_ZF : 0);
}

/** LAR: access rights (descriptor dword 2 masked to 00F?FF00) into the destination; unchanged on failure. */
function lar(cpu: Cpu, i: number, o32: boolean): void {
  requireProtectedMode(cpu);
  const acc = visibleDescriptor(cpu, getE16(cpu, i));
  const ok = acc >= 0 && ((acc & 0x10) !== 0 || LAR_SYSTEM[acc & 0xf] === 1);
  if (ok) {
    if (o32) setG32(cpu, i, desc.hi & 0x00f0ff00); else setG16(cpu, i, desc.hi & 0xff00);
  }
  setZF(cpu, ok);
}

/** LSL: the segment limit in bytes (granularity applied); unchanged on failure. */
function lsl(cpu: Cpu, i: number, o32: boolean): void {
  requireProtectedMode(cpu);
  const acc = visibleDescriptor(cpu, getE16(cpu, i));
  const ok = acc >= 0 && ((acc & 0x10) !== 0 || LSL_SYSTEM[acc & 0xf] === 1);
  if (ok) {
    const limit = descLimit(desc.lo, desc.hi);
    if (o32) setG32(cpu, i, limit); else setG16(cpu, i, limit);
  }
  setZF(cpu, ok);
}

/** VERR/VERW: whether the segment is readable / writable at the current CPL and the selector's RPL. */
function verify(cpu: Cpu, i: number, write: boolean): void {
  requireProtectedMode(cpu);
  const acc = visibleDescriptor(cpu, getE16(cpu, i));
  let ok = acc >= 0 && (acc & 0x10) !== 0;
  if (ok) {
    const code = (acc & 0x8) !== 0;
    ok = write ? !code && (acc & 0x2) !== 0 : !code || (acc & 0x2) !== 0;
  }
  setZF(cpu, ok);
}

const zf = { flagsWritten: Fl.ZF };
export const descriptor_opsOps: InsnDef[] = [
  { opcode: 0x0f00, ext: 0, mnemonic: 'sldt', operands: 'Ew', exec: (cpu, i) => storeSelector(cpu, i, Seg.LDTR) },
  { opcode: 0x0f00, ext: 1, mnemonic: 'str', operands: 'Ew', exec: (cpu, i) => storeSelector(cpu, i, Seg.TR) },
  { opcode: 0x0f00, ext: 2, mnemonic: 'lldt', operands: 'Ew', privileged: true, exec: lldt },
  { opcode: 0x0f00, ext: 3, mnemonic: 'ltr', operands: 'Ew', privileged: true, exec: ltr },
  { opcode: 0x0f00, ext: 4, mnemonic: 'verr', operands: 'Ew', ...zf, exec: (cpu, i) => verify(cpu, i, false) },
  { opcode: 0x0f00, ext: 5, mnemonic: 'verw', operands: 'Ew', ...zf, exec: (cpu, i) => verify(cpu, i, true) },
  ...sized({ opcode: 0x0f02, mnemonic: 'lar', operands: 'Gv,Ew', ...zf }, (cpu, i) => lar(cpu, i, false), (cpu, i) => lar(cpu, i, true)),
  ...sized({ opcode: 0x0f03, mnemonic: 'lsl', operands: 'Gv,Ew', ...zf }, (cpu, i) => lsl(cpu, i, false), (cpu, i) => lsl(cpu, i, true)),
];
