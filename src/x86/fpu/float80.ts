// The 80-bit extended format and the module-level scratch operands the
// arithmetic works on. Nothing here allocates: operands are unpacked into a
// shared Float64Array (every slot holds an exact integer: a sign 0/1, an
// exponent, or an unsigned 32-bit significand half), the arithmetic writes its
// result into the R slots, and the instruction layer packs R into a register
// or memory. The FPU runs on one thread and never re-enters, so one set of
// scratch slots is enough.
//
// Convention: a finite value is (hi:lo as a 64-bit integer) * 2^(exp - 16383 - 63),
// hi holding the top 32 bits (bit 31 of hi = the explicit integer bit J).
// Unpacked operands are normalized (J = 1) even when denormal, so their
// exponent may be < 1; results before rounding may have any exponent.

export const BIAS = 16383;
export const EXP_MAX = 0x7fff;

/** Scratch slots. */
export const F = new Float64Array(16);
export const A_SIGN = 0, A_EXP = 1, A_HI = 2, A_LO = 3;
export const B_SIGN = 4, B_EXP = 5, B_HI = 6, B_LO = 7;
/** Result: sign, exponent, significand, and 32 extra bits below it with a sticky bit in their LSB. */
export const R_SIGN = 8, R_EXP = 9, R_HI = 10, R_LO = 11, R_EXT = 12;
/** Packed output of conversions to memory formats (m32: O_LO only). */
export const O_HI = 13, O_LO = 14;

// Operand classes.
export const K_ZERO = 0;
export const K_NORMAL = 1;
/** Denormal or pseudo-denormal: usable, but raises DE when used by arithmetic. */
export const K_DENORMAL = 2;
export const K_INF = 3;
export const K_QNAN = 4;
export const K_SNAN = 5;
/** Unnormal, pseudo-zero, pseudo-infinity, pseudo-NaN: invalid operands on the 387 and later. */
export const K_UNSUPPORTED = 6;

/** Classifies a register-format value (se = sign << 15 | exponent). */
export function classify(se: number, hi: number, lo: number): number {
  const e = se & EXP_MAX;
  const j = hi >>> 31;
  if (e === 0) {
    if (j) return K_DENORMAL; // pseudo-denormal
    return (hi | lo) === 0 ? K_ZERO : K_DENORMAL;
  }
  if (!j) return K_UNSUPPORTED;
  if (e === EXP_MAX) {
    if ((hi & 0x7fffffff) === 0 && lo === 0) return K_INF;
    return hi & 0x40000000 ? K_QNAN : K_SNAN;
  }
  return K_NORMAL;
}

/**
 * Unpacks a register-format value into scratch slot `s` (A_SIGN or B_SIGN) and
 * returns its class. Denormals are normalized here (their true exponent is 1),
 * so the arithmetic only ever sees J = 1; specials are copied as they are.
 */
export function unpack(s: number, se: number, hi: number, lo: number): number {
  const k = classify(se, hi, lo);
  F[s] = se >>> 15;
  hi >>>= 0;
  lo >>>= 0;
  if (k === K_DENORMAL) {
    let e = 1;
    if (hi === 0) {
      hi = lo;
      lo = 0;
      e -= 32;
    }
    const n = Math.clz32(hi);
    if (n) {
      hi = ((hi << n) | (lo >>> (32 - n))) >>> 0;
      lo = (lo << n) >>> 0;
      e -= n;
    }
    F[s + 1] = e;
  } else {
    F[s + 1] = se & EXP_MAX;
  }
  F[s + 2] = hi;
  F[s + 3] = lo;
  return k;
}

/** Full tag (valid / zero / special) of a register-format value; empty is decided elsewhere. */
export function tagOf(se: number, hi: number, lo: number): number {
  const e = se & EXP_MAX;
  if (e === EXP_MAX) return 2;
  if (e === 0) return (hi | lo) === 0 ? 1 : 2;
  return hi >>> 31 ? 0 : 2;
}

/** Sets R to a signed zero. */
export function setZero(sign: number): void {
  F[R_SIGN] = sign;
  F[R_EXP] = 0;
  F[R_HI] = 0;
  F[R_LO] = 0;
  F[R_EXT] = 0;
}

/** Sets R to a signed infinity. */
export function setInf(sign: number): void {
  F[R_SIGN] = sign;
  F[R_EXP] = EXP_MAX;
  F[R_HI] = 0x80000000;
  F[R_LO] = 0;
  F[R_EXT] = 0;
}

/** Sets R to the real indefinite: the default QNaN -1.1000...b * 2^16384. */
export function setIndefinite(): void {
  F[R_SIGN] = 1;
  F[R_EXP] = EXP_MAX;
  F[R_HI] = 0xc0000000;
  F[R_LO] = 0;
  F[R_EXT] = 0;
}

/** Copies operand slot s (A_SIGN / B_SIGN) to R unchanged. */
export function copyToR(s: number): void {
  F[R_SIGN] = F[s];
  F[R_EXP] = F[s + 1];
  F[R_HI] = F[s + 2];
  F[R_LO] = F[s + 3];
  F[R_EXT] = 0;
}
