// x87 NaN propagation for two-operand arithmetic (A, B scratch slots).
//
// An SNaN raises IE and is quieted (bit 62 set). With one NaN, it is the
// result. With two: a QNaN beats an SNaN; otherwise the larger significand
// wins, and with equal significands the positive one. (SDM Table 4-7; the
// tie rule is SoftFloat's 8086 model.) The hardware compares the significands
// as they are, before quieting.

import { A_SIGN, B_SIGN, F, K_QNAN, K_SNAN, R_EXP, R_EXT, R_HI, R_LO, R_SIGN } from './float80.ts';
import { SW_IE } from './bits.ts';

/** Writes the quieted NaN of operand slot s into R. */
export function quietNaNToR(s: number): void {
  F[R_SIGN] = F[s];
  F[R_EXP] = 0x7fff;
  F[R_HI] = (F[s + 2] | 0x40000000) >>> 0;
  F[R_LO] = F[s + 3];
  F[R_EXT] = 0;
}

/** R = the propagated NaN of A and B (at least one is a NaN); returns IE if an SNaN was involved. */
export function propagateNaN(ka: number, kb: number): number {
  const aNaN = ka === K_QNAN || ka === K_SNAN;
  const bNaN = kb === K_QNAN || kb === K_SNAN;
  const flags = ka === K_SNAN || kb === K_SNAN ? SW_IE : 0;
  let pick = A_SIGN;
  if (!aNaN) pick = B_SIGN;
  else if (bNaN) {
    if (ka === K_QNAN && kb === K_SNAN) pick = A_SIGN;
    else if (ka === K_SNAN && kb === K_QNAN) pick = B_SIGN;
    else {
      const ah = F[A_SIGN + 2], al = F[A_SIGN + 3], bh = F[B_SIGN + 2], bl = F[B_SIGN + 3];
      if (bh > ah || (bh === ah && bl > al)) pick = B_SIGN;
      else if (bh === ah && bl === al && F[A_SIGN] === 1 && F[B_SIGN] === 0) pick = B_SIGN;
    }
  }
  quietNaNToR(pick);
  return flags;
}
