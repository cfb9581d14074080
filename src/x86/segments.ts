// Segment register loads and descriptor-table access: real mode, virtual-8086
// mode, and protected mode with the type, privilege and presence checks of
// the SDM (vol. 3, 5.5–5.10). Descriptors are read into module scratch words
// so a load allocates nothing.
import { S, Seg, MODE_PROT, MODE_V86, TLB_READ, TLB_WRITE } from './state.ts';
import { Vec } from './faults.ts';
import type { Cpu } from './cpu.ts';

/** The last descriptor read by readDescriptor: low and high dwords, and its linear address. */
export const desc = { lo: 0, hi: 0, addr: 0 };

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

/** Runs a descriptor-table access as a supervisor access, whatever the CPL. */
export function supervisorRead32(cpu: Cpu, lin: number): number {
  const saved = cpu.tlbReadMask;
  const savedOverride = cpu.supervisorOverride;
  cpu.tlbReadMask = TLB_READ;
  cpu.supervisorOverride = true;
  try {
    return cpu.readLin32(lin);
  } finally {
    cpu.tlbReadMask = saved;
    cpu.supervisorOverride = savedOverride;
  }
}

export function supervisorWrite32(cpu: Cpu, lin: number, v: number): void {
  const saved = cpu.tlbWriteMask;
  const savedOverride = cpu.supervisorOverride;
  cpu.tlbWriteMask = TLB_WRITE;
  cpu.supervisorOverride = true;
  try {
    cpu.writeLin32(lin, v);
  } finally {
    cpu.tlbWriteMask = saved;
    cpu.supervisorOverride = savedOverride;
  }
}

/**
 * Reads the descriptor a selector names into `desc`. Returns false if the
 * selector is outside its table (the caller raises the right fault).
 */
export function readDescriptor(cpu: Cpu, sel: number): boolean {
  const st = cpu.st;
  let base: number, limit: number;
  if (sel & 4) {
    if (st[S.SEG_ACCESS + Seg.LDTR] & SEG_UNUSABLE || (st[S.SEG_SEL + Seg.LDTR] & ~3) === 0) return false;
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

/** Sets the accessed bit of the descriptor last read, as the CPU does on a load. */
export function markAccessed(cpu: Cpu): void {
  if (!(desc.hi & 0x100)) {
    desc.hi |= 0x100;
    supervisorWrite32(cpu, (desc.addr + 4) | 0, desc.hi);
  }
}

/** Loads a segment register's cache from the descriptor in `desc`. */
export function loadCache(cpu: Cpu, seg: number, sel: number): void {
  const st = cpu.st;
  st[S.SEG_SEL + seg] = sel;
  st[S.SEG_BASE + seg] = descBase(desc.lo, desc.hi);
  st[S.SEG_LIMIT + seg] = descLimit(desc.lo, desc.hi);
  st[S.SEG_ACCESS + seg] = descAccess(desc.hi);
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
  const rpl = sel & 3;
  if ((sel & 0xfffc) === 0) {
    if (seg === Seg.SS) cpu.raise(Vec.GP, 0);
    st[S.SEG_SEL + seg] = sel;
    st[S.SEG_BASE + seg] = 0;
    st[S.SEG_LIMIT + seg] = 0;
    st[S.SEG_ACCESS + seg] = SEG_UNUSABLE;
    return;
  }
  if (!readDescriptor(cpu, sel)) cpu.raise(Vec.GP, sel & 0xfffc);
  const acc = descAccess(desc.hi);
  const dpl = (acc >> 5) & 3;
  const isSegment = (acc & 0x10) !== 0;
  const isCode = (acc & 0x8) !== 0;
  if (seg === Seg.SS) {
    const writableData = isSegment && !isCode && (acc & 0x2) !== 0;
    if (rpl !== cpl || dpl !== cpl || !writableData) cpu.raise(Vec.GP, sel & 0xfffc);
    if (!(acc & 0x80)) cpu.raise(Vec.SS, sel & 0xfffc);
  } else {
    const readable = isSegment && (!isCode || (acc & 0x2) !== 0);
    if (!readable) cpu.raise(Vec.GP, sel & 0xfffc);
    const conformingCode = isCode && (acc & 0x4) !== 0;
    if (!conformingCode && (rpl > dpl || cpl > dpl)) cpu.raise(Vec.GP, sel & 0xfffc);
    if (!(acc & 0x80)) cpu.raise(Vec.NP, sel & 0xfffc);
  }
  markAccessed(cpu);
  loadCache(cpu, seg, sel);
  if (seg === Seg.SS) cpu.updateMode();
}

/**
 * After a privilege drop (far RET / IRET to an outer level), data segment
 * registers whose descriptors the new CPL may not use become null (SDM 5.10.x).
 */
export function invalidateOuterSegments(cpu: Cpu): void {
  const st = cpu.st;
  const cpl = st[S.CPL];
  for (const seg of [Seg.ES, Seg.DS, Seg.FS, Seg.GS]) {
    const acc = st[S.SEG_ACCESS + seg];
    if (acc & SEG_UNUSABLE) continue;
    const dpl = (acc >> 5) & 3;
    const conformingCode = (acc & 0xc) === 0xc;
    if (!conformingCode && dpl < cpl) {
      st[S.SEG_SEL + seg] = 0;
      st[S.SEG_ACCESS + seg] = SEG_UNUSABLE;
    }
  }
}
