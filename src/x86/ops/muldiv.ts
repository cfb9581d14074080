// Multiplication and division: MUL, IMUL (one-, two- and three-operand
// forms), DIV, IDIV. 64-bit products and dividends are computed exactly with
// 16-bit limbs in doubles, so no BigInt and no allocation.
//
// Flags: MUL/IMUL define CF and OF only; for SF ZF PF we give the values of
// the low half of the result and clear AF (what Bochs and QEMU model for P6).
// DIV/IDIV leave every flag undefined; we leave them unchanged.
import type { InsnDef } from '../table/types.ts';
import { Fl } from '../table/types.ts';
import { sized } from '../table/builders.ts';
import type { Cpu } from '../cpu.ts';
import { S, FLAG_CF, FLAG_OF } from '../state.ts';
import { Vec } from '../faults.ts';
import { SZ8, SZ16, SZ32 } from '../flags.ts';
import { getE8, getE16, getE32, getG16, getG32, setG16, setG32 } from '../operands.ts';
import { setResultFlags } from '../flags.ts';

const CF_OF = FLAG_CF | FLAG_OF;

/** High 32 bits of the unsigned 64-bit product of two 32-bit values. */
export function mulHighU(a: number, b: number): number {
  const al = a & 0xffff, ah = a >>> 16, bl = b & 0xffff, bh = b >>> 16;
  const lh = al * bh, hl = ah * bl;
  // Every partial product is below 2^32, so these sums are exact in a double.
  const mid = ((al * bl) >>> 16) + (lh & 0xffff) + (hl & 0xffff);
  return (ah * bh + (lh >>> 16) + (hl >>> 16) + (mid >>> 16)) | 0;
}

/** High 32 bits of the signed 64-bit product (two's-complement correction of the unsigned one). */
export function mulHighS(a: number, b: number): number {
  return (mulHighU(a, b) - (a < 0 ? b : 0) - (b < 0 ? a : 0)) | 0;
}

/** Sets CF=OF=overflow and the P6 values of the undefined flags (from the low result). */
function mulFlags(cpu: Cpu, sz: number, low: number, overflow: boolean): void {
  setResultFlags(cpu.st, sz, low, overflow ? CF_OF : 0);
}

// ---------------------------------------------------------------- one-operand MUL / IMUL

function mul8(cpu: Cpu, src: number): void {
  const r = cpu.st8[0] * src;
  cpu.st16[0] = r;
  mulFlags(cpu, SZ8, r & 0xff, r > 0xff);
}
function mul16(cpu: Cpu, src: number): void {
  const r = cpu.st16[0] * src;
  cpu.st16[0] = r;
  cpu.st16[S.EDX << 1] = r >>> 16;
  mulFlags(cpu, SZ16, r & 0xffff, r > 0xffff);
}
function mul32(cpu: Cpu, src: number): void {
  const a = cpu.st[S.EAX];
  const hi = mulHighU(a, src);
  const lo = Math.imul(a, src);
  cpu.st[S.EAX] = lo;
  cpu.st[S.EDX] = hi;
  mulFlags(cpu, SZ32, lo, hi !== 0);
}
function imul8(cpu: Cpu, src: number): void {
  const r = ((cpu.st8[0] << 24) >> 24) * ((src << 24) >> 24);
  cpu.st16[0] = r;
  mulFlags(cpu, SZ8, r & 0xff, r !== (r << 24) >> 24);
}
function imul16(cpu: Cpu, src: number): void {
  const r = ((cpu.st16[0] << 16) >> 16) * ((src << 16) >> 16);
  cpu.st16[0] = r;
  cpu.st16[S.EDX << 1] = r >> 16;
  mulFlags(cpu, SZ16, r & 0xffff, r !== (r << 16) >> 16);
}
function imul32(cpu: Cpu, src: number): void {
  const a = cpu.st[S.EAX];
  const hi = mulHighS(a, src);
  const lo = Math.imul(a, src);
  cpu.st[S.EAX] = lo;
  cpu.st[S.EDX] = hi;
  mulFlags(cpu, SZ32, lo, hi !== lo >> 31);
}

// ---------------------------------------------------------------- two- and three-operand IMUL

/** Truncated signed products for IMUL Gv,Ev[,I]: they set the flags and return the result. */
function imulTrunc16(cpu: Cpu, a: number, b: number): number {
  const r = ((a << 16) >> 16) * ((b << 16) >> 16);
  mulFlags(cpu, SZ16, r & 0xffff, r !== (r << 16) >> 16);
  return r & 0xffff;
}
function imulTrunc32(cpu: Cpu, a: number, b: number): number {
  const lo = Math.imul(a, b);
  mulFlags(cpu, SZ32, lo, mulHighS(a, b) !== lo >> 31);
  return lo;
}

// ---------------------------------------------------------------- DIV / IDIV

function divideError(cpu: Cpu): never {
  return cpu.raise(Vec.DE);
}

/** Remainder of the last divU64 (a second return value without allocating). */
let divRem = 0;

/**
 * Unsigned 64-by-32 division of hi:lo by d (all unsigned, hi < d so the
 * quotient fits 32 bits): long division in 16-bit digits, each step exact
 * below 2^48. Leaves the remainder in `divRem`.
 */
function divU64(hi: number, lo: number, d: number): number {
  if (hi === 0) {
    divRem = lo % d;
    return Math.floor(lo / d);
  }
  let x = hi * 0x10000 + (lo >>> 16);
  const q1 = Math.floor(x / d);
  x = (x - q1 * d) * 0x10000 + (lo & 0xffff);
  const q0 = Math.floor(x / d);
  divRem = x - q0 * d;
  return q1 * 0x10000 + q0;
}

function div8(cpu: Cpu, src: number): void {
  const n = cpu.st16[0];
  if (src === 0) divideError(cpu);
  const q = Math.floor(n / src);
  if (q > 0xff) divideError(cpu);
  cpu.st8[0] = q;
  cpu.st8[1] = n % src;
}
function div16(cpu: Cpu, src: number): void {
  const n = (cpu.st16[S.EDX << 1] * 0x10000) + cpu.st16[0];
  if (src === 0) divideError(cpu);
  const q = Math.floor(n / src);
  if (q > 0xffff) divideError(cpu);
  cpu.st16[0] = q;
  cpu.st16[S.EDX << 1] = n % src;
}
function div32(cpu: Cpu, src: number): void {
  const d = src >>> 0;
  const hi = cpu.st[S.EDX] >>> 0;
  if (d === 0 || hi >= d) divideError(cpu); // zero divisor, or a quotient of 2^32 or more
  const q = divU64(hi, cpu.st[S.EAX] >>> 0, d);
  cpu.st[S.EAX] = q;
  cpu.st[S.EDX] = divRem;
}

function idiv8(cpu: Cpu, src: number): void {
  const n = (cpu.st16[0] << 16) >> 16;
  const d = (src << 24) >> 24;
  if (d === 0) divideError(cpu);
  const q = Math.trunc(n / d);
  if (q > 0x7f || q < -0x80) divideError(cpu);
  cpu.st8[0] = q;
  cpu.st8[1] = n % d;
}
function idiv16(cpu: Cpu, src: number): void {
  const n = (cpu.st16[S.EDX << 1] << 16) | cpu.st16[0];
  const d = (src << 16) >> 16;
  if (d === 0) divideError(cpu);
  const q = Math.trunc(n / d);
  if (q > 0x7fff || q < -0x8000) divideError(cpu);
  cpu.st16[0] = q;
  cpu.st16[S.EDX << 1] = n % d;
}
function idiv32(cpu: Cpu, src: number): void {
  const d = src | 0;
  if (d === 0) divideError(cpu);
  let hi = cpu.st[S.EDX], lo = cpu.st[S.EAX];
  const negN = hi < 0;
  if (negN) {
    // Two's-complement negate the 64-bit dividend.
    lo = -lo | 0;
    hi = (~hi + (lo === 0 ? 1 : 0)) | 0;
  }
  const ad = Math.abs(d);
  if ((hi >>> 0) >= ad) divideError(cpu); // |quotient| >= 2^32
  const q = divU64(hi >>> 0, lo >>> 0, ad);
  const negQ = negN !== d < 0;
  // The signed quotient must fit: up to 2^31 when negative, 2^31 - 1 otherwise.
  if (q > (negQ ? 0x8000_0000 : 0x7fff_ffff)) divideError(cpu);
  cpu.st[S.EAX] = negQ ? -q : q;
  cpu.st[S.EDX] = negN ? -divRem : divRem;
}

// ---------------------------------------------------------------- table

type Unary = (cpu: Cpu, src: number) => void;
const mulFl = { flagsWritten: Fl.ARITH, flagsUndefined: Fl.SF | Fl.ZF | Fl.AF | Fl.PF };
const divFl = { flagsWritten: Fl.ARITH, flagsUndefined: Fl.ARITH };

function group3(ext: number, mnemonic: string, fl: object, f8: Unary, f16: Unary, f32: Unary): InsnDef[] {
  return [
    { opcode: 0xf6, ext, mnemonic, operands: 'Eb', ...fl, exec: (cpu, i) => f8(cpu, getE8(cpu, i)) },
    ...sized({ opcode: 0xf7, ext, mnemonic, operands: 'Ev', ...fl },
      (cpu, i) => f16(cpu, getE16(cpu, i)), (cpu, i) => f32(cpu, getE32(cpu, i))),
  ];
}

/** The immediate of IMUL Gv,Ev,Iz/Ib at 16 bits is stored zero- or sign-extended; the product wants it signed. */
function imm16(cpu: Cpu, i: number): number {
  return (cpu.pool.imm[i] << 16) >> 16;
}

const imulMulti: InsnDef[] = [
  ...sized({ opcode: 0x0faf, mnemonic: 'imul', operands: 'Gv,Ev', ...mulFl },
    (cpu, i) => setG16(cpu, i, imulTrunc16(cpu, getG16(cpu, i), getE16(cpu, i))),
    (cpu, i) => setG32(cpu, i, imulTrunc32(cpu, getG32(cpu, i), getE32(cpu, i)))),
  ...[0x69, 0x6b].flatMap((opcode) => sized({ opcode, mnemonic: 'imul', operands: opcode === 0x69 ? 'Gv,Ev,Iz' : 'Gv,Ev,Ib', ...mulFl },
    (cpu, i) => setG16(cpu, i, imulTrunc16(cpu, getE16(cpu, i), imm16(cpu, i))),
    (cpu, i) => setG32(cpu, i, imulTrunc32(cpu, getE32(cpu, i), cpu.pool.imm[i])))),
];

export const muldivOps: InsnDef[] = [
  ...group3(4, 'mul', mulFl, mul8, mul16, mul32),
  ...group3(5, 'imul', mulFl, imul8, imul16, imul32),
  ...group3(6, 'div', divFl, div8, div16, div32),
  ...group3(7, 'idiv', divFl, idiv8, idiv16, idiv32),
  ...imulMulti,
];
