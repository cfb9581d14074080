// Ordered/unordered comparison of A and B (FCOM, FUCOM, FCOMI, FICOM, FTST).

import { A_EXP, A_HI, A_LO, A_SIGN, B_EXP, B_HI, B_LO, B_SIGN, F, K_DENORMAL, K_QNAN, K_SNAN, K_UNSUPPORTED, K_ZERO } from './float80.ts';
import { SW_DE, SW_IE } from './bits.ts';

export const CMP_GT = 0;
export const CMP_LT = 1;
export const CMP_EQ = 2;
export const CMP_UNORDERED = 3;

/** Condition codes (C3, C2, C0) for each relation. */
export const CMP_SW_BITS = [0x0000, 0x0100, 0x4000, 0x4500];
/** EFLAGS (ZF, PF, CF) for each relation. */
export const CMP_EFLAGS = [0x00, 0x01, 0x40, 0x45];

/** Flags raised by the last compare (IE, DE). */
let cmpFlags = 0;
export function compareFlags(): number {
  return cmpFlags;
}

/**
 * Compares A with B. `quiet` (FUCOM*) raises IE only for SNaN and unsupported
 * operands; otherwise any NaN raises IE. Returns a CMP_* relation; the raised
 * flags are in compareFlags().
 */
export function compare(ka: number, kb: number, quiet: boolean): number {
  if (ka === K_UNSUPPORTED || kb === K_UNSUPPORTED || ka === K_SNAN || kb === K_SNAN) {
    cmpFlags = SW_IE;
    return CMP_UNORDERED;
  }
  if (ka === K_QNAN || kb === K_QNAN) {
    cmpFlags = quiet ? 0 : SW_IE;
    return CMP_UNORDERED;
  }
  cmpFlags = ka === K_DENORMAL || kb === K_DENORMAL ? SW_DE : 0;
  if (ka === K_ZERO && kb === K_ZERO) return CMP_EQ;
  const sa = F[A_SIGN], sb = F[B_SIGN];
  if (ka === K_ZERO) return sb ? CMP_GT : CMP_LT;
  if (kb === K_ZERO) return sa ? CMP_LT : CMP_GT;
  if (sa !== sb) return sa ? CMP_LT : CMP_GT;
  // Same sign: compare magnitudes (infinities have the largest exponent).
  let mag = 0;
  const ea = F[A_EXP], eb = F[B_EXP];
  if (ea !== eb) mag = ea > eb ? 1 : -1;
  else if (F[A_HI] !== F[B_HI]) mag = F[A_HI] > F[B_HI] ? 1 : -1;
  else if (F[A_LO] !== F[B_LO]) mag = F[A_LO] > F[B_LO] ? 1 : -1;
  if (mag === 0) return CMP_EQ;
  return (mag > 0) !== (sa === 1) ? CMP_GT : CMP_LT;
}
