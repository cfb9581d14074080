// A bare machine for comparing the JS tier (compiled regions) with the plain
// interpreter: the same program runs twice from the same state, once with the
// tier off and once with it on, and every word of CPU state, the memory it can
// touch, the instruction count and any exception must come out the same.
//
// Layout (paging on, 4 KiB pages, everything else not present):
//   0x100000  code (64 KiB, writable: self-modifying code is allowed)
//   0x200000  data window (16 KiB; at CPL 3 the last page is supervisor-only)
//   0x300000  stack (8 KiB, ESP starts at its top)
//   0x400000  page directory and table
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Machine } from '../../src/machine/machine.ts';
import { enterFlatProtectedMode } from '../../src/machine/boot/flat-protected.ts';
import { S, Seg } from '../../src/x86/state.ts';
import { materializeFlags } from '../../src/x86/flags.ts';

export const CODE = 0x100000, WINDOW = 0x200000, WINDOW_SIZE = 0x4000, STACK = 0x300000, STACK_SIZE = 0x2000;
const PD = 0x400000, PT = 0x401000;

export interface Stop { vector: number; errorCode: number }

export interface RunOptions {
  jit: boolean;
  /** Initial registers EAX..EDI (ESP's entry is ignored). */
  regs?: number[];
  /** Initial ESP (default: the stack top). */
  esp?: number;
  eflags?: number;
  window?: Uint8Array;
  /** Run at CPL 3 (user pages; the window's last page supervisor-only). */
  user?: boolean;
  /** FS and GS bases (4 GiB limits unless fsLimit is given: a byte-granular FS limit). */
  fsBase?: number;
  gsBase?: number;
  fsLimit?: number;
  /** Interpretations before a block is compiled (default 8). */
  hot?: number;
  /** Instructions per runSlice (the budget a region must respect). */
  slice?: number;
  /** Stop after this many instructions. */
  maxInstructions?: number;
}

export interface RunResult {
  state: Int32Array;
  window: Uint8Array;
  stack: Uint8Array;
  code: Uint8Array;
  stop: Stop | null;
  instructions: number;
  regionsCompiled: number;
}

const workDir = mkdtempSync(join(tmpdir(), 'ts86-cpu-perf-'));
let asmCount = 0;

/** Assembles 32-bit code at CODE with nasm. */
export function assemble(source: string): Uint8Array {
  const base = join(workDir, `p${asmCount++}`);
  writeFileSync(`${base}.asm`, `bits 32\norg ${CODE}\n${source}\n`);
  execFileSync('nasm', ['-f', 'bin', '-o', `${base}.bin`, `${base}.asm`], { stdio: 'pipe' });
  return new Uint8Array(readFileSync(`${base}.bin`));
}

/** Runs `code` (at CODE) until HLT, an exception, or the instruction limit. */
const machines: Machine[] = [];

/** One machine per tier setting, reused: everything a program can reach is rewritten for each run. */
function machine(jit: boolean): Machine {
  const k = jit ? 1 : 0;
  if (!machines[k]) machines[k] = new Machine({ memoryMiB: 16, clock: 'deterministic' });
  const m = machines[k];
  m.cpu.reset();
  m.cpu.stopRequested = false;
  const ram = m.views.ram8;
  ram.fill(0, CODE, CODE + 0x10000);
  ram.fill(0, WINDOW, WINDOW + WINDOW_SIZE);
  ram.fill(0, STACK, STACK + STACK_SIZE);
  ram.fill(0, PD, PT + 0x1000);
  return m;
}

export function run(code: Uint8Array, o: RunOptions): RunResult {
  const m = machine(o.jit);
  const cpu = m.cpu;
  cpu.jit.enabled = o.jit;
  // Compile early, so that most of a short program runs compiled.
  cpu.jit.hotThreshold = o.hot ?? 8;
  cpu.jit.warmThreshold = 2;
  const regions0 = cpu.jit.counters.regionsCompiled;
  const icount0 = cpu.instructionCount;
  const ram = m.views.ram8;
  const dv = new DataView(ram.buffer, ram.byteOffset, ram.byteLength);
  ram.set(code, CODE);
  if (o.window) ram.set(o.window, WINDOW);
  const user = o.user === true;
  // Page tables: code, window and stack present and writable.
  dv.setUint32(PD, PT | 7, true);
  const map = (addr: number, u: boolean): void => { dv.setUint32(PT + (addr >>> 12) * 4, addr | 3 | (u ? 4 : 0), true); };
  for (let a = CODE; a < CODE + 0x10000; a += 0x1000) map(a, user);
  for (let a = WINDOW; a < WINDOW + WINDOW_SIZE; a += 0x1000) map(a, user && a < WINDOW + WINDOW_SIZE - 0x1000);
  for (let a = STACK; a < STACK + STACK_SIZE; a += 0x1000) map(a, user);
  enterFlatProtectedMode(cpu, 0x08, 0x10, CODE);
  const st = cpu.st;
  if (user) {
    st[S.SEG_ACCESS + Seg.CS] = 0xc0fb;
    for (const s of [Seg.DS, Seg.ES, Seg.SS, Seg.FS, Seg.GS]) st[S.SEG_ACCESS + s] = 0xc0f3;
    st[S.SEG_SEL + Seg.CS] = 0x1b;
    for (const s of [Seg.DS, Seg.ES, Seg.SS, Seg.FS, Seg.GS]) st[S.SEG_SEL + s] = 0x23;
    st[S.CPL] = 3;
  }
  st[S.SEG_BASE + Seg.FS] = o.fsBase ?? 0;
  st[S.SEG_BASE + Seg.GS] = o.gsBase ?? 0;
  if (o.fsLimit !== undefined) {
    st[S.SEG_LIMIT + Seg.FS] = o.fsLimit;
    st[S.SEG_ACCESS + Seg.FS] &= ~0x8000; // byte granular
  }
  st[S.CR + 3] = PD;
  st[S.CR] |= 0x8001_0000 | 0; // PG, WP
  cpu.updateMode();
  cpu.flushTlb(true);
  const regs = o.regs ?? [];
  for (let r = 0; r < 8; r++) st[r] = regs[r] ?? 0;
  st[S.ESP] = o.esp ?? STACK + STACK_SIZE;
  st[S.EFLAGS] = ((o.eflags ?? 0) & 0xcd5) | 2;
  st[S.LAZY_MASK] = 0;
  let stop: Stop | null = null;
  cpu.exceptionTrap = (vector, errorCode) => {
    stop = { vector, errorCode };
    return true;
  };
  const max = o.maxInstructions ?? 200_000;
  const slice = o.slice ?? 1000;
  let n = 0;
  while (n < max && stop === null && st[S.HALTED] === 0) {
    n += m.runSlice(Math.min(slice, max - n));
  }
  materializeFlags(st);
  return {
    state: st.slice(0, S.WORDS),
    window: ram.slice(WINDOW, WINDOW + WINDOW_SIZE),
    stack: ram.slice(STACK, STACK + STACK_SIZE),
    code: ram.slice(CODE, CODE + 0x10000),
    stop,
    instructions: cpu.instructionCount - icount0,
    regionsCompiled: cpu.jit.counters.regionsCompiled - regions0,
  };
}

const STATE_NAMES: Record<number, string> = {
  0: 'EAX', 1: 'ECX', 2: 'EDX', 3: 'EBX', 4: 'ESP', 5: 'EBP', 6: 'ESI', 7: 'EDI', 9: 'EIP', 10: 'EFLAGS',
  11: 'LAZY_OP', 12: 'LAZY_RES', 13: 'LAZY_A', 14: 'LAZY_B', 15: 'LAZY_MASK', 17: 'EIP_START',
};

/** Differences between two runs, as readable lines (empty: identical). */
export function diff(a: RunResult, b: RunResult): string[] {
  const out: string[] = [];
  const hex = (v: number): string => (v >>> 0).toString(16);
  for (let w = 0; w < a.state.length; w++) {
    if (a.state[w] !== b.state[w]) out.push(`state[${STATE_NAMES[w] ?? w}] ${hex(a.state[w])} vs ${hex(b.state[w])}`);
  }
  for (const k of ['window', 'stack', 'code'] as const) {
    for (let i = 0; i < a[k].length; i++) {
      if (a[k][i] !== b[k][i]) { out.push(`${k}[+0x${i.toString(16)}] ${a[k][i]} vs ${b[k][i]}`); break; }
    }
  }
  if (JSON.stringify(a.stop) !== JSON.stringify(b.stop)) out.push(`stop ${JSON.stringify(a.stop)} vs ${JSON.stringify(b.stop)}`);
  if (a.instructions !== b.instructions) out.push(`instructions ${a.instructions} vs ${b.instructions}`);
  return out;
}
