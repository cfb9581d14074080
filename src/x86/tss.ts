// Task-state segment access used by privilege changes: the inner-level
// stack pointers (SS0:ESP0 ...) and the I/O permission bitmap.
import { S, Seg } from './state.ts';
import { Vec } from './faults.ts';
import type { Cpu } from './cpu.ts';
import { supervisorRead32 } from './segments.ts';

const stackScratch = { ss: 0, esp: 0 };

/** SS:ESP for privilege level `dpl` from the current TSS (32- or 16-bit format). */
export function readTssStack(cpu: Cpu, dpl: number, ext: number): { ss: number; esp: number } {
  const st = cpu.st;
  const type = (st[S.SEG_ACCESS + Seg.TR] & 0xf);
  const base = st[S.SEG_BASE + Seg.TR];
  const limit = st[S.SEG_LIMIT + Seg.TR] >>> 0;
  const trSel = st[S.SEG_SEL + Seg.TR] & 0xfffc;
  if (type === 0x9 || type === 0xb) {
    const off = 4 + dpl * 8;
    if (off + 5 > limit) cpu.raise(Vec.TS, trSel + ext);
    stackScratch.esp = supervisorRead32(cpu, (base + off) | 0);
    stackScratch.ss = supervisorRead32(cpu, (base + off + 4) | 0) & 0xffff;
  } else {
    const off = 2 + dpl * 4;
    if (off + 3 > limit) cpu.raise(Vec.TS, trSel + ext);
    const v = supervisorRead32(cpu, (base + off) | 0);
    stackScratch.esp = v & 0xffff;
    stackScratch.ss = (v >>> 16) & 0xffff;
  }
  return stackScratch;
}

/**
 * Whether the I/O permission bitmap of a 32-bit TSS allows `size` bytes at
 * `port` (used when CPL > IOPL or in V86 mode).
 */
export function ioPermitted(cpu: Cpu, port: number, size: number): boolean {
  const st = cpu.st;
  const type = st[S.SEG_ACCESS + Seg.TR] & 0xf;
  if (type !== 0x9 && type !== 0xb) return false;
  const base = st[S.SEG_BASE + Seg.TR];
  const limit = st[S.SEG_LIMIT + Seg.TR] >>> 0;
  if (limit < 0x67) return false;
  const mapBase = supervisorRead32(cpu, (base + 0x64) | 0) >>> 16;
  const byteOff = mapBase + (port >>> 3);
  if (byteOff + 1 > limit) return false;
  const bits = supervisorRead32(cpu, (base + byteOff) | 0) & 0xffff;
  const mask = ((1 << size) - 1) << (port & 7);
  return (bits & mask) === 0;
}
