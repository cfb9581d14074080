// Addition and subtraction of finite operands (A, B scratch slots, zeros and
// unpacked denormals included) into R, rounded per the control word's PC and
// RC. Specials (NaN, infinity, unsupported) are the caller's business.
//
// B is aligned to A in a 96-bit window (64 significand + 32 guard bits with a
// sticky LSB). That is exact whenever the exponents differ by at most 1, and
// otherwise loses only bits far below the round position, so the sticky bit
// decides correctly even after a one-bit renormalization.

import { A_EXP, A_HI, A_LO, A_SIGN, B_EXP, B_HI, B_LO, B_SIGN, F, R_EXP, R_EXT, R_HI, R_LO, R_SIGN, setZero } from './float80.ts';
import { EXT_EMAX, EXT_EMIN, normalizeR, pcBits, roundR, shiftRightSticky } from './round.ts';
import { RC_DOWN } from './bits.ts';

/** R = A + B (negateB = 0) or A - B (negateB = 1). Returns PE/UE/OE/C1 flags. */
export function addCore(negateB: number, cw: number): number {
  const rc = (cw >>> 10) & 3;
  const prec = pcBits(cw);
  const sa = F[A_SIGN];
  const sb = F[B_SIGN] ^ negateB;
  const aZero = F[A_HI] === 0;
  const bZero = F[B_HI] === 0;
  if (aZero && bZero) {
    // +0 + +0 = +0, -0 + -0 = -0, and opposite signs give +0 (-0 rounding down).
    setZero(sa === sb ? sa : rc === RC_DOWN ? 1 : 0);
    return 0;
  }
  if (aZero || bZero) {
    // x + 0 = x, but x still has to be rounded to the precision control.
    const s = bZero ? A_SIGN : B_SIGN;
    F[R_SIGN] = bZero ? sa : sb;
    F[R_EXP] = F[s + 1];
    F[R_HI] = F[s + 2];
    F[R_LO] = F[s + 3];
    F[R_EXT] = 0;
    return roundR(prec, rc, EXT_EMIN, EXT_EMAX, cw);
  }
  // Order so that |big| >= |small|.
  let big = A_SIGN, small = B_SIGN;
  let sBig = sa, sSmall = sb;
  const ea = F[A_EXP], eb = F[B_EXP];
  if (eb > ea || (eb === ea && (F[B_HI] > F[A_HI] || (F[B_HI] === F[A_HI] && F[B_LO] > F[A_LO])))) {
    big = B_SIGN;
    small = A_SIGN;
    sBig = sb;
    sSmall = sa;
  }
  const e = F[big + 1];
  // R = small aligned to big's exponent.
  F[R_HI] = F[small + 2];
  F[R_LO] = F[small + 3];
  F[R_EXT] = 0;
  shiftRightSticky(e - F[small + 1]);
  const bh = F[R_HI], bl = F[R_LO], bx = F[R_EXT];
  const ah = F[big + 2], al = F[big + 3];
  F[R_SIGN] = sBig;
  F[R_EXP] = e;
  if (sBig === sSmall) {
    let lo = al + bl;
    let hi = ah + bh;
    if (lo > 0xffffffff) {
      lo -= 0x100000000;
      hi += 1;
    }
    if (hi > 0xffffffff) {
      // Carry out: shift the 97-bit sum right by one, keeping sticky.
      F[R_EXT] = ((bx >>> 1) | ((lo & 1) << 31) | (bx & 1)) >>> 0;
      F[R_LO] = ((lo >>> 1) | ((hi & 1) << 31)) >>> 0;
      F[R_HI] = 0x80000000 + Math.floor((hi - 0x100000000) / 2);
      F[R_EXP] = e + 1;
    } else {
      F[R_HI] = hi;
      F[R_LO] = lo;
      F[R_EXT] = bx;
    }
  } else {
    let x = -bx;
    let borrow = 0;
    if (x < 0) {
      x += 0x100000000;
      borrow = 1;
    }
    let lo = al - bl - borrow;
    borrow = 0;
    if (lo < 0) {
      lo += 0x100000000;
      borrow = 1;
    }
    const hi = ah - bh - borrow;
    if (hi === 0 && lo === 0 && x === 0) {
      setZero(rc === RC_DOWN ? 1 : 0);
      return 0;
    }
    F[R_HI] = hi;
    F[R_LO] = lo;
    F[R_EXT] = x;
    normalizeR();
  }
  return roundR(prec, rc, EXT_EMIN, EXT_EMAX, cw);
}
