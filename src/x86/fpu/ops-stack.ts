// Instruction-level stack and register management: constants, FFREE,
// FFREEP, FINCSTP, FDECSTP.

import type { FpuState } from './state.ts';
import { setZero } from './float80.ts';
import { loadConstant } from './constants.ts';
import { TAG_EMPTY } from './bits.ts';

/** FLD1...FLDLN2 (c = CONST_*) or FLDZ (c = -1). */
export function fldConst(s: FpuState, c: number): void {
  if (s.pushWouldOverflow()) {
    if (s.stackOverflow()) {
      s.push();
      s.writeIndefinite(0);
    }
    return;
  }
  if (c < 0) setZero(0);
  else loadConstant(c, (s.cw >>> 10) & 3);
  s.push();
  s.writeR(0);
  s.signal(0);
}

/**
 * FFREE / FFREEP (pop = true). The host clears C1 (the SDM leaves C0-C3
 * undefined for both); C0, C2 and C3 are kept.
 */
export function ffree(s: FpuState, i: number, pop: boolean): void {
  s.setPhysTag(s.phys(i), TAG_EMPTY);
  if (pop) s.pop();
  s.signal(0);
}

/** FINCSTP / FDECSTP: rotate TOP without touching tags; C1 = 0. */
export function fstp(s: FpuState, delta: number): void {
  s.top = s.top + delta;
  s.signal(0);
}
