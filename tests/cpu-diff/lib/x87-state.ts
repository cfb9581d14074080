// x87 test data: random FPU states (as FSAVE images for FRSTOR), memory operand sizes and
// values for the D8-DF escapes, and what the SDM leaves undefined in the status word.
import type { Rng } from './rng.ts';
import { edgeValues, leBytes } from './values.ts';
import { type Extended, FSAVE, encodeExtended, fromNumber, fsaveDefault, tagOf } from './x87-image.ts';

export const isX87 = (opcode: number): boolean => opcode >= 0xd8 && opcode <= 0xdf;

/** What a memory operand of an x87 escape holds (SDM opcode map, escape opcode tables). */
export type X87Mem = 'f32' | 'f64' | 'f80' | 'i16' | 'i32' | 'i64' | 'bcd' | 'cw' | 'env' | 'save' | 'sw' | 'invalid';

const MEM_KIND: Record<number, readonly X87Mem[]> = {
  0xd8: ['f32', 'f32', 'f32', 'f32', 'f32', 'f32', 'f32', 'f32'],
  0xd9: ['f32', 'invalid', 'f32', 'f32', 'env', 'cw', 'env', 'cw'],
  0xda: ['i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32'],
  0xdb: ['i32', 'i32', 'i32', 'i32', 'invalid', 'f80', 'invalid', 'f80'],
  0xdc: ['f64', 'f64', 'f64', 'f64', 'f64', 'f64', 'f64', 'f64'],
  0xdd: ['f64', 'i64', 'f64', 'f64', 'save', 'invalid', 'save', 'sw'],
  0xde: ['i16', 'i16', 'i16', 'i16', 'i16', 'i16', 'i16', 'i16'],
  0xdf: ['i16', 'i16', 'i16', 'i16', 'bcd', 'i64', 'bcd', 'i64'],
};

export function x87MemKind(opcode: number, ext: number): X87Mem {
  return MEM_KIND[opcode]?.[ext & 7] ?? 'invalid';
}

/** Bytes accessed by an x87 memory operand; env/save areas depend on the operand size. */
export function x87MemBytes(kind: X87Mem, osize: 16 | 32): number {
  switch (kind) {
    case 'f32': case 'i32': return 4;
    case 'f64': case 'i64': return 8;
    case 'f80': case 'bcd': return 10;
    case 'i16': case 'cw': case 'sw': case 'invalid': return 2;
    case 'env': return osize === 16 ? 14 : 28;
    case 'save': return osize === 16 ? 94 : 108;
  }
}

/** Window bytes of a stored environment that hold instruction/operand pointers (they differ by design). */
export function envPointerRange(osize: 16 | 32): [number, number] {
  return osize === 16 ? [6, 8] : [12, 16];
}

/** A register value: edges (zeros, infinities, NaNs, denormals, unsupported encodings) and random finite values. */
export function randomExtended(rng: Rng): Extended {
  const r = rng.int(100);
  const sign = rng.int(2);
  if (r < 30) {
    const edge = rng.pick([0, 1, 2, 0.5, 3, 10, 1e10, 1 / 3, Math.PI, 2 ** 63, 2 ** 64, 1e-300, 5e-324, Number.MAX_VALUE, Infinity, NaN, 65536, 32767.5, -0.5]);
    const x = fromNumber(edge);
    return { ...x, sign: edge !== edge ? 0 : sign ^ x.sign };
  }
  if (r < 36) return { sign, exponent: 0x7fff, significand: (1n << 63n) | (rng.chance(0.5) ? 1n << 62n : 1n) }; // QNaN / SNaN
  if (r < 40) return { sign, exponent: 0, significand: BigInt(rng.u32()) | (BigInt(rng.u32() & 0x7fffffff) << 32n) }; // denormal
  if (r < 42) return { sign, exponent: rng.range(1, 0x7ffe), significand: BigInt(rng.u32()) }; // unnormal (unsupported)
  const significand = (1n << 63n) | BigInt(rng.u32()) | (BigInt(rng.u32() & 0x7fffffff) << 32n);
  const exponent = rng.chance(0.8) ? 16383 + rng.range(-70, 70) : rng.range(1, 0x7ffe);
  return { sign, exponent, significand };
}

/** A random x87 state: TOP, some valid registers, rounding/precision control, rarely unmasked or pending exceptions. */
export function randomFpuImage(rng: Rng): Uint8Array {
  const img = fsaveDefault();
  const view = new DataView(img.buffer);
  const rc = rng.int(4);
  const pc = rng.pick([0, 2, 3, 3]);
  let exceptionMask = 0x3f;
  if (rng.chance(0.1)) exceptionMask &= ~(1 << rng.int(6));
  const fcw = 0x40 | exceptionMask | (pc << 8) | (rc << 10);
  const top = rng.int(8);
  const cc = rng.u32() & 0x4700; // C0 C1 C2 C3
  let flags = 0;
  if (rng.chance(0.05)) {
    flags = 1 << rng.int(6);
    if (flags & ~exceptionMask) flags |= 0x8080; // ES and B: a pending unmasked exception
  }
  view.setUint16(FSAVE.FCW, fcw, true);
  view.setUint16(FSAVE.FSW, flags | cc | (top << 11), true);
  let ftw = 0;
  const used = rng.int(9);
  for (let i = 0; i < 8; i++) {
    const phys = (top + i) & 7;
    // Valid registers at the top of the stack, empty below them (as real programs have it),
    // with the odd exception so that stack underflow/overflow paths get exercised.
    const valid = rng.chance(0.05) ? !(i < used) : i < used;
    const x = randomExtended(rng);
    img.set(encodeExtended(x), FSAVE.ST0 + 10 * i);
    ftw |= (valid ? tagOf(x) : 3) << (2 * phys);
  }
  view.setUint16(FSAVE.FTW, ftw, true);
  return img;
}

/** Puts a valid value into ST(i) of an FSAVE image, tagging it accordingly. */
export function setStackValue(img: Uint8Array, i: number, x: Extended): void {
  const view = new DataView(img.buffer, img.byteOffset);
  const phys = (((view.getUint16(FSAVE.FSW, true) >> 11) & 7) + i) & 7;
  img.set(encodeExtended(x), FSAVE.ST0 + 10 * i);
  const ftw = view.getUint16(FSAVE.FTW, true) & ~(3 << (2 * phys));
  view.setUint16(FSAVE.FTW, ftw | (tagOf(x) << (2 * phys)), true);
}

/**
 * Source ranges outside which the SDM leaves a result undefined (F2XM1: -1..1; FYL2XP1:
 * |x| < 1 - sqrt(2)/2). Cases for these instructions mostly stay inside.
 */
export const X87_DOMAIN: Readonly<Record<string, readonly [number, number]>> = {
  f2xm1: [-1, 1],
  fyl2xp1: [-(1 - Math.SQRT1_2), 1 - Math.SQRT1_2],
};

/** Bytes of an x87 memory source operand of the given kind. */
export function x87MemValue(rng: Rng, kind: X87Mem, osize: 16 | 32): Uint8Array | null {
  switch (kind) {
    case 'f32': {
      const b = new Uint8Array(4);
      const v = new DataView(b.buffer);
      if (rng.chance(0.4)) v.setUint32(0, rng.u32(), true);
      else v.setFloat32(0, rng.pick([0, -0, 1, -1, 0.1, 3, 1e30, -1e-40, Infinity, -Infinity, NaN, 1.5e-45, 16777217, rng.u32() / 7]), true);
      return b;
    }
    case 'f64': {
      const b = new Uint8Array(8);
      const v = new DataView(b.buffer);
      if (rng.chance(0.4)) { v.setUint32(0, rng.u32(), true); v.setUint32(4, rng.u32(), true); }
      else v.setFloat64(0, rng.pick([0, -0, 1, -1, 0.1, 3, 1e300, -5e-324, Infinity, -Infinity, NaN, 2 ** 53 + 1, rng.u32() / 7]), true);
      return b;
    }
    case 'f80': return encodeExtended(randomExtended(rng));
    case 'i16': return leBytes(rng.chance(0.4) ? rng.pick(edgeValues(16)) : rng.u32(), 2);
    case 'i32': return leBytes(rng.chance(0.4) ? rng.pick(edgeValues(32)) : rng.u32(), 4);
    case 'i64': return leBytes(rng.chance(0.4) ? rng.pick([0n, 1n, -1n, 1n << 63n, (1n << 63n) - 1n, 1n << 53n]) : (BigInt(rng.u32()) << 32n) | BigInt(rng.u32()), 8);
    case 'bcd': {
      const b = new Uint8Array(10);
      for (let i = 0; i < 9; i++) b[i] = (rng.int(10) << 4) | rng.int(10); // valid digits only: invalid BCD is undefined
      b[9] = rng.chance(0.5) ? 0x80 : 0;
      return b;
    }
    case 'cw': return leBytes(0x7f | (rng.pick([0, 2, 3]) << 8) | (rng.int(4) << 10), 2); // exceptions stay masked
    case 'env': case 'save': {
      // A consistent state in the layout FLDENV/FRSTOR expect (32-bit format; the 16-bit one is just random bytes).
      const img = randomFpuImage(rng);
      if (osize === 16) return null;
      return kind === 'env' ? img.subarray(0, 28) : img;
    }
    case 'sw': case 'invalid': return null;
  }
}

const C0 = 0x100, C1 = 0x200, C2 = 0x400, C3 = 0x4000;

/** Status-word condition bits the SDM's "FPU Flags Affected" leaves undefined for an instruction. */
export function fswUndefined(mnemonic: string): number {
  // FCOMI & co.: the SDM says C1 is set to 0; AMD hosts leave it unchanged. A vendor difference, not a bug.
  if (/^fu?comip?$/.test(mnemonic)) return C1;
  if (/^f(u?comp{0,2}|icomp?|tst|xam|prem1?|n?init|ldenv|rstor|n?save)$/.test(mnemonic)) return 0;
  if (/^f(sin|cos|sincos|ptan)$/.test(mnemonic)) return C0 | C1 | C3; // C1 also: roundup of an approximation
  if (/^(f(n?clex|ldcw|n?stcw|n?stsw|n?stenv|nop|free|freep|disi|eni|setpm)|f?wait)$/.test(mnemonic)) return C0 | C1 | C2 | C3;
  if (/^f(2xm1|yl2x|yl2xp1|patan)$/.test(mnemonic)) return C0 | C1 | C2 | C3;
  return C0 | C2 | C3;
}

/** Transcendental results are approximations that differ between CPU vendors: compare within this relative error. */
export function fpuTolerance(mnemonic: string): number {
  return /^f(sin|cos|sincos|ptan|patan|2xm1|yl2x|yl2xp1)$/.test(mnemonic) ? 2 ** -60 : 0;
}
