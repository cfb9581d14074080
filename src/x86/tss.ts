// The task-state segment: its two formats (16-bit 80286 and 32-bit), the
// inner-level stack pointers read on privilege changes, the I/O permission
// bitmap, and the VME software-interrupt redirection bitmap. Task switching
// itself (tasks.ts) saves and loads state through the layouts here.
import { S, Seg } from './state.ts';
import { Vec } from './faults.ts';
import type { Cpu } from './cpu.ts';
import { supervisorRead8, supervisorRead16, supervisorRead32 } from './segments.ts';

/** System descriptor types (S = 0) that are TSS descriptors. */
export const TSS16_AVAILABLE = 1, TSS16_BUSY = 3, TSS32_AVAILABLE = 9, TSS32_BUSY = 11;
/** Type bit that marks a TSS busy. */
export const TSS_BUSY_BIT = 2;

/** Field offsets and the minimum limit of one TSS format. */
export interface TssLayout {
  /** Smallest valid limit (the last byte of the fixed part). */
  minLimit: number;
  /** Register field width: 4 for the 32-bit TSS, 2 for the 16-bit one. */
  width: number;
  eip: number;
  eflags: number;
  /** EAX..EDI in ModRM order, `width` bytes apart. */
  regs: number;
  /** ES, CS, SS, DS (and FS, GS for 32-bit), `segStride` bytes apart. */
  segs: number;
  segStride: number;
  segCount: number;
  ldt: number;
  /** CR3 (32-bit only; -1 when absent). */
  cr3: number;
  /** Debug trap word (32-bit only; -1 when absent). */
  trap: number;
  /** First and last byte the CPU writes when it saves a task's state here. */
  saveFirst: number;
  saveLast: number;
}

export const TSS32: TssLayout = {
  minLimit: 0x67, width: 4, eip: 0x20, eflags: 0x24, regs: 0x28, segs: 0x48, segStride: 4, segCount: 6,
  ldt: 0x60, cr3: 0x1c, trap: 0x64, saveFirst: 0x20, saveLast: 0x5d,
};

export const TSS16: TssLayout = {
  minLimit: 0x2b, width: 2, eip: 0x0e, eflags: 0x10, regs: 0x12, segs: 0x22, segStride: 2, segCount: 4,
  ldt: 0x2a, cr3: -1, trap: -1, saveFirst: 0x0e, saveLast: 0x29,
};

export function tssLayout(type: number): TssLayout {
  return type & 8 ? TSS32 : TSS16;
}

/** Whether the TR cache describes a 32-bit TSS. */
function currentTssIs32(cpu: Cpu): boolean {
  return (cpu.st[S.SEG_ACCESS + Seg.TR] & 0x8) !== 0;
}

const stackScratch = { ss: 0, esp: 0 };

/**
 * SS:ESP for privilege level `dpl` from the current TSS (32- or 16-bit
 * format); #TS(TR selector + EXT) if the fields lie beyond the TSS limit.
 */
export function readTssStack(cpu: Cpu, dpl: number, ext: number): { ss: number; esp: number } {
  const st = cpu.st;
  const base = st[S.SEG_BASE + Seg.TR];
  const limit = st[S.SEG_LIMIT + Seg.TR] >>> 0;
  const fault = (st[S.SEG_SEL + Seg.TR] & 0xfffc) | ext;
  if (currentTssIs32(cpu)) {
    const off = 4 + dpl * 8;
    if (off + 5 > limit) cpu.raise(Vec.TS, fault);
    stackScratch.esp = supervisorRead32(cpu, (base + off) | 0);
    stackScratch.ss = supervisorRead16(cpu, (base + off + 4) | 0);
  } else {
    const off = 2 + dpl * 4;
    if (off + 3 > limit) cpu.raise(Vec.TS, fault);
    stackScratch.esp = supervisorRead16(cpu, (base + off) | 0);
    stackScratch.ss = supervisorRead16(cpu, (base + off + 2) | 0);
  }
  return stackScratch;
}

/** The I/O map base of a 32-bit TSS, or -1 if the TSS cannot have one. */
function ioMapBase(cpu: Cpu): number {
  const st = cpu.st;
  if (!currentTssIs32(cpu) || (st[S.SEG_LIMIT + Seg.TR] >>> 0) < 0x67) return -1;
  return supervisorRead16(cpu, (st[S.SEG_BASE + Seg.TR] + 0x66) | 0);
}

/**
 * Whether the I/O permission bitmap of a 32-bit TSS allows `size` bytes at
 * `port` (consulted when CPL > IOPL or in V86 mode). The CPU always reads
 * two bitmap bytes; either beyond the TSS limit denies the access.
 */
export function ioPermitted(cpu: Cpu, port: number, size: number): boolean {
  const mapBase = ioMapBase(cpu);
  if (mapBase < 0) return false;
  const st = cpu.st;
  const byteOff = mapBase + (port >>> 3);
  if (byteOff + 1 > (st[S.SEG_LIMIT + Seg.TR] >>> 0)) return false;
  const bits = supervisorRead16(cpu, (st[S.SEG_BASE + Seg.TR] + byteOff) | 0);
  const mask = ((1 << size) - 1) << (port & 7);
  return (bits & mask) === 0;
}

/**
 * VME: whether software interrupt `vector` in V86 mode is redirected to the
 * V86 task's own IVT (its bit in the 32-byte redirection bitmap just below
 * the I/O map base is clear). A bitmap outside the TSS raises #GP(0).
 */
export function softIntRedirected(cpu: Cpu, vector: number): boolean {
  const mapBase = ioMapBase(cpu);
  if (mapBase < 0) cpu.raise(Vec.GP, 0);
  const off = mapBase - 32 + (vector >>> 3);
  if (off < 0 || off > (cpu.st[S.SEG_LIMIT + Seg.TR] >>> 0)) cpu.raise(Vec.GP, 0);
  const byte = supervisorRead8(cpu, (cpu.st[S.SEG_BASE + Seg.TR] + off) | 0);
  return ((byte >> (vector & 7)) & 1) === 0;
}
