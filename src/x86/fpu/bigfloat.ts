// A small arbitrary-precision binary float (BigInt significand, integer
// exponent) for the transcendental instructions only. These are slow on real
// hardware too and rare in guest code, so clarity wins over allocation-free
// code here; nothing on the arithmetic hot paths imports this file.
//
// Values carry ~P = 192 significant bits, far beyond the 64 the x87 keeps, so
// a result rounded once from a BigFloat is correctly rounded except in cases
// that are vanishingly rare.

import { F, R_EXP, R_EXT, R_HI, R_LO, R_SIGN } from './float80.ts';

export const P = 192;

/** m * 2^e (m may be negative; zero is m = 0n). */
export interface BigFloat {
  m: bigint;
  e: number;
}

export function bitLength(m: bigint): number {
  if (m < 0n) m = -m;
  if (m === 0n) return 0;
  const s = m.toString(16);
  return (s.length - 1) * 4 + (32 - Math.clz32(parseInt(s[0], 16)));
}

/**
 * Truncates to at most P bits, jamming the lost bits into the lowest bit
 * (so a value known to be inexact never looks exact or lands on a rounding
 * boundary when it is really just below/above it).
 */
export function norm(m: bigint, e: number): BigFloat {
  const n = bitLength(m) - P;
  if (n > 0) {
    const negative = m < 0n;
    let a = negative ? -m : m;
    const k = BigInt(n);
    const lost = (a & ((1n << k) - 1n)) !== 0n;
    a = (a >> k) | (lost ? 1n : 0n);
    m = negative ? -a : a;
    e += n;
  }
  return { m, e };
}

export const ZERO: BigFloat = { m: 0n, e: 0 };
export const ONE: BigFloat = { m: 1n, e: 0 };

export function fromInt(v: number | bigint): BigFloat {
  return norm(BigInt(v), 0);
}
export function neg(a: BigFloat): BigFloat {
  return { m: -a.m, e: a.e };
}
export function abs(a: BigFloat): BigFloat {
  return a.m < 0n ? neg(a) : a;
}
export function isZero(a: BigFloat): boolean {
  return a.m === 0n;
}
export function sign(a: BigFloat): number {
  return a.m < 0n ? -1 : a.m > 0n ? 1 : 0;
}
/** a * 2^k */
export function scale(a: BigFloat, k: number): BigFloat {
  return { m: a.m, e: a.e + k };
}

export function add(a: BigFloat, b: BigFloat): BigFloat {
  if (a.m === 0n) return b;
  if (b.m === 0n) return a;
  // Drop the smaller operand's bits that lie far below the larger's precision.
  // An operand far below the other's precision only nudges it: keep its sign
  // as one unit in a guard position so later rounding sees the right side.
  const ta = a.e + bitLength(a.m), tb = b.e + bitLength(b.m);
  if (ta - tb > P + 8) return nudge(a, b);
  if (tb - ta > P + 8) return nudge(b, a);
  const e = Math.min(a.e, b.e);
  return norm((a.m << BigInt(a.e - e)) + (b.m << BigInt(b.e - e)), e);
}
function nudge(big: BigFloat, small: BigFloat): BigFloat {
  const k = P + 8 - bitLength(big.m);
  return norm((big.m << BigInt(k)) + (small.m < 0n ? -1n : 1n), big.e - k);
}
export function sub(a: BigFloat, b: BigFloat): BigFloat {
  return add(a, neg(b));
}
export function mul(a: BigFloat, b: BigFloat): BigFloat {
  return norm(a.m * b.m, a.e + b.e);
}
export function div(a: BigFloat, b: BigFloat): BigFloat {
  const shift = P + 2 + bitLength(b.m) - bitLength(a.m);
  const s = Math.max(0, shift);
  return norm((a.m << BigInt(s)) / b.m, a.e - b.e - s);
}
export function sqrt(a: BigFloat): BigFloat {
  if (a.m <= 0n) return ZERO;
  // Make the exponent even and the radicand ~2P bits, then integer sqrt.
  let m = a.m, e = a.e;
  let s = 2 * P + 2 - bitLength(m);
  if ((e - s) & 1) s++;
  m <<= BigInt(s);
  e -= s;
  let x = 1n << BigInt((bitLength(m) >> 1) + 1);
  for (;;) {
    const y = (x + m / x) >> 1n;
    if (y >= x) break;
    x = y;
  }
  return norm(x, e / 2);
}
export function cmpAbs(a: BigFloat, b: BigFloat): number {
  return sign(sub(abs(a), abs(b)));
}

/** Rounds |a| toward zero to an integer (a BigInt). */
export function truncInt(a: BigFloat): bigint {
  return a.e >= 0 ? a.m << BigInt(a.e) : a.m / (1n << BigInt(-a.e));
}

/**
 * Puts a (nonzero) into the R scratch with 96 significant bits; `exact`
 * false marks it inexact with a sticky bit, which is what lets the common
 * rounding code report PE and round correctly.
 */
export function toR(a: BigFloat, exact: boolean): void {
  let m = a.m;
  F[R_SIGN] = m < 0n ? 1 : 0;
  if (m < 0n) m = -m;
  const L = bitLength(m);
  let lost = false;
  if (L > 96) {
    const k = BigInt(L - 96);
    lost = (m & ((1n << k) - 1n)) !== 0n;
    m >>= k;
  } else m <<= BigInt(96 - L);
  F[R_EXP] = 16383 + a.e + L - 1;
  F[R_HI] = Number(m >> 64n);
  F[R_LO] = Number((m >> 32n) & 0xffffffffn);
  F[R_EXT] = Number(m & 0xffffffffn) | (lost || !exact ? 1 : 0);
  F[R_EXT] = F[R_EXT] >>> 0;
}

/** BigFloat from an unpacked finite scratch operand slot (A_SIGN / B_SIGN). */
export function fromSlot(s: number): BigFloat {
  const m = (BigInt(F[s + 2]) << 32n) | BigInt(F[s + 3]);
  if (m === 0n) return ZERO;
  return { m: F[s] ? -m : m, e: F[s + 1] - 16383 - 63 };
}

// ---- constants ------------------------------------------------------------------

/** atan(1/n) * 2^bits as a BigInt, by the Gregory series (for Machin's formula). */
function atanInv(n: bigint, bits: bigint): bigint {
  const one = 1n << bits;
  let term = one / n, sum = term, k = 1n;
  const n2 = n * n;
  while (term !== 0n) {
    term /= n2;
    k += 2n;
    sum += (k & 2n ? -term : term) / k;
  }
  return sum;
}

/** Fixed-point pi/2 with PI_BITS fraction bits. */
export const PI_BITS = 512;
export const PIO2_FIXED = (4n * atanInv(5n, 520n) - atanInv(239n, 520n)) * 2n >> 8n; // (pi/4)*2 = pi/2
export const PI: BigFloat = norm(PIO2_FIXED, 1 - PI_BITS);
export const PIO2: BigFloat = norm(PIO2_FIXED, -PI_BITS);

/**
 * The 66-bit pi the x87 uses for FSIN/FCOS/FSINCOS/FPTAN argument reduction
 * (0x3.243F6A8885A308D3, pi rounded to 66 bits), as pi/2 with PI_BITS
 * fraction bits. Reducing with it rather than with the true pi is what makes
 * results near multiples of pi/2 match the host (e.g. FPTAN of the 64-bit pi/2
 * gives exactly 2^65).
 */
export const PIO2_66_FIXED = 0x3243f6a8885a308d3n << BigInt(PI_BITS - 65);
