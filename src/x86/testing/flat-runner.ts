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
import { loadPdptes } from '../paging.ts';

export const CODE_BASE = 0x0010_0000;
export const WINDOW_BASE = 0x0020_0000;
export const WINDOW_MAX = 0x1_0000;
/** Away from the low addresses the test generator uses as deliberately unmapped targets. */
const GDT_BASE = 0x0038_0000;
/**
 * PAE paging with NX, as a Linux process sees memory: a page-directory-pointer
 * table, one page directory and one page table map the code page (executable)
 * and the window (not executable), user read/write.
 */
const PDPT = 0x0040_0000;
const PAGE_DIR = 0x0040_1000;
const PAGE_TABLE = 0x0040_2000;
const EFER_NXE = 1 << 11;
const CR4_PAE = 0x20;
const CODE_BYTES = 0x1000;
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

  if (input.fpu) restoreFpuImage(cpu, input.fpu);
  if (input.code.length > CODE_BYTES - 16) throw new RangeError(`code is ${input.code.length} bytes; at most ${CODE_BYTES - 16}`);
  mapUserPages(ram, input.window.length);
  // As Linux runs user code: PE, MP, ET, NE, WP, PG (not AM: alignment checks are not modelled).
  st[S.CR] = 0x8001_0033 | 0;
  st[S.CR + 3] = PDPT;
  st[S.CR + 4] = CR4_PAE;
  st[S.EFER] = EFER_NXE;
  loadPdptes(cpu, PDPT);
  st[S.GDTR_BASE] = GDT_BASE;
  st[S.GDTR_LIMIT] = 0x2f;
  loadFlatSegment(st, Seg.CS, USER_CS, 0x0000ffff, 0x00cffb00);
  for (const seg of [Seg.DS, Seg.ES, Seg.SS]) loadFlatSegment(st, seg, USER_DS, 0x0000ffff, 0x00cff300);
  for (const seg of [Seg.FS, Seg.GS]) {
    st[S.SEG_SEL + seg] = 0;
    st[S.SEG_ACCESS + seg] = 0x10000;
  }
  // No TSS: port I/O at CPL 3 finds no permission bitmap and faults, as in a Linux process.
  st[S.SEG_SEL + Seg.TR] = 0;
  st[S.SEG_ACCESS + Seg.TR] = 0x10000;
  st[S.CPL] = 3;
  for (let r = 0; r < 8; r++) st[r] = input.regs[r];
  st[S.EIP] = CODE_BASE;
  cpu.updateMode();
  writeEflags(cpu, (input.eflags & 0xcd5) | 0x202);
  cpu.flushTlb(true);

  let exception: SnippetOutput['exception'] = null;
  let trapEip = -1;
  cpu.exceptionTrap = (vector, errorCode) => {
    exception = errorCode >= 0 ? { vector, errorCode } : { vector };
    return true;
  };
  // INT n, INT3 and INTO are traps: reported with EIP after the instruction, as the host's signal frame shows.
  cpu.interruptTrap = (vector) => {
    exception = { vector };
    trapEip = st[S.EIP];
    cpu.stopRequested = true;
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
    cpu.interruptTrap = null;
  }
  if (trapEip >= 0) st[S.EIP] = trapEip;
  const regs = new Uint32Array(8);
  for (let r = 0; r < 8; r++) regs[r] = st[r];
  const eflags = materializeFlags(st) >>> 0;
  const eip = st[S.EIP] >>> 0;
  // The image is taken at CPL 0 with paging off, so the scratch area needs no mapping.
  st[S.CR] = 0x11;
  st[S.CR + 4] = 0;
  st[S.CPL] = 0;
  cpu.updateMode();
  cpu.flushTlb(true);
  return { regs, eflags, eip, window: ram.slice(WINDOW_BASE, WINDOW_BASE + input.window.length), fpu: saveFpuImage(cpu), exception };
}

/**
 * Identity-maps the code page (executable) and the window's pages (not
 * executable) user read/write; the GDT page is mapped supervisor-only (the
 * CPU reads descriptors as a supervisor). Everything else is not present, so
 * stray accesses are #PF.
 */
function mapUserPages(ram: Uint8Array, windowBytes: number): void {
  const dv = new DataView(ram.buffer, ram.byteOffset, ram.byteLength);
  // Two consecutive page tables cover 0–4 MiB, so a PTE's address is PAGE_TABLE + page number × 8.
  ram.fill(0, PDPT, PAGE_TABLE + 0x2000);
  dv.setUint32(PDPT, PAGE_DIR | 0x1, true);
  dv.setUint32(PAGE_DIR, PAGE_TABLE | 0x7, true);
  dv.setUint32(PAGE_DIR + 8, (PAGE_TABLE + 0x1000) | 0x7, true);
  const map = (addr: number, flags: number, noExec: boolean): void => {
    const pte = PAGE_TABLE + (addr >>> 12) * 8;
    dv.setUint32(pte, addr | flags, true);
    dv.setUint32(pte + 4, noExec ? 0x8000_0000 : 0, true);
  };
  map(GDT_BASE, 0x3, true);
  map(CODE_BASE, 0x7, false);
  for (let a = WINDOW_BASE; a < WINDOW_BASE + Math.max(windowBytes, 1); a += 0x1000) map(a, 0x7, true);
}
