// Building a frame (interrupt, exception or call-gate return frame) on a
// stack before the CPU commits to a transfer. The frame is written through
// its own copy of the stack pointer and segment, so a fault part-way (limit,
// page fault) leaves every register as it was and the instruction restarts
// cleanly, as on hardware; only the caller's commit changes SS:ESP.
import { S, Seg, MODE_SS32 } from './state.ts';
import { Vec } from './faults.ts';
import type { Cpu } from './cpu.ts';
import {
  type Descriptor, descBase, descLimit, descAccess, segmentRangeOk, supervisorWrite32, supervisorWrite16,
} from './segments.ts';

export class StackFrame {
  base = 0;
  limit = 0;
  access = 0;
  /** Full 32-bit stack pointer; only SP moves when the stack is 16-bit. */
  esp = 0;
  big = false;
  /** Stack accesses at an inner level (CPL < 3) are supervisor accesses even if CPL is still 3. */
  supervisor = false;
  /** Error code of the #SS raised when the frame does not fit. */
  faultCode = 0;

  /** Targets the current SS:ESP, accessed with the current privilege. */
  onCurrentStack(cpu: Cpu, faultCode: number): this {
    const st = cpu.st;
    this.base = st[S.SEG_BASE + Seg.SS];
    this.limit = st[S.SEG_LIMIT + Seg.SS];
    this.access = st[S.SEG_ACCESS + Seg.SS];
    this.esp = st[S.ESP];
    this.big = (st[S.MODE] & MODE_SS32) !== 0;
    this.supervisor = false;
    this.faultCode = faultCode;
    return this;
  }

  /** Targets the stack segment `d` (not yet loaded) at `esp`. */
  onNewStack(d: Descriptor, esp: number, supervisor: boolean, faultCode: number): this {
    this.base = descBase(d.lo, d.hi);
    this.limit = descLimit(d.lo, d.hi);
    this.access = descAccess(d.hi);
    this.esp = esp;
    this.big = (this.access & 0x4000) !== 0;
    this.supervisor = supervisor;
    this.faultCode = faultCode;
    return this;
  }

  /** The stack offset (within SS) of the top of the frame. */
  get sp(): number {
    return this.big ? this.esp : this.esp & 0xffff;
  }

  private offsetBelow(bytes: number): number {
    const v = this.esp - bytes;
    return this.big ? v | 0 : v & 0xffff;
  }

  /**
   * Raises #SS(faultCode) unless `count` slots of `size` bytes below the
   * stack pointer are inside the segment. Hardware checks the whole frame
   * before writing any of it.
   */
  reserve(cpu: Cpu, count: number, size: number): void {
    for (let k = 1; k <= count; k++) {
      if (!segmentRangeOk(this.access, this.limit, this.offsetBelow(k * size), size)) {
        cpu.raise(Vec.SS, this.faultCode);
      }
    }
  }

  push32(cpu: Cpu, v: number): void {
    const off = this.offsetBelow(4);
    if (!segmentRangeOk(this.access, this.limit, off, 4)) cpu.raise(Vec.SS, this.faultCode);
    const lin = (this.base + off) | 0;
    if (this.supervisor) supervisorWrite32(cpu, lin, v); else cpu.writeLin32(lin, v);
    this.esp = this.big ? off : (this.esp & ~0xffff) | off;
  }

  push16(cpu: Cpu, v: number): void {
    const off = this.offsetBelow(2);
    if (!segmentRangeOk(this.access, this.limit, off, 2)) cpu.raise(Vec.SS, this.faultCode);
    const lin = (this.base + off) | 0;
    if (this.supervisor) supervisorWrite16(cpu, lin, v); else cpu.writeLin16(lin, v);
    this.esp = this.big ? off : (this.esp & ~0xffff) | off;
  }

  push(cpu: Cpu, v: number, o32: boolean): void {
    if (o32) this.push32(cpu, v); else this.push16(cpu, v);
  }
}
