// Instruction-level one-operand operations on ST0 and the shared prologue /
// commit steps of ST0-in, ST0-out instructions: FCHS, FABS, FSQRT, FRNDINT,
// FXAM, and helpers used by ops-scale.ts and transcendental instructions.

import type { FpuState } from './state.ts';
import {
  A_EXP, A_SIGN, F, K_DENORMAL, K_INF, K_NORMAL, K_QNAN, K_SNAN, K_UNSUPPORTED, K_ZERO,
  R_EXP, R_EXT, R_HI, R_LO, R_SIGN, copyToR, setIndefinite, setZero, classify,
} from './float80.ts';
import { quietNaNToR } from './nan.ts';
import { sqrtCore } from './sqrt.ts';
import { roundToIntR } from './convert.ts';
import { normalizeR } from './round.ts';
import { SW_C0, SW_C1, SW_C2, SW_C3, SW_DE, SW_IE, SW_ZE } from './bits.ts';

/** Loads ST0 into A and returns its class, or -1 if ST0 was empty (stack underflow handled). */
export function loadST0(s: FpuState): number {
  if (s.isEmpty(0)) {
    if (s.stackUnderflow()) s.writeIndefinite(0);
    return -1;
  }
  return s.load(0, A_SIGN);
}

/** For NaN/unsupported operand A: puts the result in R and returns IE or 0; returns -1 for other classes. */
export function nanOperand(k: number): number {
  if (k === K_UNSUPPORTED) {
    setIndefinite();
    return SW_IE;
  }
  if (k === K_SNAN || k === K_QNAN) {
    quietNaNToR(A_SIGN);
    return k === K_SNAN ? SW_IE : 0;
  }
  return -1;
}

/** Stores R to ST(i) and records flags, unless IE/DE/ZE is raised and unmasked (then only the flags). */
export function commit(s: FpuState, i: number, flags: number): boolean {
  if (s.unmasked(flags & (SW_IE | SW_DE | SW_ZE))) {
    s.signal(flags & (SW_IE | SW_DE | SW_ZE));
    return false;
  }
  s.writeR(i);
  s.signal(flags);
  return true;
}

/** FCHS (flip = true) / FABS: sign-bit operations, no exceptions even for NaNs. */
export function fsign(s: FpuState, flip: boolean): void {
  if (s.isEmpty(0)) {
    if (s.stackUnderflow()) s.writeIndefinite(0);
    return;
  }
  const se = s.se(0);
  s.write(0, flip ? se ^ 0x8000 : se & 0x7fff, s.hi(0), s.lo(0));
  s.signal(0);
}

export function fsqrt(s: FpuState): void {
  const k = loadST0(s);
  if (k < 0) return;
  let flags = nanOperand(k);
  if (flags < 0) {
    flags = k === K_DENORMAL ? SW_DE : 0;
    if (k !== K_ZERO && F[A_SIGN] === 1) {
      setIndefinite();
      flags = SW_IE; // sqrt of a negative number (including -inf and negative denormals)
    } else if (k === K_INF) {
      copyToR(A_SIGN);
    } else {
      flags |= sqrtCore(s.cw);
    }
  }
  commit(s, 0, flags);
}

/** Rounds finite A (class k) to an integer per rc into R; returns PE/C1/DE. Shared by FRNDINT. */
function roundIntegral(k: number, rc: number): number {
  if (k === K_ZERO || F[A_EXP] >= 16383 + 63) {
    copyToR(A_SIGN);
    return 0;
  }
  const flags = roundToIntR(rc);
  if (F[R_HI] === 0 && F[R_LO] === 0) {
    setZero(F[A_SIGN]);
    return flags;
  }
  F[R_SIGN] = F[A_SIGN];
  F[R_EXP] = 16383 + 63;
  F[R_EXT] = 0;
  normalizeR();
  return flags;
}

export function frndint(s: FpuState): void {
  const k = loadST0(s);
  if (k < 0) return;
  let flags = nanOperand(k);
  if (flags < 0) {
    if (k === K_INF) {
      copyToR(A_SIGN);
      flags = 0;
    } else {
      flags = (k === K_DENORMAL ? SW_DE : 0) | roundIntegral(k, (s.cw >>> 10) & 3);
    }
  }
  commit(s, 0, flags);
}

/** FXAM: C3 C2 C0 classify ST0 and C1 is its sign; an empty register reads as "empty" (C3 C0). */
export function fxam(s: FpuState): void {
  const se = s.se(0);
  let cc: number;
  if (s.isEmpty(0)) cc = SW_C3 | SW_C0;
  else {
    switch (classify(se, s.hi(0), s.lo(0))) {
      case K_UNSUPPORTED:
        cc = 0;
        break;
      case K_QNAN:
      case K_SNAN:
        cc = SW_C0;
        break;
      case K_NORMAL:
        cc = SW_C2;
        break;
      case K_INF:
        cc = SW_C2 | SW_C0;
        break;
      case K_ZERO:
        cc = SW_C3;
        break;
      default:
        cc = SW_C3 | SW_C2;
    }
  }
  if (se & 0x8000) cc |= SW_C1;
  s.sw = (s.sw & ~(SW_C0 | SW_C1 | SW_C2 | SW_C3)) | cc;
}

