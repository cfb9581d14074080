// Runs instruction snippets on the host CPU (tests/cpu/host/harness.c, built
// with gcc -m32 into .cache/) and through ts86's flat-mode runner, and
// compares the outcomes. Both sides use the same code and window addresses,
// so register values that point into the window mean the same thing.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runFlatSnippet, WINDOW_BASE } from '../../src/x86/testing/flat-runner.ts';

export { WINDOW_BASE };
export const EAX = 0, ECX = 1, EDX = 2, EBX = 3, ESP = 4, EBP = 5, ESI = 6, EDI = 7;
export const CF = 0x1, PF = 0x4, AF = 0x10, ZF = 0x40, SF = 0x80, DF = 0x400, OF = 0x800;
export const ARITH = CF | PF | AF | ZF | SF | OF;

export interface Case {
  name: string;
  code: Uint8Array;
  regs: number[];
  eflags: number;
  window: Uint8Array;
  /** Flags the SDM leaves undefined for this case: not compared. */
  undefinedFlags?: number;
  /** Registers whose value is undefined for this case: not compared. */
  undefinedRegs?: number[];
}

export interface Outcome {
  regs: Uint32Array;
  eflags: number;
  vector: number;
  window: Uint8Array;
}

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const source = join(here, 'host', 'harness.c');
const binary = join(root, '.cache', 'cpu-host', 'harness');

/**
 * Builds the harness if it is missing or older than its source. Test files
 * run in parallel workers, so each builds under its own name and renames the
 * result into place (atomic: nobody runs a half-written binary).
 */
export function buildHarness(): string {
  if (!existsSync(binary) || statSync(binary).mtimeMs < statSync(source).mtimeMs) {
    mkdirSync(dirname(binary), { recursive: true });
    const tmp = `${binary}.${process.pid}`;
    execFileSync('gcc', ['-m32', '-O1', '-no-pie', '-o', tmp, source], { stdio: 'pipe' });
    renameSync(tmp, binary);
  }
  return binary;
}

function pad4(n: number): number {
  return (n + 3) & ~3;
}

export function runHost(cases: Case[]): Outcome[] {
  const bin = buildHarness();
  let size = 4;
  for (const c of cases) size += 4 + pad4(c.code.length) + 40 + pad4(c.window.length);
  const buf = Buffer.alloc(size);
  let o = buf.writeUInt32LE(cases.length, 0);
  for (const c of cases) {
    o = buf.writeUInt32LE(c.code.length, o);
    buf.set(c.code, o);
    o += pad4(c.code.length);
    for (let r = 0; r < 8; r++) o = buf.writeUInt32LE(c.regs[r] >>> 0, o);
    o = buf.writeUInt32LE(c.eflags >>> 0, o);
    o = buf.writeUInt32LE(c.window.length, o);
    buf.set(c.window, o);
    o += pad4(c.window.length);
  }
  const res = spawnSync(bin, [], { input: buf, maxBuffer: 1 << 28 });
  if (res.status !== 0) throw new Error(`host harness failed (${res.status}): ${res.stderr.toString()}`);
  const out = res.stdout;
  let p = 0;
  return cases.map((c) => {
    const regs = new Uint32Array(8);
    for (let r = 0; r < 8; r++, p += 4) regs[r] = out.readUInt32LE(p);
    const eflags = out.readUInt32LE(p);
    const vector = out.readInt32LE(p + 4);
    p += 8;
    const window = new Uint8Array(out.subarray(p, p + c.window.length));
    p += pad4(c.window.length);
    return { regs, eflags, vector, window };
  });
}

export function runTs86(c: Case): Outcome {
  const r = runFlatSnippet({ code: c.code, regs: Uint32Array.from(c.regs, (v) => v >>> 0), eflags: c.eflags, window: c.window });
  return { regs: r.regs, eflags: r.eflags, vector: r.exception ? r.exception.vector : -1, window: r.window };
}

const REG_NAMES = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'];
const FLAG_NAMES: [number, string][] = [[CF, 'CF'], [PF, 'PF'], [AF, 'AF'], [ZF, 'ZF'], [SF, 'SF'], [OF, 'OF'], [DF, 'DF']];
const hex = (v: number): string => (v >>> 0).toString(16);

/** Differences between the host and ts86 outcomes, ignoring what the case calls undefined. */
export function compare(c: Case, host: Outcome, ts: Outcome): string[] {
  const diffs: string[] = [];
  if (host.vector !== ts.vector) diffs.push(`vector host ${host.vector} ts86 ${ts.vector}`);
  for (let r = 0; r < 8; r++) {
    if (c.undefinedRegs?.includes(r)) continue;
    if (host.regs[r] !== ts.regs[r]) diffs.push(`${REG_NAMES[r]} host ${hex(host.regs[r])} ts86 ${hex(ts.regs[r])}`);
  }
  const mask = (ARITH | DF) & ~(c.undefinedFlags ?? 0);
  for (const [bit, name] of FLAG_NAMES) {
    if ((mask & bit) && (host.eflags & bit) !== (ts.eflags & bit)) diffs.push(`${name} host ${+!!(host.eflags & bit)} ts86 ${+!!(ts.eflags & bit)}`);
  }
  for (let k = 0; k < c.window.length; k++) {
    if (host.window[k] !== ts.window[k]) {
      diffs.push(`window[0x${hex(k)}] host ${hex(host.window[k])} ts86 ${hex(ts.window[k])}`);
      break;
    }
  }
  return diffs;
}

export interface DiffResult {
  /** One line per mismatching case. */
  failures: string[];
  /** How many cases ended in each exception vector on the host (-1: none), to check coverage. */
  vectors: Map<number, number>;
}

/** Runs every case on both sides and compares them. */
export function differential(cases: Case[]): DiffResult {
  const host = runHost(cases);
  const failures: string[] = [];
  const vectors = new Map<number, number>();
  for (const h of host) vectors.set(h.vector, (vectors.get(h.vector) ?? 0) + 1);
  cases.forEach((c, k) => {
    const d = compare(c, host[k], runTs86(c));
    if (d.length) {
      const inRegs = c.regs.map((v, r) => `${REG_NAMES[r]}=${hex(v)}`).join(' ');
      failures.push(`${c.name} [${Buffer.from(c.code).toString('hex')}] ${inRegs} fl=${hex(c.eflags)}: ${d.join('; ')}`);
    }
  });
  return { failures, vectors };
}

// ---------------------------------------------------------------- case building

/** Small deterministic PRNG (xorshift32) so failures reproduce. */
export class Rng {
  constructor(private s: number) {}
  u32(): number {
    let s = this.s;
    s ^= s << 13; s ^= s >>> 17; s ^= s << 5;
    this.s = s;
    return s >>> 0;
  }
  int(n: number): number {
    return this.u32() % n;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }
  /** A value biased toward edges: 0, ±1, sign boundaries, all-ones, small, random. */
  edgy(bits: 8 | 16 | 32): number {
    const m = bits === 32 ? 0xffffffff : (1 << bits) - 1;
    const half = 2 ** (bits - 1);
    const edges = [0, 1, 2, m, m - 1, half, half - 1, half + 1, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff];
    const k = this.int(10);
    if (k < 3) return this.pick(edges) & m;
    if (k < 4) return this.int(16);
    return this.u32() & m;
  }
  bytes(n: number): Uint8Array {
    const b = new Uint8Array(n);
    for (let k = 0; k < n; k++) b[k] = this.u32() & 0xff;
    return b;
  }
}

/** Random values for all registers, with ESP pointing at the window's top half (for snippets that use the stack). */
export function randomRegs(rng: Rng): number[] {
  const regs = Array.from({ length: 8 }, () => rng.u32());
  regs[ESP] = WINDOW_BASE + 0xf00;
  return regs;
}

/** Random arithmetic flags (and DF when `withDf`). */
export function randomFlags(rng: Rng, withDf = false): number {
  return rng.u32() & (ARITH | (withDf ? DF : 0));
}

/** ModRM byte. */
export function modrm(mod: number, reg: number, rm: number): number {
  return (mod << 6) | (reg << 3) | rm;
}

/** ModRM with [ebx] as the memory operand (mod 00, rm 011). */
export const MEM_EBX = (reg: number): number => modrm(0, reg, 3);

export function bytes(...parts: (number | number[] | Uint8Array)[]): Uint8Array {
  const out: number[] = [];
  for (const p of parts) {
    if (typeof p === 'number') out.push(p & 0xff);
    else out.push(...p);
  }
  return Uint8Array.from(out);
}

export function le(v: number, size: 1 | 2 | 4): number[] {
  const out: number[] = [];
  for (let k = 0; k < size; k++) out.push((v >>> (8 * k)) & 0xff);
  return out;
}

export type Width = 8 | 16 | 32;
export const WIDTHS: readonly Width[] = [8, 16, 32];

/**
 * An instruction with a ModRM operand: `rm` is a register number or 'mem'
 * for [ebx]. `width` 16 adds the operand-size prefix; for an 8-bit-only
 * opcode pass `opcode8` (used when width is 8).
 */
export function encode(width: Width, opcode8: number[] | null, opcodeV: number[], reg: number, rm: number | 'mem', tail: number[] = [], prefixes: number[] = []): Uint8Array {
  const op = width === 8 ? opcode8 : opcodeV;
  if (!op) throw new Error('no 8-bit form');
  const m = rm === 'mem' ? modrm(0, reg, 3) : modrm(3, reg, rm);
  return bytes(prefixes, width === 16 ? [0x66] : [], op, m, tail);
}

/** A window with random contents and EBX pointing at `offset` inside it (for [ebx] operands). */
export function memSetup(rng: Rng, regs: number[], size = 64, offset = 16): Uint8Array {
  regs[EBX] = WINDOW_BASE + offset;
  return rng.bytes(size);
}

export function maskOf(width: Width): number {
  return width === 32 ? 0xffffffff : (1 << width) - 1;
}
