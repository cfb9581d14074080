// The mathematical functions behind FSIN, FCOS, FSINCOS, FPTAN, FPATAN,
// F2XM1, FYL2X and FYL2XP1, on BigFloats (see bigfloat.ts) with ~192-bit
// precision. Rounded once to 64 bits, the results are correctly rounded,
// while the host's microcode is not: the tests accept a 1-ulp difference on
// ordinary arguments (see tests/fpu). Argument reduction for sin/cos/tan is
// exact arithmetic with the x87's own 66-bit pi (see PIO2_66_FIXED), so it
// reproduces the hardware's behaviour near multiples of pi/2.

import {
  type BigFloat, ONE, PIO2, PIO2_66_FIXED, PI_BITS, P, add, bitLength, div, fromInt, mul, neg, norm, scale, sqrt, sub,
} from './bigfloat.ts';

function negligible(term: BigFloat, sum: BigFloat): boolean {
  return term.m === 0n || term.e + bitLength(term.m) < sum.e + bitLength(sum.m) - P - 4;
}

/** sin and cos of |r| <= pi/4 by Taylor series. */
function sinCosSmall(r: BigFloat): [BigFloat, BigFloat] {
  const r2 = mul(r, r);
  let s = r, term = r;
  for (let k = 1; k < 200; k++) {
    term = neg(div(mul(term, r2), fromInt((2 * k) * (2 * k + 1))));
    s = add(s, term);
    if (negligible(term, s)) break;
  }
  let c = ONE;
  term = ONE;
  for (let k = 1; k < 200; k++) {
    term = neg(div(mul(term, r2), fromInt((2 * k - 1) * (2 * k))));
    c = add(c, term);
    if (negligible(term, c)) break;
  }
  return [s, c];
}

/** Reduces x by the nearest multiple q of (66-bit) pi/2, exactly: returns [r, q mod 4] with |r| <= ~pi/4. */
function reduce(x: BigFloat): [BigFloat, number] {
  const shift = x.e + PI_BITS;
  const X = shift >= 0 ? x.m << BigInt(shift) : x.m >> BigInt(-shift);
  const neg0 = X < 0n;
  const ax = neg0 ? -X : X;
  let q = (ax + (PIO2_66_FIXED >> 1n)) / PIO2_66_FIXED;
  const R = ax - q * PIO2_66_FIXED;
  let r = norm(neg0 ? -R : R, -PI_BITS);
  if (neg0) q = -q;
  return [r, Number(((q % 4n) + 4n) % 4n)];
}

export function sinCos(x: BigFloat): [BigFloat, BigFloat] {
  let r: BigFloat, q: number;
  if (x.e + bitLength(x.m) <= -1) [r, q] = [x, 0]; // |x| < 0.5
  else [r, q] = reduce(x);
  const [s, c] = sinCosSmall(r);
  switch (q) {
    case 0:
      return [s, c];
    case 1:
      return [c, neg(s)];
    case 2:
      return [neg(s), neg(c)];
    default:
      return [neg(c), s];
  }
}

/** atan(t) for 0 <= t <= 1: three angle halvings, then the Gregory series. */
export function atanUnit(t: BigFloat): BigFloat {
  for (let i = 0; i < 3; i++) t = div(t, add(ONE, sqrt(add(ONE, mul(t, t)))));
  const t2 = mul(t, t);
  let s = t, pow = t;
  for (let k = 1; k < 400; k++) {
    pow = neg(mul(pow, t2));
    const term = div(pow, fromInt(2 * k + 1));
    s = add(s, term);
    if (negligible(term, s)) break;
  }
  return scale(s, 3);
}

/** atan2(y, x) for finite, not both zero, as the x87 FPATAN defines it (ST1 = y, ST0 = x). */
export function atan2(y: BigFloat, x: BigFloat): BigFloat {
  const ay = y.m < 0n ? neg(y) : y, ax = x.m < 0n ? neg(x) : x;
  let r: BigFloat;
  if (ay.m === 0n) r = { m: 0n, e: 0 };
  else if (ax.m === 0n) r = PIO2;
  else if (sub(ay, ax).m <= 0n) r = atanUnit(div(ay, ax));
  else r = sub(PIO2, atanUnit(div(ax, ay)));
  if (x.m < 0n) r = sub(scale(PIO2, 1), r);
  return y.m < 0n ? neg(r) : r;
}

/** e^z - 1 by its Taylor series (|z| <= ~0.7 keeps it short and accurate). */
function expm1(z: BigFloat): BigFloat {
  let s = z, term = z;
  for (let n = 2; n < 300; n++) {
    term = div(mul(term, z), fromInt(n));
    s = add(s, term);
    if (negligible(term, s)) break;
  }
  return s;
}

/** 2 * atanh(s) = ln((1 + s) / (1 - s)). */
function atanh2(s: BigFloat): BigFloat {
  const s2 = mul(s, s);
  let sum = s, pow = s;
  for (let k = 1; k < 2000; k++) {
    pow = mul(pow, s2);
    const term = div(pow, fromInt(2 * k + 1));
    sum = add(sum, term);
    if (negligible(term, sum)) break;
  }
  return scale(sum, 1);
}

export const LN2: BigFloat = atanh2(div(ONE, fromInt(3)));
const SQRT2: BigFloat = sqrt(fromInt(2));

/** 2^x - 1. */
export function exp2m1(x: BigFloat): BigFloat {
  return expm1(mul(x, LN2));
}

/** log2(x) for x > 0: x = m * 2^k with m in [sqrt(1/2), sqrt(2)) so log2 near x = 1 keeps full relative precision. */
export function log2(x: BigFloat): BigFloat {
  let k = x.e + bitLength(x.m) - 1;
  let m: BigFloat = { m: x.m, e: x.e - k }; // in [1, 2)
  if (sub(m, SQRT2).m > 0n) {
    m = scale(m, -1);
    k++;
  }
  const lnm = atanh2(div(sub(m, ONE), add(m, ONE)));
  return add(fromInt(k), div(lnm, LN2));
}

/** log2(1 + x) for x > -1, accurate for small x. */
export function log2p1(x: BigFloat): BigFloat {
  return div(atanh2(div(x, add(fromInt(2), x))), LN2);
}
