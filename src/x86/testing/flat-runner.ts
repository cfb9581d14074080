// Runs a code snippet at CPL 3 in flat 32-bit protected mode, the way a
// Linux user process runs, for the differential tests against the host CPU.
// Execution stops at the snippet's end or at the first exception, which is
// reported instead of delivered.
import { Machine } from '../../machine/machine.ts';
import { S, Seg } from '../state.ts';
import { runInstructions } from '../interpreter.ts';
import { descAccess, descBase, descLimit } from '../segments.ts';
import { writeEflags } from '../interrupts.ts';
import { materializeFlags } from '../flags.ts';
import { saveFpuImage, restoreFpuImage } from './fpu-image.ts';

export const CODE_BASE = 0x0010_0000;
export const WINDOW_BASE = 0x0020_0000;
export const WINDOW_MAX = 0x1_0000;
const GDT_BASE = 0x1000;
const USER_CS = 0x23;
const USER_DS = 0x2b;
/** Bound on executed instructions per snippet (REP loops count once per iteration). */
const MAX_STEPS = 1_000_000;

export interface SnippetInput {
  code: Uint8Array;
  regs: Uint32Array;
  eflags: number;
  window: Uint8Array;
  fpu?: Uint8Array;
}

export interface SnippetOutput {
  regs: Uint32Array;
  eflags: number;
  eip: number;
  window: Uint8Array;
  fpu: Uint8Array;
  exception: null | { vector: number; errorCode?: number };
}

let shared: Machine | null = null;

function machine(): Machine {
  if (!shared) {
    shared = new Machine({ memoryMiB: 16, clock: 'deterministic' });
    const dv = new DataView(shared.views.ram8.buffer, shared.views.ram8.byteOffset);
    // GDT: ring-0 flat code/data at 0x10/0x18, ring-3 flat code/data at 0x20/0x28 (as Linux lays out user segments).
    dv.setBigUint64(GDT_BASE + 0x10, 0x00cf9a000000ffffn, true);
    dv.setBigUint64(GDT_BASE + 0x18, 0x00cf92000000ffffn, true);
    dv.setBigUint64(GDT_BASE + 0x20, 0x00cffa000000ffffn, true);
    dv.setBigUint64(GDT_BASE + 0x28, 0x00cff2000000ffffn, true);
  }
  return shared;
}

function loadFlatSegment(st: Int32Array, seg: number, sel: number, lo: number, hi: number): void {
  st[S.SEG_SEL + seg] = sel;
  st[S.SEG_BASE + seg] = descBase(lo, hi);
  st[S.SEG_LIMIT + seg] = descLimit(lo, hi);
  st[S.SEG_ACCESS + seg] = descAccess(hi);
}

export function runFlatSnippet(input: SnippetInput): SnippetOutput {
  if (input.window.length > WINDOW_MAX) throw new RangeError(`window is ${input.window.length} bytes; at most ${WINDOW_MAX}`);
  const m = machine();
  const cpu = m.cpu;
  const ram = m.views.ram8;
  cpu.reset();
  cpu.blocks.clear();
  const st = cpu.st;
  ram.set(input.code, CODE_BASE);
  ram.fill(0xcc, CODE_BASE + input.code.length, CODE_BASE + input.code.length + 16);
  ram.set(input.window, WINDOW_BASE);

  st[S.CR] = 0x11; // PE, ET
  st[S.GDTR_BASE] = GDT_BASE;
  st[S.GDTR_LIMIT] = 0x2f;
  loadFlatSegment(st, Seg.CS, USER_CS, 0x0000ffff, 0x00cffb00);
  for (const seg of [Seg.DS, Seg.ES, Seg.SS]) loadFlatSegment(st, seg, USER_DS, 0x0000ffff, 0x00cff300);
  for (const seg of [Seg.FS, Seg.GS]) {
    st[S.SEG_SEL + seg] = 0;
    st[S.SEG_ACCESS + seg] = 0x10000;
  }
  st[S.CPL] = 3;
  for (let r = 0; r < 8; r++) st[r] = input.regs[r];
  st[S.EIP] = CODE_BASE;
  cpu.updateMode();
  writeEflags(cpu, (input.eflags & 0xcd5) | 0x202);
  cpu.flushTlb(true);
  if (input.fpu) restoreFpuImage(cpu, input.fpu);

  let exception: SnippetOutput['exception'] = null;
  cpu.exceptionTrap = (vector, errorCode) => {
    exception = errorCode >= 0 ? { vector, errorCode } : { vector };
    return true;
  };
  const end = CODE_BASE + input.code.length;
  try {
    for (let steps = 0; steps < MAX_STEPS && st[S.EIP] !== end && exception === null; steps++) {
      cpu.stopRequested = false;
      runInstructions(cpu, 1);
    }
  } finally {
    cpu.exceptionTrap = null;
  }
  const regs = new Uint32Array(8);
  for (let r = 0; r < 8; r++) regs[r] = st[r];
  return {
    regs,
    eflags: materializeFlags(st) >>> 0,
    eip: st[S.EIP] >>> 0,
    window: ram.slice(WINDOW_BASE, WINDOW_BASE + input.window.length),
    fpu: saveFpuImage(cpu),
    exception,
  };
}
