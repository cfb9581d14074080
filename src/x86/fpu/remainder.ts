// FPREM / FPREM1 partial remainder of finite nonzero A by finite nonzero B.
//
// With exponent difference D < 64 the remainder is exact and complete:
// Q = A/B truncated (FPREM) or rounded to nearest-even (FPREM1), result
// A - Q*B, and the low three quotient bits are reported. For D >= 64 one
// partial step reduces the exponent by N = 32 + (D mod 32) with a truncated
// quotient (the host's choice for the "implementation-dependent" N, as in
// Bochs), and C2 = 1 tells software to loop.

import { A_EXP, A_HI, A_LO, A_SIGN, B_EXP, B_HI, B_LO, F, R_EXP, R_EXT, R_HI, R_LO, R_SIGN, setZero } from './float80.ts';
import { EXT_EMAX, EXT_EMIN, normalizeR, roundR } from './round.ts';

const TWO32 = 0x100000000;

/** Quotient bits of the last remainder: bit 0..2 = Q0..Q2, bit 3 = incomplete. */
let quotientBits = 0;
export function remainderQuotient(): number {
  return quotientBits;
}

/**
 * R = partial remainder of A by B; `nearest` selects FPREM1. Returns the
 * rounding flags (only UE can arise, for a tiny exact result); the quotient
 * bits are in remainderQuotient().
 */
export function remainderCore(nearest: boolean, cw: number): number {
  const ea = F[A_EXP], eb = F[B_EXP];
  const d = ea - eb;
  let sign = F[A_SIGN];
  if (d < -1 || (d === -1 && !nearest)) {
    // |A| < |B| / 2 (or FPREM with |A| < |B|): A is the remainder, Q = 0.
    quotientBits = 0;
    F[R_SIGN] = sign;
    F[R_EXP] = ea;
    F[R_HI] = F[A_HI];
    F[R_LO] = F[A_LO];
    F[R_EXT] = 0;
    return roundR(64, 0, EXT_EMIN, EXT_EMAX, cw);
  }
  let steps: number, unitExp: number, partial = false;
  // Divisor b (possibly 65 bits when d = -1, in A's units) and remainder r.
  let bh = F[B_HI], bl = F[B_LO];
  if (d === -1) {
    bh = bh * 2 + (bl >>> 31);
    bl = (bl << 1) >>> 0;
    steps = 0;
    unitExp = ea;
  } else if (d >= 64) {
    steps = 32 + (d & 31);
    unitExp = ea - steps;
    partial = true;
  } else {
    steps = d;
    unitExp = eb;
  }
  let rh = F[A_HI], rl = F[A_LO], q = 0;
  for (let i = 0; ; i++) {
    if (rh > bh || (rh === bh && rl >= bl)) {
      rl -= bl;
      if (rl < 0) {
        rl += TWO32;
        rh -= 1;
      }
      rh -= bh;
      q = (q + 1) & 7;
    }
    if (i === steps) break;
    rh = rh * 2 + (rl >>> 31);
    rl = (rl << 1) >>> 0;
    q = (q << 1) & 7;
  }
  if (nearest && !partial) {
    // Round the quotient to nearest even: compare 2r with b.
    const r2h = rh * 2 + (rl >>> 31), r2l = (rl << 1) >>> 0;
    if (r2h > bh || (r2h === bh && (r2l > bl || (r2l === bl && q & 1)))) {
      q = (q + 1) & 7;
      rl = bl - rl;
      rh = bh - rh;
      if (rl < 0) {
        rl += TWO32;
        rh -= 1;
      }
      sign ^= 1;
    }
  }
  quotientBits = partial ? 8 : q;
  if (rh === 0 && rl === 0) {
    setZero(F[A_SIGN]);
    return 0;
  }
  F[R_SIGN] = sign;
  F[R_EXP] = unitExp;
  F[R_HI] = rh;
  F[R_LO] = rl;
  F[R_EXT] = 0;
  normalizeR();
  return roundR(64, 0, EXT_EMIN, EXT_EMAX, cw);
}
