// Conversions between the extended format and the memory formats: float32,
// float64 and two's-complement integers (16/32/64 bits), plus rounding to an
// integer (shared by FIST, FISTTP, FRNDINT and FBSTP).
//
// Loads (to scratch slots) are exact and report the source class, so a
// denormal float32/float64 raises DE even though it is normal in extended.
// Stores take an unpacked operand in A and leave the encoding in O_HI/O_LO.

import {
  A_EXP, A_HI, A_LO, A_SIGN, F, K_DENORMAL, K_INF, K_NORMAL, K_QNAN, K_SNAN, K_UNSUPPORTED, K_ZERO,
  O_HI, O_LO, R_EXP, R_EXT, R_HI, R_LO, R_SIGN,
} from './float80.ts';
import { DBL_EMAX, DBL_EMIN, SGL_EMAX, SGL_EMIN, roundR, roundSignificand, shiftRightSticky } from './round.ts';
import { SW_IE } from './bits.ts';

/** Normalizes slot s's significand (nonzero) and adjusts its exponent. */
function normalizeSlot(s: number): void {
  let hi = F[s + 2], lo = F[s + 3], e = F[s + 1];
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
  F[s + 2] = hi;
  F[s + 3] = lo;
}

/** Unpacks a float32 into slot s, returning the class of the float32. */
export function unpackF32(s: number, bits: number): number {
  const e = (bits >>> 23) & 0xff;
  const f = bits & 0x7fffff;
  F[s] = bits >>> 31;
  F[s + 2] = (f << 8) >>> 0;
  F[s + 3] = 0;
  if (e === 0xff) {
    F[s + 1] = 0x7fff;
    F[s + 2] = (0x80000000 | (f << 8)) >>> 0;
    return f === 0 ? K_INF : f & 0x400000 ? K_QNAN : K_SNAN;
  }
  if (e === 0) {
    if (f === 0) {
      F[s + 1] = 0;
      return K_ZERO;
    }
    F[s + 1] = 1 - 127 + 16383;
    normalizeSlot(s);
    return K_DENORMAL;
  }
  F[s + 1] = e - 127 + 16383;
  F[s + 2] = (0x80000000 | (f << 8)) >>> 0;
  return K_NORMAL;
}

/** Unpacks a float64 (high and low dwords) into slot s, returning the class of the float64. */
export function unpackF64(s: number, dhi: number, dlo: number): number {
  const e = (dhi >>> 20) & 0x7ff;
  const fh = dhi & 0xfffff;
  F[s] = dhi >>> 31;
  F[s + 2] = ((fh << 11) | (dlo >>> 21)) >>> 0;
  F[s + 3] = (dlo << 11) >>> 0;
  if (e === 0x7ff) {
    F[s + 1] = 0x7fff;
    F[s + 2] = (F[s + 2] | 0x80000000) >>> 0;
    return (fh | dlo) === 0 ? K_INF : fh & 0x80000 ? K_QNAN : K_SNAN;
  }
  if (e === 0) {
    if ((fh | dlo) === 0) {
      F[s + 1] = 0;
      return K_ZERO;
    }
    F[s + 1] = 1 - 1023 + 16383;
    normalizeSlot(s);
    return K_DENORMAL;
  }
  F[s + 1] = e - 1023 + 16383;
  F[s + 2] = (F[s + 2] | 0x80000000) >>> 0;
  return K_NORMAL;
}

/** Unpacks a signed integer given as sign and 64-bit magnitude (hi:lo) into slot s. */
export function unpackInt(s: number, neg: number, hi: number, lo: number): number {
  F[s] = neg;
  F[s + 2] = hi >>> 0;
  F[s + 3] = lo >>> 0;
  if ((hi | lo) === 0) {
    F[s] = 0;
    F[s + 1] = 0;
    return K_ZERO;
  }
  F[s + 1] = 16383 + 63;
  normalizeSlot(s);
  return K_NORMAL;
}

/** Unpacks a 16/32-bit two's-complement value (already sign-extended to a JS int) into slot s. */
export function unpackSmallInt(s: number, v: number): number {
  return unpackInt(s, v < 0 ? 1 : 0, 0, Math.abs(v));
}

/** Unpacks a 64-bit two's-complement integer (hi, lo dwords) into slot s. */
export function unpackInt64(s: number, hi: number, lo: number): number {
  if (hi >>> 31) {
    // Negate: ~x + 1.
    let l = (~lo >>> 0) + 1;
    let h = ~hi >>> 0;
    if (l > 0xffffffff) {
      l = 0;
      h = (h + 1) >>> 0;
    }
    return unpackInt(s, 1, h, l);
  }
  return unpackInt(s, 0, hi, lo);
}

/**
 * Converts the operand in A (class k) to float32 (prec 24) or float64 (53)
 * under `cw`; leaves the bits in O_LO (float32) or O_HI:O_LO and returns the
 * flags (IE for SNaN/unsupported, OE/UE/PE/C1 from rounding). With OE or UE
 * unmasked the caller must not store (the hardware leaves memory unchanged).
 */
export function toFloat(k: number, prec: number, cw: number): number {
  const dbl = prec === 53;
  const sign = F[A_SIGN];
  let flags = 0;
  let e: number, hi: number, lo: number;
  switch (k) {
    case K_ZERO:
      e = 0, hi = 0, lo = 0;
      break;
    case K_INF:
      e = dbl ? 0x7ff : 0xff, hi = 0, lo = 0;
      break;
    case K_SNAN:
    case K_QNAN:
      flags = k === K_SNAN ? SW_IE : 0;
      e = dbl ? 0x7ff : 0xff;
      hi = (F[A_HI] | 0x40000000) >>> 0;
      lo = F[A_LO];
      break;
    case K_UNSUPPORTED:
      // Masked response: the memory format's indefinite.
      flags = SW_IE;
      F[A_SIGN] = 1;
      e = dbl ? 0x7ff : 0xff, hi = 0xc0000000, lo = 0;
      break;
    default: {
      F[R_SIGN] = sign;
      F[R_EXP] = F[A_EXP];
      F[R_HI] = F[A_HI];
      F[R_LO] = F[A_LO];
      F[R_EXT] = 0;
      flags = dbl ? roundR(53, (cw >>> 10) & 3, DBL_EMIN, DBL_EMAX, cw) : roundR(24, (cw >>> 10) & 3, SGL_EMIN, SGL_EMAX, cw);
      hi = F[R_HI];
      lo = F[R_LO];
      if (F[R_EXP] === 0x7fff) e = dbl ? 0x7ff : 0xff, hi = 0, lo = 0; // masked overflow to infinity
      else if (hi < 0x80000000) e = 0; // denormal or zero
      else e = F[R_EXP] - 16383 + (dbl ? 1023 : 127);
    }
  }
  const s = F[A_SIGN];
  if (dbl) {
    F[O_HI] = ((s << 31) | (e << 20) | ((hi >>> 11) & 0xfffff)) >>> 0;
    F[O_LO] = ((hi << 21) | (lo >>> 11)) >>> 0;
  } else {
    F[O_LO] = ((s << 31) | (e << 23) | ((hi >>> 8) & 0x7fffff)) >>> 0;
  }
  return flags;
}

/**
 * Rounds the finite nonzero A to an integer per `rc` into R_HI:R_LO (the
 * magnitude) and returns PE/C1. Valid for exponents below 2^63 (A_EXP <
 * 16383 + 63); larger values are integers already and the caller handles them.
 */
export function roundToIntR(rc: number): number {
  F[R_SIGN] = F[A_SIGN];
  F[R_EXP] = 16383 + 63;
  F[R_HI] = F[A_HI];
  F[R_LO] = F[A_LO];
  F[R_EXT] = 0;
  const e = F[A_EXP];
  if (e < 16383 + 63) shiftRightSticky(16383 + 63 - e);
  return roundSignificand(64, rc);
}

/**
 * Converts A (class k) to a signed integer of `bits` (16/32/64) bits rounded
 * per `rc` (FIST) or truncated (FISTTP passes RC_ZERO). Leaves the two's
 * complement in O_HI:O_LO and returns flags: IE when NaN, infinite,
 * unsupported or out of range (the caller stores the integer indefinite if
 * masked), else PE/C1.
 */
export function toInt(k: number, bits: number, rc: number): number {
  F[O_HI] = 0;
  F[O_LO] = 0;
  if (k === K_ZERO) return 0;
  if (k !== K_NORMAL && k !== K_DENORMAL) return SW_IE;
  if (F[A_EXP] >= 16383 + 63) {
    // |A| >= 2^63: only -2^63 fits (in 64 bits).
    if (bits === 64 && F[A_SIGN] === 1 && F[A_EXP] === 16383 + 63 && F[A_HI] === 0x80000000 && F[A_LO] === 0) {
      F[O_HI] = 0x80000000;
      return 0;
    }
    return SW_IE;
  }
  const flags = roundToIntR(rc);
  const hi = F[R_HI], lo = F[R_LO];
  const neg = F[A_SIGN] === 1;
  // Range check on the magnitude: up to 2^(bits-1) - 1, or 2^(bits-1) if negative.
  if (bits === 64) {
    if (hi > 0x80000000 || (hi === 0x80000000 && (lo !== 0 || !neg))) return SW_IE;
  } else if (hi !== 0 || lo > (neg ? 2 ** (bits - 1) : 2 ** (bits - 1) - 1)) {
    return SW_IE;
  }
  if (neg && (hi | lo) !== 0) {
    let l = (~lo >>> 0) + 1;
    let h = ~hi >>> 0;
    if (l > 0xffffffff) {
      l = 0;
      h = (h + 1) >>> 0;
    }
    F[O_HI] = h;
    F[O_LO] = l;
  } else {
    F[O_HI] = hi;
    F[O_LO] = lo;
  }
  return flags;
}
