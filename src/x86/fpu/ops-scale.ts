// Instruction-level FSCALE, FXTRACT, FPREM and FPREM1 (two-register
// operations on ST0 and ST1).

import type { FpuState } from './state.ts';
import {
  A_EXP, A_HI, A_LO, A_SIGN, B_EXP, B_SIGN, F, K_DENORMAL, K_INF, K_QNAN, K_SNAN, K_UNSUPPORTED, K_ZERO,
  R_EXP, R_EXT, R_HI, R_LO, R_SIGN, copyToR, setIndefinite, setInf, setZero,
} from './float80.ts';
import { propagateNaN, quietNaNToR } from './nan.ts';
import { EXT_EMAX, EXT_EMIN, roundR } from './round.ts';
import { unpackSmallInt } from './convert.ts';
import { remainderCore, remainderQuotient } from './remainder.ts';
import { commit } from './ops-unary.ts';
import { SW_C0, SW_C1, SW_C2, SW_C3, SW_DE, SW_IE, SW_ZE } from './bits.ts';

/** Loads ST0 into A and ST1 into B; returns false after handling a stack underflow (masked: ST0 = indefinite). */
function loadST0ST1(s: FpuState): boolean {
  if (s.isEmpty(0) || s.isEmpty(1)) {
    if (s.stackUnderflow()) s.writeIndefinite(0);
    return false;
  }
  return true;
}

/** NaN/unsupported handling for two operands: result in R and flags, or -1 if both are ordinary. */
function nanOperands(ka: number, kb: number): number {
  if (ka === K_UNSUPPORTED || kb === K_UNSUPPORTED) {
    setIndefinite();
    return SW_IE;
  }
  if (ka === K_SNAN || ka === K_QNAN || kb === K_SNAN || kb === K_QNAN) return propagateNaN(ka, kb);
  return -1;
}

/** FSCALE: ST0 = ST0 * 2^trunc(ST1), at full precision (PC does not apply). */
export function fscale(s: FpuState): void {
  if (!loadST0ST1(s)) return;
  const ka = s.load(0, A_SIGN), kb = s.load(1, B_SIGN);
  let flags = nanOperands(ka, kb);
  if (flags < 0) {
    flags = ka === K_DENORMAL || kb === K_DENORMAL ? SW_DE : 0;
    const sa = F[A_SIGN];
    if (kb === K_INF) {
      // 0 * 2^+inf and inf * 2^-inf are invalid; otherwise the result saturates.
      const invalid = F[B_SIGN] === 0 ? ka === K_ZERO : ka === K_INF;
      if (invalid) {
        setIndefinite();
        flags = SW_IE;
      } else if (F[B_SIGN] === 0) setInf(sa);
      else setZero(sa);
    } else if (ka === K_INF || ka === K_ZERO) {
      copyToR(A_SIGN);
    } else {
      // trunc(ST1); beyond +-2^16 every result over- or underflows, so clamp.
      let n = 0;
      const eb = F[B_EXP];
      if (kb !== K_ZERO && eb >= 16383) {
        n = eb >= 16383 + 17 ? 1 << 17 : Math.floor(F[B_SIGN + 2] / 2 ** (31 - (eb - 16383)));
        if (F[B_SIGN]) n = -n;
      }
      F[R_SIGN] = sa;
      F[R_EXP] = F[A_EXP] + n;
      F[R_HI] = F[A_HI];
      F[R_LO] = F[A_LO];
      F[R_EXT] = 0;
      flags |= roundR(64, (s.cw >>> 10) & 3, EXT_EMIN, EXT_EMAX, s.cw);
    }
  }
  commit(s, 0, flags);
}

/** FXTRACT: ST0 = unbiased exponent, then push the significand (exponent 0). */
export function fxtract(s: FpuState): void {
  if (s.isEmpty(0)) {
    // Masked: both results are the indefinite, pushed even over a full stack.
    if (s.stackUnderflow()) {
      s.writeIndefinite(0);
      s.push();
      s.writeIndefinite(0);
    }
    return;
  }
  if (!s.isEmpty(7)) {
    if (s.stackOverflow()) {
      s.writeIndefinite(0);
      s.push();
      s.writeIndefinite(0);
    }
    return;
  }
  const k = s.load(0, A_SIGN);
  let flags = 0;
  // Significand goes to R at the end; the exponent part is written to ST0 first.
  let expSe = 0, expHi = 0, expLo = 0;
  if (k === K_UNSUPPORTED || k === K_SNAN || k === K_QNAN) {
    if (k === K_UNSUPPORTED) setIndefinite();
    else quietNaNToR(A_SIGN);
    flags = k === K_QNAN ? 0 : SW_IE;
    expSe = F[R_SIGN] * 0x8000 + 0x7fff, expHi = F[R_HI], expLo = F[R_LO];
  } else if (k === K_ZERO) {
    flags = SW_ZE;
    expSe = 0xffff, expHi = 0x80000000; // -infinity
    setZero(F[A_SIGN]);
  } else if (k === K_INF) {
    expSe = 0x7fff, expHi = 0x80000000;
    copyToR(A_SIGN);
  } else {
    if (k === K_DENORMAL) flags = SW_DE;
    const sign = F[A_SIGN], hi = F[A_HI], lo = F[A_LO];
    unpackSmallInt(B_SIGN, F[A_EXP] - 16383);
    expSe = F[B_EXP] === 0 ? 0 : (F[B_SIGN] << 15) | F[B_EXP];
    expHi = F[B_SIGN + 2];
    expLo = F[B_SIGN + 3];
    F[R_SIGN] = sign;
    F[R_EXP] = 16383;
    F[R_HI] = hi;
    F[R_LO] = lo;
    F[R_EXT] = 0;
  }
  if (s.unmasked(flags & (SW_IE | SW_DE | SW_ZE))) {
    s.signal(flags);
    return;
  }
  s.write(0, expSe, expHi, expLo);
  s.push();
  s.writeR(0);
  s.signal(flags);
}

/**
 * FPREM (nearest = false) and FPREM1: partial remainder with quotient bits in
 * C0/C3/C1 and C2 = incomplete.
 *
 * When no remainder is computed (stack underflow, NaN or unsupported
 * operands, invalid operands, or an unmasked exception that suppresses the
 * result) the host clears C2 and C1 but leaves C0 and C3 as they were. The
 * SDM only describes the quotient bits of a computed remainder; we follow the
 * host.
 */
export function fprem(s: FpuState, nearest: boolean): void {
  if (!loadST0ST1(s)) return void (s.sw &= ~SW_C2);
  const ka = s.load(0, A_SIGN), kb = s.load(1, B_SIGN);
  let flags = nanOperands(ka, kb);
  let q = 0;
  let computed = false;
  if (flags < 0) {
    flags = ka === K_DENORMAL || kb === K_DENORMAL ? SW_DE : 0;
    if (ka === K_INF || kb === K_ZERO) {
      setIndefinite();
      flags = SW_IE;
    } else if (ka === K_ZERO || kb === K_INF) {
      computed = true;
      // Remainder is ST0 itself (a denormal is renormalized through rounding).
      F[R_SIGN] = F[A_SIGN];
      F[R_EXP] = F[A_EXP];
      F[R_HI] = F[A_HI];
      F[R_LO] = F[A_LO];
      F[R_EXT] = 0;
      if (ka !== K_ZERO) flags |= roundR(64, 0, EXT_EMIN, EXT_EMAX, s.cw);
      else setZero(F[A_SIGN]);
    } else {
      computed = true;
      flags |= remainderCore(nearest, s.cw);
      q = remainderQuotient();
    }
  }
  if (!commit(s, 0, flags & ~SW_C1) || !computed) return void (s.sw &= ~SW_C2);
  let cc = 0;
  if (q & 8) cc = SW_C2;
  else {
    if (q & 4) cc |= SW_C0;
    if (q & 2) cc |= SW_C3;
    if (q & 1) cc |= SW_C1;
  }
  s.sw = (s.sw & ~(SW_C0 | SW_C1 | SW_C2 | SW_C3)) | cc;
}

