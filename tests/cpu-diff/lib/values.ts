// Operand values: edge values where bugs live (zero, one, all-ones, sign boundaries) mixed
// with uniform random ones, and the random entry EFLAGS.
import { ARITH_FLAGS, DF } from './layout.ts';
import type { Rng } from './rng.ts';

export type Bits = 8 | 16 | 32;

export const mask = (bits: Bits): number => (bits === 32 ? 0xffff_ffff : (1 << bits) - 1);

/** 0, 1, 2, -1, sign boundaries of every width up to `bits`, alternating patterns. */
export function edgeValues(bits: Bits): number[] {
  const m = mask(bits);
  const all = [0, 1, 2, 0xff, 0x7f, 0x80, 0x7fff, 0x8000, 0xffff, 0x7fff_ffff, 0x8000_0000, 0xffff_ffff, 0x5555_5555, 0xaaaa_aaaa, 0x8000_0001, 0x7ffe];
  return [...new Set(all.map((v) => (v & m) >>> 0))];
}

/** A data value of the given width: about a third edge values, the rest random (sometimes small). */
export function dataValue(rng: Rng, bits: Bits): number {
  const r = rng.int(100);
  if (r < 35) return rng.pick(edgeValues(bits));
  if (r < 45) return rng.range(0, 16);
  return (rng.u32() & mask(bits)) >>> 0;
}

/** Shift and rotate counts: the listed edges (around widths and the 5-bit mask) and random bytes. */
export const SHIFT_COUNTS: readonly number[] = [0, 1, 2, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 255];
export function shiftCount(rng: Rng): number {
  return rng.chance(0.6) ? rng.pick(SHIFT_COUNTS) : rng.int(256);
}

/** Random CF PF AF ZF SF OF and DF, plus the always-one bit 1. */
export function randomEflags(rng: Rng): number {
  return (rng.u32() & (ARITH_FLAGS | DF)) | 0x2;
}

/** Little-endian bytes of the low `size` bytes of a value (size <= 4) or of a bigint. */
export function leBytes(value: number | bigint, size: number): Uint8Array {
  const out = new Uint8Array(size);
  let v = BigInt.asUintN(size * 8, BigInt(value));
  for (let i = 0; i < size; i++) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}
