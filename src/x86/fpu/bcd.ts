// Packed BCD (FBLD/FBSTP): 18 digits in bytes 0..8 (low nibble first), sign
// in bit 7 of byte 9. These instructions are rare, so BigInt is used here
// for clarity; nothing on a hot path depends on this file.

import { A_EXP, A_SIGN, F, K_DENORMAL, K_NORMAL, K_ZERO, R_HI, R_LO } from './float80.ts';
import { unpackInt } from './convert.ts';
import { roundToIntR } from './convert.ts';
import { SW_IE } from './bits.ts';

/** Scratch for the 10 bytes of a BCD image. */
export const bcdBytes = new Uint8Array(10);

/**
 * Unpacks the BCD image in bcdBytes into slot s. Digit nibbles above 9 are
 * weighted like valid digits (the result for such "invalid" encodings is
 * undefined by Intel; this is what the host produces). A negative zero stays -0.
 */
export function unpackBcd(s: number): number {
  let v = 0n;
  for (let i = 8; i >= 0; i--) {
    const b = bcdBytes[i];
    v = v * 100n + BigInt((b >>> 4) * 10 + (b & 15));
  }
  const neg = bcdBytes[9] >>> 7;
  const k = unpackInt(s, neg, Number(v >> 32n), Number(v & 0xffffffffn));
  F[s] = neg;
  return k;
}

const LIMIT = 10n ** 18n;

/**
 * Converts A (class k) to packed BCD in bcdBytes, rounding per `rc`. Returns
 * IE (caller stores the BCD indefinite if masked) for NaN, infinity,
 * unsupported or |rounded value| >= 10^18, else PE/C1.
 */
export function toBcd(k: number, rc: number): number {
  let flags = 0;
  let v = 0n;
  if (k !== K_ZERO) {
    if (k !== K_NORMAL && k !== K_DENORMAL) return SW_IE;
    if (F[A_EXP] >= 16383 + 63) return SW_IE;
    flags = roundToIntR(rc);
    v = (BigInt(F[R_HI]) << 32n) | BigInt(F[R_LO]);
    if (v >= LIMIT) return SW_IE;
  }
  for (let i = 0; i < 9; i++) {
    const d0 = Number(v % 10n);
    v /= 10n;
    const d1 = Number(v % 10n);
    v /= 10n;
    bcdBytes[i] = (d1 << 4) | d0;
  }
  bcdBytes[9] = F[A_SIGN] ? 0x80 : 0;
  return flags;
}

/** The packed BCD indefinite (masked IE response of FBSTP). */
export function setBcdIndefinite(): void {
  bcdBytes.fill(0);
  bcdBytes[7] = 0xc0;
  bcdBytes[8] = 0xff;
  bcdBytes[9] = 0xff;
}
