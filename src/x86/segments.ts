// Segment register loads and descriptor-table access: real mode, virtual-8086
// mode, and protected mode with the type, privilege and presence checks of
// the SDM (vol. 3, 5.5–5.10). Descriptors are read into preallocated scratch
// objects so a load allocates nothing.
import { S, Seg, MODE_PROT, MODE_V86, TLB_READ, TLB_WRITE } from './state.ts';
import { Vec } from './faults.ts';
import type { Cpu } from './cpu.ts';

/** A descriptor as read from a table: its two dwords and the linear address it came from. */
export class Descriptor {
  lo = 0;
  hi = 0;
  addr = 0;
  copyFrom(d: Descriptor): void {
    this.lo = d.lo;
    this.hi = d.hi;
    this.addr = d.addr;
  }
}

/** The last descriptor read by readDescriptor. Callers that read another one first copy what they need. */
export const desc = new Descriptor();

/** Access-rights word value marking a segment unusable (null selector loaded in protected mode). */
export const SEG_UNUSABLE = 0x10000;

export function descBase(lo: number, hi: number): number {
  return ((lo >>> 16) | ((hi & 0xff) << 16) | (hi & 0xff000000)) | 0;
}

export function descLimit(lo: number, hi: number): number {
  const raw = (lo & 0xffff) | (hi & 0xf0000);
  return hi & 0x800000 ? ((raw << 12) | 0xfff) | 0 : raw;
}

/** Descriptor bytes 5–6 (type, S, DPL, P, then AVL, L, D/B, G), as kept in SEG_ACCESS. */
export function descAccess(hi: number): number {
  return (hi >>> 8) & 0xf0ff;
}

/** DPL of a descriptor's high dword. */
export function descDpl(hi: number): number {
  return (hi >>> 13) & 3;
}

// ---------------------------------------------------------------- system accesses
// Descriptor tables, the TSS and inner-level stacks are accessed as supervisor
// accesses whatever the CPL (SDM 4.6: "implicit supervisor-mode accesses").

function beginSupervisor(cpu: Cpu): boolean {
  const saved = cpu.supervisorOverride;
  cpu.supervisorOverride = true;
  return saved;
}

export function supervisorRead8(cpu: Cpu, lin: number): number {
  const mask = cpu.tlbReadMask;
  const saved = beginSupervisor(cpu);
  cpu.tlbReadMask = TLB_READ;
  try {
    return cpu.readLin8(lin);
  } finally {
    cpu.tlbReadMask = mask;
    cpu.supervisorOverride = saved;
  }
}

export function supervisorRead16(cpu: Cpu, lin: number): number {
  const mask = cpu.tlbReadMask;
  const saved = beginSupervisor(cpu);
  cpu.tlbReadMask = TLB_READ;
  try {
    return cpu.readLin16(lin);
  } finally {
    cpu.tlbReadMask = mask;
    cpu.supervisorOverride = saved;
  }
}

export function supervisorRead32(cpu: Cpu, lin: number): number {
  const mask = cpu.tlbReadMask;
  const saved = beginSupervisor(cpu);
  cpu.tlbReadMask = TLB_READ;
  try {
    return cpu.readLin32(lin);
  } finally {
    cpu.tlbReadMask = mask;
    cpu.supervisorOverride = saved;
  }
}

export function supervisorWrite16(cpu: Cpu, lin: number, v: number): void {
  const mask = cpu.tlbWriteMask;
  const saved = beginSupervisor(cpu);
  cpu.tlbWriteMask = TLB_WRITE;
  try {
    cpu.writeLin16(lin, v);
  } finally {
    cpu.tlbWriteMask = mask;
    cpu.supervisorOverride = saved;
  }
}

export function supervisorWrite32(cpu: Cpu, lin: number, v: number): void {
  const mask = cpu.tlbWriteMask;
  const saved = beginSupervisor(cpu);
  cpu.tlbWriteMask = TLB_WRITE;
  try {
    cpu.writeLin32(lin, v);
  } finally {
    cpu.tlbWriteMask = mask;
    cpu.supervisorOverride = saved;
  }
}

/** Checks that a supervisor write of `size` bytes at `lin` would succeed (paging only). */
export function supervisorProbeWrite(cpu: Cpu, lin: number, size: number): void {
  const mask = cpu.tlbWriteMask;
  const saved = beginSupervisor(cpu);
  cpu.tlbWriteMask = TLB_WRITE;
  try {
    cpu.probeWrite(lin, size);
  } finally {
    cpu.tlbWriteMask = mask;
    cpu.supervisorOverride = saved;
  }
}

// ---------------------------------------------------------------- descriptor tables

/**
 * Reads the descriptor a selector names into `desc`. Returns false if the
 * selector is outside its table (the caller raises the right fault).
 */
export function readDescriptor(cpu: Cpu, sel: number): boolean {
  const st = cpu.st;
  let base: number, limit: number;
  if (sel & 4) {
    // LLDT (or a task switch) with a null selector marks LDTR unusable: every LDT reference
    // then fails. The LDTR cache after reset is valid (base 0, limit 0xFFFF) on hardware.
    if (st[S.SEG_ACCESS + Seg.LDTR] & SEG_UNUSABLE) return false;
    base = st[S.SEG_BASE + Seg.LDTR];
    limit = st[S.SEG_LIMIT + Seg.LDTR];
  } else {
    base = st[S.GDTR_BASE];
    limit = st[S.GDTR_LIMIT];
  }
  const index = sel & 0xfff8;
  if (index + 7 > (limit >>> 0)) return false;
  desc.addr = (base + index) | 0;
  desc.lo = supervisorRead32(cpu, desc.addr);
  desc.hi = supervisorRead32(cpu, (desc.addr + 4) | 0);
  return true;
}

/** Like readDescriptor, but for system segments that must live in the GDT (TSS, LDT): TI=1 fails too. */
export function readGdtDescriptor(cpu: Cpu, sel: number): boolean {
  return (sel & 4) === 0 && readDescriptor(cpu, sel);
}

/** Sets the accessed bit of a descriptor, as the CPU does when loading it into a segment register. */
export function markAccessed(cpu: Cpu, d: Descriptor = desc): void {
  if (!(d.hi & 0x100)) {
    d.hi |= 0x100;
    supervisorWrite32(cpu, (d.addr + 4) | 0, d.hi);
  }
}

/** Loads a segment register's cache from a descriptor. */
export function loadCache(cpu: Cpu, seg: number, sel: number, d: Descriptor = desc): void {
  const st = cpu.st;
  st[S.SEG_SEL + seg] = sel;
  st[S.SEG_BASE + seg] = descBase(d.lo, d.hi);
  st[S.SEG_LIMIT + seg] = descLimit(d.lo, d.hi);
  st[S.SEG_ACCESS + seg] = descAccess(d.hi);
}

/** Loads a null selector into a data segment register: the register becomes unusable. */
export function loadNullSegment(cpu: Cpu, seg: number, sel: number): void {
  const st = cpu.st;
  st[S.SEG_SEL + seg] = sel & 0xffff;
  st[S.SEG_BASE + seg] = 0;
  st[S.SEG_LIMIT + seg] = 0;
  st[S.SEG_ACCESS + seg] = SEG_UNUSABLE;
}

/** Real-mode / V86 load: base = selector × 16. */
export function loadRealSegment(cpu: Cpu, seg: number, sel: number): void {
  const st = cpu.st;
  sel &= 0xffff;
  st[S.SEG_SEL + seg] = sel;
  st[S.SEG_BASE + seg] = sel << 4;
  if (st[S.MODE] & MODE_V86) {
    st[S.SEG_LIMIT + seg] = 0xffff;
    st[S.SEG_ACCESS + seg] = seg === Seg.CS ? 0xfb : 0xf3;
  } else if (st[S.SEG_ACCESS + seg] & SEG_UNUSABLE) {
    // A segment left unusable by protected mode becomes a normal real-mode one.
    st[S.SEG_LIMIT + seg] = 0xffff;
    st[S.SEG_ACCESS + seg] = 0x93;
  }
  // Otherwise the limit and attributes stay as protected mode left them ("unreal" mode).
}

/**
 * Validates `sel` for SS at privilege `cpl` (SDM MOV SS checks), leaving the
 * descriptor in `desc`. Type and privilege problems raise `vec` (#GP for
 * loads and returns, #TS for stacks named by a TSS) with the selector and
 * `ext`; a not-present segment raises #SS.
 */
export function checkStackSelector(cpu: Cpu, sel: number, cpl: number, vec: number, ext: number): void {
  if ((sel & 0xfffc) === 0) cpu.raise(vec, ext);
  const code = (sel & 0xfffc) | ext;
  if (!readDescriptor(cpu, sel)) cpu.raise(vec, code);
  const acc = descAccess(desc.hi);
  // Writable data: S=1, code=0, W=1.
  if ((sel & 3) !== cpl || ((acc >> 5) & 3) !== cpl || (acc & 0x1a) !== 0x12) cpu.raise(vec, code);
  if (!(acc & 0x80)) cpu.raise(Vec.SS, code);
}

/**
 * Validates `sel` for DS, ES, FS or GS at privilege `cpl`, leaving the
 * descriptor in `desc` (SDM MOV checks): `vec` for type/privilege faults,
 * #NP when not present.
 */
export function checkDataSelector(cpu: Cpu, sel: number, cpl: number, vec: number, ext: number): void {
  const code = (sel & 0xfffc) | ext;
  if (!readDescriptor(cpu, sel)) cpu.raise(vec, code);
  const acc = descAccess(desc.hi);
  const isCode = (acc & 0x8) !== 0;
  // Data, or readable code.
  if (!(acc & 0x10) || (isCode && !(acc & 0x2))) cpu.raise(vec, code);
  const conformingCode = isCode && (acc & 0x4) !== 0;
  const dpl = (acc >> 5) & 3;
  if (!conformingCode && ((sel & 3) > dpl || cpl > dpl)) cpu.raise(vec, code);
  if (!(acc & 0x80)) cpu.raise(Vec.NP, code);
}

/**
 * MOV/POP/LxS to DS, ES, FS, GS or SS. CS is loaded only by control
 * transfers (transfer.ts).
 */
export function loadSegment(cpu: Cpu, seg: number, sel: number): void {
  const st = cpu.st;
  sel &= 0xffff;
  if (!(st[S.MODE] & MODE_PROT) || (st[S.MODE] & MODE_V86)) {
    loadRealSegment(cpu, seg, sel);
    if (seg === Seg.SS) cpu.updateMode();
    return;
  }
  const cpl = st[S.CPL];
  if (seg === Seg.SS) {
    checkStackSelector(cpu, sel, cpl, Vec.GP, 0);
  } else {
    if ((sel & 0xfffc) === 0) {
      loadNullSegment(cpu, seg, sel);
      return;
    }
    checkDataSelector(cpu, sel, cpl, Vec.GP, 0);
  }
  markAccessed(cpu);
  loadCache(cpu, seg, sel);
  if (seg === Seg.SS) cpu.updateMode();
}

const DATA_SEGS = [Seg.ES, Seg.DS, Seg.FS, Seg.GS];

/**
 * After a privilege drop (far RET / IRET to an outer level), data segment
 * registers whose descriptors the new CPL may not use become null (SDM RET,
 * IRET: "FOR each SegReg in (ES, FS, GS, and DS)").
 */
export function invalidateOuterSegments(cpu: Cpu): void {
  const st = cpu.st;
  const cpl = st[S.CPL];
  for (let k = 0; k < DATA_SEGS.length; k++) {
    const seg = DATA_SEGS[k];
    const acc = st[S.SEG_ACCESS + seg];
    if (acc & SEG_UNUSABLE) continue;
    const dpl = (acc >> 5) & 3;
    const conformingCode = (acc & 0x1c) === 0x1c;
    if (!conformingCode && dpl < cpl) loadNullSegment(cpu, seg, 0);
  }
}

/**
 * Whether [off, off+size) lies inside a segment with these access rights
 * and limit: expand-up segments allow [0, limit], expand-down data segments
 * (limit, 0xFFFF] or (limit, 0xFFFFFFFF] by their B bit.
 */
export function segmentRangeOk(access: number, limit: number, off: number, size: number): boolean {
  if (access & SEG_UNUSABLE) return false;
  const first = off >>> 0;
  const last = first + size - 1;
  if ((access & 0xc) === 0x4) {
    const top = access & 0x4000 ? 0xffffffff : 0xffff;
    return first > (limit >>> 0) && last <= top;
  }
  return last <= (limit >>> 0);
}
