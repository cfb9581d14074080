// Shifts and rotates: ROL ROR RCL RCR SHL/SAL SHR SAR (C0/C1 by Ib, D0/D1 by
// 1, D2/D3 by CL, all eight /r including the /6 SAL alias) and the double
// shifts SHLD/SHRD.
//
// Flags follow the SDM where defined. Where the SDM says "undefined" we give
// what Bochs (validated against P6-family parts) computes: OF for counts
// other than 1 uses the count-1 formula on the final result, AF is cleared.
import type { InsnDef, ExecFn } from '../table/types.ts';
import { Fl } from '../table/types.ts';
import { sized } from '../table/builders.ts';
import type { Cpu } from '../cpu.ts';
import { S, FLAG_CF, FLAG_PF, FLAG_AF, FLAG_ZF, FLAG_SF, FLAG_OF } from '../state.ts';
import { getCF, LZ_LOGIC, SZ8, SZ16, SZ32, SIZE_MASK, setFlagBits, setResultFlags } from '../flags.ts';
import { getG16, getG32, rmwE8, rmwE16, rmwE32 } from '../operands.ts';

const WIDTH = [8, 16, 32];
const MASK = SIZE_MASK;

/** x >>> n and x << n for n in 0..32 (JS shifts take n mod 32). */
function shr(x: number, n: number): number {
  return n >= 32 ? 0 : x >>> n;
}
function shl(x: number, n: number): number {
  return n >= 32 ? 0 : x << n;
}

// ---------------------------------------------------------------- the eight group-2 operations

/** (cpu, destination, count) → result; the count is masked here, not by the caller. */
type ShiftFn = (cpu: Cpu, a: number, count: number) => number;

const enum K { ROL = 0, ROR = 1, RCL = 2, RCR = 3, SHL = 4, SHR = 5, SAL = 6, SAR = 7 }

function makeShift(kind: number, sz: number): ShiftFn {
  const w = WIDTH[sz];
  const m = MASK[sz];
  const top = w - 1;
  const msb = (r: number): number => (r >>> top) & 1;
  switch (kind) {
    case K.ROL: return (cpu, a, count) => {
      const c = count & 31;
      if (c === 0) return a;
      // The rotation is c mod w, but a masked count that is a multiple of w still sets the flags.
      const t = c & top;
      const r = t === 0 ? a & m : ((a << t) | ((a & m) >>> (w - t))) & m;
      const cf = r & 1;
      setFlagBits(cpu.st, FLAG_CF | FLAG_OF, cf | ((msb(r) ^ cf) << 11));
      return r;
    };
    case K.ROR: return (cpu, a, count) => {
      const c = count & 31;
      if (c === 0) return a;
      const t = c & top;
      const r = t === 0 ? a & m : (((a & m) >>> t) | (a << (w - t))) & m;
      const cf = msb(r);
      setFlagBits(cpu.st, FLAG_CF | FLAG_OF, cf | ((cf ^ ((r >>> (top - 1)) & 1)) << 11));
      return r;
    };
    case K.RCL: return (cpu, a, count) => {
      // Rotation through CF is over w+1 bits: 8- and 16-bit counts go modulo 9 and 17.
      const t = sz === SZ32 ? count & 31 : (count & 31) % (w + 1);
      if (t === 0) return a;
      const u = a & m;
      const r = ((u << t) | (getCF(cpu.st) << (t - 1)) | shr(u, w + 1 - t)) & m;
      const cf = (u >>> (w - t)) & 1;
      setFlagBits(cpu.st, FLAG_CF | FLAG_OF, cf | ((msb(r) ^ cf) << 11));
      return r;
    };
    case K.RCR: return (cpu, a, count) => {
      const t = sz === SZ32 ? count & 31 : (count & 31) % (w + 1);
      if (t === 0) return a;
      const u = a & m;
      const r = ((u >>> t) | (getCF(cpu.st) << (w - t)) | shl(u, w + 1 - t)) & m;
      const cf = (u >>> (t - 1)) & 1;
      setFlagBits(cpu.st, FLAG_CF | FLAG_OF, cf | ((msb(r) ^ ((r >>> (top - 1)) & 1)) << 11));
      return r;
    };
    case K.SHL: case K.SAL: return (cpu, a, count) => {
      const c = count & 31;
      if (c === 0) return a;
      // Counts past the width (8/16-bit) shift everything out; CF is the bit at w-c, i.e. 0 for c > w.
      const r = (a << c) & m;
      const cf = (((a & m) << (c - 1)) >>> top) & 1;
      setResultFlags(cpu.st, sz, r, cf | ((msb(r) ^ cf) << 11));
      return r;
    };
    case K.SHR: return (cpu, a, count) => {
      const c = count & 31;
      if (c === 0) return a;
      const u = a & m;
      const r = (u >>> c) | 0;
      const cf = (u >>> (c - 1)) & 1;
      // OF: the original MSB for a count of 1 (= bit w-1 xor bit w-2 of the result), 0 otherwise.
      setResultFlags(cpu.st, sz, r, cf | ((msb(r) ^ ((r >>> (top - 1)) & 1)) << 11));
      return r;
    };
    default: return (cpu, a, count) => {
      const c = count & 31;
      if (c === 0) return a;
      const s = (a << (32 - w)) >> (32 - w);
      const r = (s >> c) & m;
      setResultFlags(cpu.st, sz, r, (s >> (c - 1)) & 1);
      return r;
    };
  }
}

/** SHIFT[kind][size]: kind in ModRM.reg order (ROL ROR RCL RCR SHL SHR SAL SAR). */
const SHIFT: ShiftFn[][] = Array.from({ length: 8 }, (_, k) => [SZ8, SZ16, SZ32].map((sz) => makeShift(k, sz)));
const NAMES = ['rol', 'ror', 'rcl', 'rcr', 'shl', 'shr', 'sal', 'sar'];

function cl(cpu: Cpu): number {
  return cpu.st8[4];
}

/** Table metadata; `byOne` is the D0/D1 form, whose count of 1 makes OF defined. */
function shiftFlags(kind: number, byOne: boolean, width: number): Pick<InsnDef, 'flagsRead' | 'flagsWritten' | 'flagsUndefined'> {
  const rotate = kind <= K.RCR;
  let undef = byOne ? 0 : Fl.OF;
  if (!rotate) undef |= Fl.AF;
  // SHL/SHR with a count >= the width: CF undefined (only reachable below 32 bits).
  if (!byOne && width < 32 && (kind === K.SHL || kind === K.SAL || kind === K.SHR)) undef |= Fl.CF;
  return {
    flagsRead: kind === K.RCL || kind === K.RCR ? Fl.CF : 0,
    flagsWritten: rotate ? Fl.CF | Fl.OF : Fl.ARITH,
    flagsUndefined: undef,
  };
}

function shiftEntries(kind: number): InsnDef[] {
  const [f8, f16, f32] = SHIFT[kind];
  const mnemonic = NAMES[kind];
  const ext = kind;
  const out: InsnDef[] = [];
  // Each form differs only by where the count comes from.
  const forms: [number, number, string, (cpu: Cpu, i: number) => number][] = [
    [0xc0, 0xc1, 'Ib', (cpu, i) => cpu.pool.imm[i]],
    [0xd0, 0xd1, '1', () => 1],
    [0xd2, 0xd3, 'CL', cl],
  ];
  for (const [op8, opv, countForm, count] of forms) {
    const byOne = countForm === '1';
    out.push({
      opcode: op8, ext, mnemonic, operands: `Eb,${countForm}`, ...shiftFlags(kind, byOne, 8),
      exec: (cpu, i) => rmwE8(cpu, i, count(cpu, i), f8),
    });
    const e16: ExecFn = (cpu, i) => rmwE16(cpu, i, count(cpu, i), f16);
    const e32: ExecFn = (cpu, i) => rmwE32(cpu, i, count(cpu, i), f32);
    const [d16, d32] = sized({ opcode: opv, ext, mnemonic, operands: `Ev,${countForm}` }, e16, e32);
    out.push({ ...d16, ...shiftFlags(kind, byOne, 16) }, { ...d32, ...shiftFlags(kind, byOne, 32) });
  }
  return out;
}

// ---------------------------------------------------------------- SHLD / SHRD

/**
 * The count of the double shift in progress. rmwE* pass one source value to
 * the operation; the count travels beside it here (no per-call allocation).
 */
let doubleCount = 0;

/** SHLD: dest:src shifted left, the high half kept. */
function makeShld(sz: number): ShiftFn {
  const top = WIDTH[sz] - 1;
  return (cpu, a, b) => {
    const c = doubleCount & 31;
    if (c === 0) return a;
    let r: number, cf: number;
    if (sz === SZ32) {
      r = (a << c) | shr(b, 32 - c);
      cf = (a >>> (32 - c)) & 1;
    } else {
      // 16-bit: counts 17..31 are undefined; a P6 shifts the 48-bit dest:src:dest.
      const dsrc = ((a & 0xffff) << 16) | (b & 0xffff);
      r = c <= 16 ? (dsrc << c) >>> 16 : ((((b & 0xffff) << 16) | (a & 0xffff)) << (c - 16)) >>> 16;
      r &= 0xffff;
      cf = (dsrc >>> (32 - c)) & 1;
    }
    setResultFlags(cpu.st, sz, r, cf | ((((r >>> top) & 1) ^ cf) << 11));
    return r;
  };
}

/** SHRD: src:dest shifted right, the low half kept. */
function makeShrd(sz: number): ShiftFn {
  const top = WIDTH[sz] - 1;
  return (cpu, a, b) => {
    const c = doubleCount & 31;
    if (c === 0) return a;
    let r: number;
    if (sz === SZ32) {
      r = (a >>> c) | shl(b, 32 - c);
    } else {
      const srcd = ((b & 0xffff) << 16) | (a & 0xffff);
      // Counts 17..31 (undefined): the P6 result is dest:src shifted right by c-16.
      r = (srcd >>> c) | (c > 16 ? (a & 0xffff) << (32 - c) : 0);
      r &= 0xffff;
    }
    const cf = shr(sz === SZ32 ? a >>> 0 : a & 0xffff, c - 1) & 1;
    setResultFlags(cpu.st, sz, r, cf | ((((r >>> top) ^ (r >>> (top - 1))) & 1) << 11));
    return r;
  };
}

const SHLD16 = makeShld(SZ16), SHLD32 = makeShld(SZ32);
const SHRD16 = makeShrd(SZ16), SHRD32 = makeShrd(SZ32);

function doubleEntries(opcode: number, mnemonic: string, f16: ShiftFn, f32: ShiftFn): InsnDef[] {
  const fl = { flagsWritten: Fl.ARITH, flagsUndefined: Fl.OF | Fl.AF };
  return [
    ...sized({ opcode, mnemonic, operands: 'Ev,Gv,Ib', ...fl },
      (cpu, i) => { doubleCount = cpu.pool.imm[i]; rmwE16(cpu, i, getG16(cpu, i), f16); },
      (cpu, i) => { doubleCount = cpu.pool.imm[i]; rmwE32(cpu, i, getG32(cpu, i), f32); }),
    ...sized({ opcode: opcode + 1, mnemonic, operands: 'Ev,Gv,CL', ...fl },
      (cpu, i) => { doubleCount = cl(cpu); rmwE16(cpu, i, getG16(cpu, i), f16); },
      (cpu, i) => { doubleCount = cl(cpu); rmwE32(cpu, i, getG32(cpu, i), f32); }),
  ];
}

export const shiftOps: InsnDef[] = [
  ...[0, 1, 2, 3, 4, 5, 6, 7].flatMap(shiftEntries),
  ...doubleEntries(0x0fa4, 'shld', SHLD16, SHLD32),
  ...doubleEntries(0x0fac, 'shrd', SHRD16, SHRD32),
];
