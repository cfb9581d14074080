// FLD1/FLDL2T/FLDL2E/FLDPI/FLDLG2/FLDLN2/FLDZ. The ROM holds each constant to
// 96 bits; the loaded value is rounded to 64 bits by the rounding control, so
// the last bit depends on RC as on the 387 and later (e.g. FLDPI gives
// ...C235 to nearest/up and ...C234 down/toward zero). No PE is reported.

import { F, R_EXP, R_EXT, R_HI, R_LO, R_SIGN } from './float80.ts';
import { roundSignificand } from './round.ts';

// [biased exponent, significand bits 95..64, 63..32, 31..0]
const TABLE: readonly (readonly number[])[] = [
  [0x3fff, 0x80000000, 0x00000000, 0x00000000], // 1
  [0x4000, 0xd49a784b, 0xcd1b8afe, 0x492bf6ff], // log2(10)
  [0x3fff, 0xb8aa3b29, 0x5c17f0bb, 0xbe87fed0], // log2(e)
  [0x4000, 0xc90fdaa2, 0x2168c234, 0xc4c6628b], // pi
  [0x3ffd, 0x9a209a84, 0xfbcff798, 0x8f8959ac], // log10(2)
  [0x3ffe, 0xb17217f7, 0xd1cf79ab, 0xc9e3b398], // ln(2)
];

export const CONST_ONE = 0, CONST_L2T = 1, CONST_L2E = 2, CONST_PI = 3, CONST_LG2 = 4, CONST_LN2 = 5;

/** R = constant `c` rounded to 64 bits per `rc` (sign +). The extra word is never exact, so sticky is set. */
export function loadConstant(c: number, rc: number): void {
  const t = TABLE[c];
  F[R_SIGN] = 0;
  F[R_EXP] = t[0];
  F[R_HI] = t[1];
  F[R_LO] = t[2];
  F[R_EXT] = t[3] === 0 ? 0 : (t[3] | 1) >>> 0;
  roundSignificand(64, rc);
}
