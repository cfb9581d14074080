// A bare CPU in 32-bit protected mode for focused system-level tests: a
// GDT, an IDT and a code page in RAM, nasm-assembled snippets, and a run
// that stops at HLT or at the first exception (reported, not delivered).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Machine } from '../../src/machine/machine.ts';
import { enterFlatProtectedMode } from '../../src/machine/boot/flat-protected.ts';
import { S } from '../../src/x86/state.ts';
import type { Cpu } from '../../src/x86/cpu.ts';

export const GDT = 0x1000, IDT = 0x2000, CODE = 0x10000, STACK_TOP = 0x9000;
export const CODE0 = 0x08, DATA0 = 0x10, CODE3 = 0x18, DATA3 = 0x20;

export interface Stop { vector: number; errorCode: number }

const workDir = mkdtempSync(join(tmpdir(), 'ts86-cpu-system-'));
let asmCount = 0;

export class Rig {
  readonly m = new Machine({ memoryMiB: 16, clock: 'deterministic' });
  readonly cpu: Cpu = this.m.cpu;
  readonly st: Int32Array = this.cpu.st;
  readonly ram = new DataView(this.m.views.ram8.buffer, this.m.views.ram8.byteOffset, this.m.views.ram8.byteLength);
  stop: Stop | null = null;

  constructor() {
    this.descriptor(CODE0, 0, 0xfffff, 0x9b, 0xc);
    this.descriptor(DATA0, 0, 0xfffff, 0x93, 0xc);
    this.descriptor(CODE3, 0, 0xfffff, 0xfb, 0xc);
    this.descriptor(DATA3, 0, 0xfffff, 0xf3, 0xc);
    enterFlatProtectedMode(this.cpu, CODE0, DATA0, CODE);
    const st = this.st;
    st[S.GDTR_BASE] = GDT;
    st[S.GDTR_LIMIT] = 0x3ff;
    st[S.IDTR_BASE] = IDT;
    st[S.IDTR_LIMIT] = 0x7ff;
    st[S.ESP] = STACK_TOP;
    this.cpu.exceptionTrap = (vector, errorCode) => {
      this.stop = { vector, errorCode };
      return true;
    };
  }

  /** Writes a code/data/system descriptor at GDT offset `sel & ~7`. */
  descriptor(sel: number, base: number, limit: number, access: number, flags: number): void {
    const a = GDT + (sel & ~7);
    this.ram.setUint16(a, limit & 0xffff, true);
    this.ram.setUint16(a + 2, base & 0xffff, true);
    this.ram.setUint8(a + 4, (base >>> 16) & 0xff);
    this.ram.setUint8(a + 5, access);
    this.ram.setUint8(a + 6, ((limit >>> 16) & 0xf) | (flags << 4));
    this.ram.setUint8(a + 7, base >>> 24);
  }

  /** Writes a gate (call/interrupt/trap/task) at a GDT or IDT address. */
  gate(addr: number, sel: number, offset: number, access: number, params = 0): void {
    this.ram.setUint16(addr, offset & 0xffff, true);
    this.ram.setUint16(addr + 2, sel, true);
    this.ram.setUint8(addr + 4, params);
    this.ram.setUint8(addr + 5, access);
    this.ram.setUint16(addr + 6, offset >>> 16, true);
  }

  /** Assembles 32-bit code (nasm, org CODE) into RAM; labels may be used freely. */
  code(source: string): void {
    const base = join(workDir, `snippet${asmCount++}`);
    writeFileSync(`${base}.asm`, `bits 32\norg ${CODE}\n${source}\n`);
    execFileSync('nasm', ['-f', 'bin', '-o', `${base}.bin`, `${base}.asm`], { stdio: 'pipe' });
    const bytes = readFileSync(`${base}.bin`);
    this.m.views.ram8.set(bytes, CODE);
  }

  /** Runs until HLT, an exception, or `budget` instructions. */
  run(budget = 10_000): Stop | null {
    this.stop = null;
    for (let n = 0; n < budget && this.stop === null && this.st[S.HALTED] === 0;) {
      const done = this.m.runSlice(Math.min(1000, budget - n));
      n += Math.max(done, 1);
    }
    return this.stop;
  }

  reg(r: number): number {
    return this.st[r] >>> 0;
  }
}
