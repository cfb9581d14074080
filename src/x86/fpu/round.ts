// Rounding of an exact intermediate result (R slots: sign, unbounded exponent,
// 64-bit significand and 32 extra bits whose LSB is sticky) to a precision
// and exponent range, with the x87's underflow/overflow responses.
//
// The same routine serves register results (extended range, precision from
// PC) and stores to m32/m64 (their own range and precision): the destination
// is described by (prec, emin, emax) with exponents in extended-biased terms.
// Denormal results are shifted right first and then rounded at the same bit
// position as normal ones, which is what the hardware does (the significand
// field keeps its width; only the exponent is pinned to emin).

import { F, R_EXP, R_EXT, R_HI, R_LO, R_SIGN } from './float80.ts';
import { RC_DOWN, RC_NEAREST, RC_UP, SW_C1, SW_OE, SW_PE, SW_UE, WRAP_BIAS } from './bits.ts';

/** Destination formats as [prec, emin, emax] in extended-biased exponents. */
export const EXT_EMIN = 1;
export const EXT_EMAX = 0x7ffe;
export const DBL_EMIN = 16383 - 1022;
export const DBL_EMAX = 16383 + 1023;
export const SGL_EMIN = 16383 - 126;
export const SGL_EMAX = 16383 + 127;

/**
 * Tininess is detected after rounding on the host x87 (a result that rounds
 * up to the smallest normal is not tiny), determined against the host CPU.
 */
const TININESS_AFTER_ROUNDING = true;

/** Precision in bits selected by control word `cw`: PC 00 = 24, 10 = 53, 11 and the reserved 01 = 64 (as on the host). */
export function pcBits(cw: number): number {
  const pc = (cw >>> 8) & 3;
  return pc === 0 ? 24 : pc === 2 ? 53 : 64;
}

/** Shifts R's 96-bit significand right by n, ORing every bit shifted out into the sticky LSB. */
export function shiftRightSticky(n: number): void {
  let hi = F[R_HI], lo = F[R_LO], x = F[R_EXT];
  if (n <= 0) return;
  if (n >= 96) {
    x = hi !== 0 || lo !== 0 || x !== 0 ? 1 : 0;
    hi = 0;
    lo = 0;
  } else {
    while (n >= 32) {
      x = (lo | (x !== 0 ? 1 : 0)) >>> 0;
      lo = hi;
      hi = 0;
      n -= 32;
    }
    if (n > 0) {
      const sticky = (x << (32 - n)) !== 0 ? 1 : 0;
      x = ((x >>> n) | (lo << (32 - n)) | sticky) >>> 0;
      lo = ((lo >>> n) | (hi << (32 - n))) >>> 0;
      hi = hi >>> n;
    }
  }
  F[R_HI] = hi;
  F[R_LO] = lo;
  F[R_EXT] = x;
}

/** Shifts R left until J (bit 63) is set, adjusting the exponent; R must be nonzero. */
export function normalizeR(): void {
  let hi = F[R_HI], lo = F[R_LO], x = F[R_EXT], e = F[R_EXP];
  while (hi === 0) {
    hi = lo;
    lo = x;
    x = 0;
    e -= 32;
  }
  const n = Math.clz32(hi);
  if (n) {
    hi = ((hi << n) | (lo >>> (32 - n))) >>> 0;
    lo = ((lo << n) | (x >>> (32 - n))) >>> 0;
    x = (x << n) >>> 0;
    e -= n;
  }
  F[R_HI] = hi;
  F[R_LO] = lo;
  F[R_EXT] = x;
  F[R_EXP] = e;
}

/**
 * Rounds R's significand to `prec` bits (the discarded part is everything
 * below bit 64 - prec, plus R_EXT) per `rc`, in place. A carry out of bit 63
 * renormalizes and increments the exponent. Returns PE | C1 (C1 = rounded
 * away from zero), or 0 if exact.
 */
export function roundSignificand(prec: number, rc: number): number {
  let hi = F[R_HI], lo = F[R_LO];
  const x = F[R_EXT];
  let rbit: number, sticky: boolean, lsb: number;
  if (prec === 64) {
    rbit = x >>> 31;
    sticky = (x & 0x7fffffff) !== 0;
    lsb = lo & 1;
  } else if (prec === 53) {
    rbit = (lo >>> 10) & 1;
    sticky = (lo & 0x3ff) !== 0 || x !== 0;
    lsb = (lo >>> 11) & 1;
    lo = (lo & 0xfffff800) >>> 0;
  } else {
    rbit = (hi >>> 7) & 1;
    sticky = (hi & 0x7f) !== 0 || lo !== 0 || x !== 0;
    lsb = (hi >>> 8) & 1;
    hi = (hi & 0xffffff00) >>> 0;
    lo = 0;
  }
  F[R_EXT] = 0;
  if (!rbit && !sticky) {
    F[R_HI] = hi;
    F[R_LO] = lo;
    return 0;
  }
  const sign = F[R_SIGN];
  const up = rc === RC_NEAREST ? rbit === 1 && (sticky || lsb === 1) : rc === RC_UP ? sign === 0 : rc === RC_DOWN ? sign === 1 : false;
  if (up) {
    if (prec === 64) lo += 1;
    else if (prec === 53) lo += 0x800;
    else hi += 0x100;
    if (lo > 0xffffffff) {
      lo -= 0x100000000;
      hi += 1;
    }
    if (hi > 0xffffffff) {
      // Carry out of the integer bit: the significand became 2.0.
      hi = 0x80000000;
      lo = 0;
      F[R_EXP] += 1;
    }
  }
  F[R_HI] = hi;
  F[R_LO] = lo;
  return up ? SW_PE | SW_C1 : SW_PE;
}

/** Largest finite significand at precision prec, into R. */
function setMaxSignificand(prec: number): void {
  F[R_HI] = prec === 24 ? 0xffffff00 : 0xffffffff;
  F[R_LO] = prec === 64 ? 0xffffffff : prec === 53 ? 0xfffff800 : 0;
}

/**
 * Rounds the nonzero intermediate in R to a destination with `prec` bits and
 * biased exponent range [emin, emax] under control word `cw` (its masks and
 * the rounding mode `rc`). Returns the raised flags (PE, UE, OE) plus C1 for a
 * rounding away from zero.
 *
 * Afterwards R holds the result: a denormal (or a zero from total underflow)
 * has J = 0 and exponent emin; an overflow gives infinity or the largest
 * finite number (masked) as the rounding mode dictates. With OE/UE unmasked
 * the result is the normally rounded value with its exponent wrapped by
 * 0x6000 into range, which register destinations keep and memory
 * destinations discard (the caller stores nothing then).
 */
export function roundR(prec: number, rc: number, emin: number, emax: number, cw: number): number {
  let flags = 0;
  let tiny = false;
  // Unmasked UE wraps the exponent, unless even the wrapped value would be
  // tiny (only FSCALE gets that far): then the masked response is used.
  const wrapUnderflow = !(cw & SW_UE) && F[R_EXP] + WRAP_BIAS >= emin;
  if (!(cw & SW_UE) && !wrapUnderflow) {
    // Beyond the wrap range (only FSCALE gets here) the host returns a signed
    // zero whatever the rounding mode, with UE and PE.
    F[R_EXP] = 0;
    F[R_HI] = 0;
    F[R_LO] = 0;
    F[R_EXT] = 0;
    return SW_UE | SW_PE;
  }
  if (!(cw & SW_OE) && F[R_EXP] - WRAP_BIAS > emax) {
    // Likewise a signed infinity for an overflow beyond the wrap range.
    F[R_EXP] = 0x7fff;
    F[R_HI] = 0x80000000;
    F[R_LO] = 0;
    F[R_EXT] = 0;
    return SW_OE | SW_PE | SW_C1;
  }
  if (F[R_EXP] < emin) {
    tiny = true;
    if (TININESS_AFTER_ROUNDING && F[R_EXP] === emin - 1) {
      // Tiny only if rounding with an unbounded exponent would stay below 2^emin.
      const hi = F[R_HI], lo = F[R_LO], x = F[R_EXT];
      roundSignificand(prec, rc);
      tiny = F[R_EXP] < emin;
      F[R_HI] = hi;
      F[R_LO] = lo;
      F[R_EXT] = x;
      F[R_EXP] = emin - 1;
    }
    if (!wrapUnderflow) {
      // Masked response: denormalize, then round at the usual position.
      shiftRightSticky(emin - F[R_EXP]);
      F[R_EXP] = emin;
    }
  }
  flags |= roundSignificand(prec, rc);
  if (tiny) {
    if (wrapUnderflow) {
      flags |= SW_UE;
      F[R_EXP] += WRAP_BIAS;
      return flags;
    }
    if (flags & SW_PE) flags |= SW_UE;
  }
  if (F[R_EXP] > emax) {
    if (cw & SW_OE) {
      flags |= SW_OE | SW_PE;
      const sign = F[R_SIGN];
      const toInf = rc === RC_NEAREST || (rc === RC_UP && sign === 0) || (rc === RC_DOWN && sign === 1);
      if (toInf) {
        F[R_EXP] = 0x7fff;
        F[R_HI] = 0x80000000;
        F[R_LO] = 0;
        flags |= SW_C1;
      } else {
        F[R_EXP] = emax;
        setMaxSignificand(prec);
        flags &= ~SW_C1;
      }
    } else {
      flags |= SW_OE;
      F[R_EXP] -= WRAP_BIAS;
    }
  }
  return flags;
}
