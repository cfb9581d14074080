// Instruction-level transcendentals: FSIN, FCOS, FSINCOS, FPTAN, FPATAN,
// F2XM1, FYL2X, FYL2XP1.
//
// Exact (bit-for-bit with the host, tested as such): stack faults, NaN and
// unsupported operands, the special operands (zeros, infinities, x = 1 for
// logarithms, the pi multiples of FPATAN's infinity/zero
// cases rounded per RC), C2 = 1 with ST0 untouched for |x| >= 2^63, and the
// exception flags. Ordinary results are correctly rounded from ~192-bit
// computations; the host's are not, so they may differ from the host by one
// ulp (and then C1, the round-up bit, may differ too).

import type { FpuState } from './state.ts';
import {
  A_EXP, A_HI, A_LO, A_SIGN, B_SIGN, F, K_DENORMAL, K_INF, K_QNAN, K_SNAN, K_UNSUPPORTED, K_ZERO,
  R_EXP, R_EXT, R_HI, R_LO, R_SIGN, copyToR, setIndefinite, setInf, setZero,
} from './float80.ts';
import { propagateNaN } from './nan.ts';
import { EXT_EMAX, EXT_EMIN, roundR } from './round.ts';
import { commit, loadST0, nanOperand } from './ops-unary.ts';
import { type BigFloat, PIO2, add, div as divBF, fromInt, fromSlot, mul, neg, scale, toR } from './bigfloat.ts';
import { atan2, exp2m1, log2, log2p1, sinCos } from './transcendental.ts';
import { SW_C2, SW_DE, SW_IE, SW_ZE } from './bits.ts';

/** Rounds a BigFloat result into R (64-bit precision, RC from cw); a zero gets `zeroSign`. */
function roundBF(v: BigFloat, exact: boolean, cw: number, zeroSign = 0): number {
  if (v.m === 0n) {
    setZero(zeroSign);
    return 0;
  }
  toR(v, exact);
  return roundR(64, (cw >>> 10) & 3, EXT_EMIN, EXT_EMAX, cw);
}

/** |ST0| >= 2^63: the trigonometric instructions set C2 and leave the operand alone. */
function outOfRange(k: number): boolean {
  return (k === 1 || k === K_DENORMAL) && F[A_EXP] >= 16383 + 63;
}

function setC2(s: FpuState, on: boolean): void {
  s.sw = on ? s.sw | SW_C2 : s.sw & ~SW_C2;
}

/**
 * ST0 argument of FSIN/FCOS/FSINCOS/FPTAN: handles NaN, infinity, zero and
 * out-of-range; returns the class when a real computation is needed, or -1
 * if done (R holds the NaN/indefinite/zero result to commit with `flags`).
 */
let trigFlags = 0;
function trigArg(k: number): number {
  const f = nanOperand(k);
  if (f >= 0) {
    trigFlags = f;
    return -1;
  }
  if (k === K_INF) {
    setIndefinite();
    trigFlags = SW_IE;
    return -1;
  }
  trigFlags = k === K_DENORMAL ? SW_DE : 0;
  return k;
}

// C2 of FSIN/FCOS/FSINCOS/FPTAN: 1 only when the operand is out of range (and
// left alone); every other outcome clears it on the host, including stack
// underflow/overflow and unmasked exceptions that suppress the result (the SDM
// only says "C2 = 0 if in range"). The trig functions below return whether
// the operand was out of range.

export function fsin(s: FpuState): void {
  setC2(s, trig(s, 0));
}
export function fcos(s: FpuState): void {
  setC2(s, trig(s, 1));
}

/** FSIN (which = 0) / FCOS (which = 1). */
function trig(s: FpuState, which: number): boolean {
  const k = loadST0(s);
  if (k < 0) return false;
  if (outOfRange(k)) return true;
  let flags: number;
  if (trigArg(k) < 0) flags = trigFlags;
  else if (k === K_ZERO) {
    if (which === 0) copyToR(A_SIGN);
    else {
      F[R_SIGN] = 0, F[R_EXP] = 16383, F[R_HI] = 0x80000000, F[R_LO] = 0, F[R_EXT] = 0; // cos(+-0) = 1
    }
    flags = 0;
  } else flags = trigFlags | roundBF(sinCos(fromSlot(A_SIGN))[which], false, s.cw);
  commit(s, 0, flags);
  return false;
}

/** Stack-overflow check for the two-result instructions (they push one value). */
function pushRoom(s: FpuState): boolean {
  if (s.isEmpty(7)) return true;
  if (s.stackOverflow()) {
    s.writeIndefinite(0);
    s.push();
    s.writeIndefinite(0);
  }
  return false;
}

/** FSINCOS (cos = true: ST1 = sin, ST0 = cos) and FPTAN (ST0 = tan, then push 1). Returns whether out of range. */
function twoResults(s: FpuState, sincos: boolean): boolean {
  if (s.isEmpty(0)) {
    if (s.stackUnderflow()) {
      s.writeIndefinite(0);
      s.push();
      s.writeIndefinite(0);
    }
    return false;
  }
  if (!pushRoom(s)) return false;
  const k = s.load(0, A_SIGN);
  if (outOfRange(k)) return true;
  let flags: number;
  // Second result (pushed) as [se, hi, lo]; the first goes through R.
  let se2 = 0x3fff, hi2 = 0x80000000, lo2 = 0;
  if (trigArg(k) < 0) {
    flags = trigFlags;
    se2 = (F[R_SIGN] << 15) | F[R_EXP];
    hi2 = F[R_HI];
    lo2 = F[R_LO];
  } else if (k === K_ZERO) {
    copyToR(A_SIGN); // sin(+-0) = tan(+-0) = +-0; cos(0) = 1 and FPTAN pushes 1 as well
    flags = 0;
  } else {
    const [sn, cs] = sinCos(fromSlot(A_SIGN));
    flags = trigFlags;
    if (sincos) {
      flags |= roundBF(cs, false, s.cw);
      if (s.unmasked(flags & (SW_IE | SW_DE))) {
        commit(s, 0, flags);
        return false;
      }
      se2 = (F[R_SIGN] << 15) | (F[R_HI] >= 0x80000000 ? F[R_EXP] : 0);
      hi2 = F[R_HI];
      lo2 = F[R_LO];
      flags |= roundBF(sn, false, s.cw);
    } else {
      flags |= roundBF(divBF(sn, cs), false, s.cw);
    }
  }
  if (!commit(s, 0, flags)) return false;
  s.push();
  s.write(0, se2, hi2, lo2);
  return false;
}

export function fsincos(s: FpuState): void {
  setC2(s, twoResults(s, true));
}
export function fptan(s: FpuState): void {
  setC2(s, twoResults(s, false));
}

/** Loads ST0 (x) into A and ST1 (y) into B for the ST1-destination ops; false after a stack underflow. */
function loadPair(s: FpuState): boolean {
  if (s.isEmpty(0) || s.isEmpty(1)) {
    if (s.stackUnderflow()) {
      s.writeIndefinite(1);
      s.pop();
    }
    return false;
  }
  return true;
}

/** Stores R to ST1 and pops, per commit's rules. */
function commitPop(s: FpuState, flags: number): void {
  if (commit(s, 1, flags)) s.pop();
}

/** Common NaN/unsupported handling for x = A, y = B; returns flags or -1. */
function pairNaN(kx: number, ky: number): number {
  if (kx === K_UNSUPPORTED || ky === K_UNSUPPORTED) {
    setIndefinite();
    return SW_IE;
  }
  if (kx === K_SNAN || kx === K_QNAN || ky === K_SNAN || ky === K_QNAN) return propagateNaN(kx, ky);
  return -1;
}

const QUARTER_PI = scale(PIO2, -1);

/** FPATAN: ST1 = atan2(ST1, ST0), pop. */
export function fpatan(s: FpuState): void {
  if (!loadPair(s)) return;
  const kx = s.load(0, A_SIGN), ky = s.load(1, B_SIGN);
  let flags = pairNaN(kx, ky);
  if (flags < 0) {
    flags = kx === K_DENORMAL || ky === K_DENORMAL ? SW_DE : 0;
    const sy = F[B_SIGN], sx = F[A_SIGN];
    let v: BigFloat;
    if (ky === K_INF) v = kx === K_INF ? (sx ? add(PIO2, QUARTER_PI) : QUARTER_PI) : PIO2;
    else if (kx === K_INF) v = sx ? scale(PIO2, 1) : fromInt(0);
    else if (ky === K_ZERO) v = sx ? scale(PIO2, 1) : fromInt(0);
    else if (kx === K_ZERO) v = PIO2;
    else v = atan2(fromSlot(B_SIGN), fromSlot(A_SIGN));
    // Special operands give +-0 or a multiple of pi/4 (rounded per RC); the sign is y's.
    if ((ky === K_INF || kx === K_INF || ky === K_ZERO || kx === K_ZERO) && sy) v = neg(v);
    flags |= roundBF(v, false, s.cw, sy);
  }
  commitPop(s, flags);
}

/** F2XM1: ST0 = 2^ST0 - 1 (defined for -1 <= ST0 <= 1). */
export function f2xm1(s: FpuState): void {
  const k = loadST0(s);
  if (k < 0) return;
  let flags = nanOperand(k);
  if (flags < 0) {
    flags = k === K_DENORMAL ? SW_DE : 0;
    if (k === K_ZERO) copyToR(A_SIGN);
    else if (k === K_INF) {
      if (F[A_SIGN]) {
        F[R_SIGN] = 1, F[R_EXP] = 16383, F[R_HI] = 0x80000000, F[R_LO] = 0, F[R_EXT] = 0; // 2^-inf - 1 = -1
      } else copyToR(A_SIGN);
    } else {
      // Even 2^+-1 - 1 (exactly 1 and -1/2) come out of the host with PE set, so
      // no result is treated as exact.
      flags |= roundBF(exp2m1(fromSlot(A_SIGN)), false, s.cw, F[A_SIGN]);
    }
  }
  commit(s, 0, flags);
}

/** Whether the finite A has significand 1.0 (with A_EXP = 16383 it is exactly 1). */
function powerOfTwo(): boolean {
  return F[A_HI] === 0x80000000 && F[A_LO] === 0;
}

/** FYL2X: ST1 = ST1 * log2(ST0), pop. */
export function fyl2x(s: FpuState): void {
  if (!loadPair(s)) return;
  const kx = s.load(0, A_SIGN), ky = s.load(1, B_SIGN);
  let flags = pairNaN(kx, ky);
  if (flags < 0) {
    flags = kx === K_DENORMAL || ky === K_DENORMAL ? SW_DE : 0;
    const sx = F[A_SIGN], sy = F[B_SIGN];
    // Sign of log2(x): -1 (x < 1), 0 (x == 1), +1 (x > 1), for x > 0.
    const xIsOne = kx !== K_INF && kx !== K_ZERO && F[A_EXP] === 16383 && powerOfTwo();
    const lsign = kx === K_ZERO ? -1 : kx === K_INF ? 1 : xIsOne ? 0 : F[A_EXP] >= 16383 ? 1 : -1;
    if (sx === 1 && kx !== K_ZERO) {
      setIndefinite();
      flags = SW_IE; // log of a negative number
    } else if (kx === K_ZERO) {
      if (ky === K_ZERO) {
        setIndefinite();
        flags = SW_IE;
      } else {
        setInf(sy ^ 1);
        if (ky !== K_INF) flags = SW_ZE; // as for division, ZE outranks DE
      }
    } else if (ky === K_INF || kx === K_INF) {
      if (lsign === 0 || ky === K_ZERO) {
        setIndefinite();
        flags = SW_IE; // inf * 0
      } else setInf(sy ^ (lsign < 0 ? 1 : 0));
    } else if (ky === K_ZERO || lsign === 0) {
      setZero(sy ^ (lsign < 0 ? 1 : 0));
    } else {
      // The host reports PE even when x is a power of two and the product is exact.
      flags |= roundBF(mul(fromSlot(B_SIGN), log2(fromSlot(A_SIGN))), false, s.cw);
    }
  }
  if (flags & SW_ZE && s.unmasked(SW_ZE)) return void s.signal(flags);
  commitPop(s, flags);
}

/** FYL2XP1: ST1 = ST1 * log2(ST0 + 1), pop (defined for |ST0| < 1 - sqrt(2)/2). */
export function fyl2xp1(s: FpuState): void {
  if (!loadPair(s)) return;
  const kx = s.load(0, A_SIGN), ky = s.load(1, B_SIGN);
  let flags = pairNaN(kx, ky);
  if (flags < 0) {
    flags = kx === K_DENORMAL || ky === K_DENORMAL ? SW_DE : 0;
    const sx = F[A_SIGN], sy = F[B_SIGN];
    if (kx === K_ZERO) {
      if (ky === K_INF) {
        setIndefinite();
        flags = SW_IE;
      } else setZero(sx ^ sy);
    } else if (kx === K_INF) {
      if (sx || ky === K_ZERO) {
        setIndefinite();
        flags = SW_IE;
      } else setInf(sy);
    } else if (ky === K_INF) {
      setInf(sy ^ sx);
    } else if (ky === K_ZERO) {
      setZero(sx ^ sy);
    } else {
      flags |= roundBF(mul(fromSlot(B_SIGN), log2p1(fromSlot(A_SIGN))), false, s.cw);
    }
  }
  commitPop(s, flags);
}

