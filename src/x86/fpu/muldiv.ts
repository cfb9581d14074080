// Multiplication and division of finite operands (A, B) into R, rounded per
// the control word. Zeros are handled here (exact results); NaN, infinity,
// unsupported operands and division by zero are the caller's business.
//
// Products are exact 128-bit integers built from 16x16-bit partial products
// (every intermediate stays below 2^53, so plain doubles are exact); quotients
// come from a 65-step restoring division that yields 64 bits plus a round bit,
// with the remainder as sticky.

import { A_EXP, A_HI, A_LO, A_SIGN, B_EXP, B_HI, B_LO, B_SIGN, F, R_EXP, R_EXT, R_HI, R_LO, R_SIGN, setZero } from './float80.ts';
import { EXT_EMAX, EXT_EMIN, pcBits, roundR } from './round.ts';

const TWO32 = 0x100000000;

/** High and low halves of the last mul32 product. */
let mulHi = 0;
let mulLo = 0;

/** mulHi:mulLo = a * b for unsigned 32-bit a, b. */
export function mul32(a: number, b: number): void {
  const a1 = a >>> 16, a0 = a & 0xffff, b1 = b >>> 16, b0 = b & 0xffff;
  const mid = a1 * b0 + a0 * b1; // < 2^33
  const low = a0 * b0 + (mid % 65536) * 65536; // < 2^33
  mulLo = low >>> 0;
  mulHi = a1 * b1 + Math.floor(mid / 65536) + Math.floor(low / TWO32);
}

/** R = exact 128-bit product of the 64-bit significands (w3..w0), normalized into R with sticky. */
function product(ah: number, al: number, bh: number, bl: number, e: number): void {
  mul32(al, bl);
  const w0 = mulLo;
  let w1 = mulHi;
  mul32(ah, bl);
  w1 += mulLo;
  let w2 = mulHi;
  mul32(al, bh);
  w1 += mulLo;
  w2 += mulHi;
  mul32(ah, bh);
  w2 += mulLo + Math.floor(w1 / TWO32);
  w1 %= TWO32;
  const w3 = mulHi + Math.floor(w2 / TWO32);
  w2 %= TWO32;
  const sticky = w0 !== 0 ? 1 : 0;
  if (w3 >= 0x80000000) {
    F[R_HI] = w3;
    F[R_LO] = w2;
    F[R_EXT] = (w1 | sticky) >>> 0;
    F[R_EXP] = e + 1;
  } else {
    F[R_HI] = ((w3 << 1) | (w2 >>> 31)) >>> 0;
    F[R_LO] = ((w2 << 1) | (w1 >>> 31)) >>> 0;
    F[R_EXT] = ((w1 << 1) | (w0 >>> 31) | ((w0 & 0x7fffffff) !== 0 ? 1 : 0)) >>> 0;
    F[R_EXP] = e;
  }
}

/** R = A * B. Returns PE/UE/OE/C1 flags. */
export function mulCore(cw: number): number {
  const sign = F[A_SIGN] ^ F[B_SIGN];
  if (F[A_HI] === 0 || F[B_HI] === 0) {
    setZero(sign);
    return 0;
  }
  F[R_SIGN] = sign;
  product(F[A_HI], F[A_LO], F[B_HI], F[B_LO], F[A_EXP] + F[B_EXP] - 16383);
  return roundR(pcBits(cw), (cw >>> 10) & 3, EXT_EMIN, EXT_EMAX, cw);
}

/** Exact product A * B at full precision into R (unrounded), for internal users. */
export function mulExact(): void {
  F[R_SIGN] = F[A_SIGN] ^ F[B_SIGN];
  product(F[A_HI], F[A_LO], F[B_HI], F[B_LO], F[A_EXP] + F[B_EXP] - 16383);
}

/** R = A / B for nonzero B. Returns PE/UE/OE/C1 flags. */
export function divCore(cw: number): number {
  const sign = F[A_SIGN] ^ F[B_SIGN];
  if (F[A_HI] === 0) {
    setZero(sign);
    return 0;
  }
  const dh = F[B_HI], dl = F[B_LO];
  let rh = F[A_HI], rl = F[A_LO];
  let e = F[A_EXP] - F[B_EXP] + 16383;
  if (rh < dh || (rh === dh && rl < dl)) {
    // Quotient below 1: pre-shift so the first quotient bit is 1.
    rh = rh * 2 + (rl >>> 31);
    rl = (rl << 1) >>> 0;
    e -= 1;
  }
  let qh = 0, ql = 0;
  for (let i = 0; i < 64; i++) {
    let bit = 0;
    if (rh > dh || (rh === dh && rl >= dl)) {
      rl -= dl;
      if (rl < 0) {
        rl += TWO32;
        rh -= 1;
      }
      rh -= dh;
      bit = 1;
    }
    qh = qh * 2 + (ql >>> 31);
    ql = ((ql << 1) | bit) >>> 0;
    rh = rh * 2 + (rl >>> 31);
    rl = (rl << 1) >>> 0;
  }
  let roundBit = 0;
  if (rh > dh || (rh === dh && rl >= dl)) {
    roundBit = 0x80000000;
    rl -= dl;
    if (rl < 0) {
      rl += TWO32;
      rh -= 1;
    }
    rh -= dh;
  }
  F[R_SIGN] = sign;
  F[R_EXP] = e;
  F[R_HI] = qh;
  F[R_LO] = ql;
  F[R_EXT] = (roundBit | (rh !== 0 || rl !== 0 ? 1 : 0)) >>> 0;
  return roundR(pcBits(cw), (cw >>> 10) & 3, EXT_EMIN, EXT_EMAX, cw);
}
