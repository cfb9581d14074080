// Square root of a finite, non-negative A (zeros and unpacked denormals
// included) into R, rounded per the control word. Negative operands, NaN,
// infinity and unsupported formats are the caller's business.
//
// Digit-by-digit integer square root of N = M * 2^65 (even exponent) or
// M * 2^66 (odd), a 65-bit root: 64 result bits, one round bit, and the
// remainder as sticky. Two limbs per quantity, the high limb a double that
// never exceeds 2^40, so every step is exact.

import { A_EXP, A_HI, A_LO, A_SIGN, F, R_EXP, R_EXT, R_HI, R_LO, R_SIGN, setZero } from './float80.ts';
import { EXT_EMAX, EXT_EMIN, pcBits, roundR } from './round.ts';

/** R = sqrt(A) for A >= 0 (or -0). Returns PE/UE/OE/C1 flags (only PE/C1 can occur). */
export function sqrtCore(cw: number): number {
  if (F[A_HI] === 0) {
    setZero(F[A_SIGN]);
    return 0;
  }
  const mh = F[A_HI], ml = F[A_LO];
  const unbiased = F[A_EXP] - 16383;
  const off = unbiased & 1 ? 66 : 65;
  let remH = 0, remL = 0, rootH = 0, rootL = 0;
  for (let j = 64; j >= 0; j--) {
    const p1 = 2 * j + 1 - off;
    const p0 = p1 - 1;
    const pair = (bitAt(mh, ml, p1) << 1) | bitAt(mh, ml, p0);
    remH = remH * 4 + (remL >>> 30);
    remL = ((remL << 2) | pair) >>> 0;
    const tH = rootH * 4 + (rootL >>> 30);
    const tL = ((rootL << 2) | 1) >>> 0;
    let b = 0;
    if (remH > tH || (remH === tH && remL >= tL)) {
      remL -= tL;
      remH -= tH;
      if (remL < 0) {
        remL += 0x100000000;
        remH -= 1;
      }
      b = 1;
    }
    rootH = rootH * 2 + (rootL >>> 31);
    rootL = ((rootL << 1) | b) >>> 0;
  }
  F[R_SIGN] = 0;
  F[R_EXP] = 16383 + Math.floor(unbiased / 2);
  F[R_HI] = Math.floor(rootH / 2);
  F[R_LO] = (((rootH & 1) << 31) | (rootL >>> 1)) >>> 0;
  F[R_EXT] = (((rootL & 1) << 31) | (remH !== 0 || remL !== 0 ? 1 : 0)) >>> 0;
  return roundR(pcBits(cw), (cw >>> 10) & 3, EXT_EMIN, EXT_EMAX, cw);
}

function bitAt(hi: number, lo: number, p: number): number {
  if (p < 0 || p > 63) return 0;
  return p >= 32 ? (hi >>> (p - 32)) & 1 : (lo >>> p) & 1;
}
