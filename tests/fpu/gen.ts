// Operand and state generators for the differential tests: random and edge
// values in every x87 class, with a seeded PRNG so failures reproduce.

export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 1;
  }
  u32(): number {
    // xorshift32
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x >>> 0;
    return this.s;
  }
  int(n: number): number {
    return this.u32() % n;
  }
  pick<T>(a: readonly T[]): T {
    return a[this.int(a.length)];
  }
  chance(p: number): boolean {
    return this.u32() / 4294967296 < p;
  }
}

/** An 80-bit value: sign/exponent word and 64-bit significand halves. */
export interface X80 {
  se: number;
  hi: number;
  lo: number;
}

const x = (se: number, hi: number, lo: number): X80 => ({ se: se & 0xffff, hi: hi >>> 0, lo: lo >>> 0 });

/** Significand patterns that sit on or next to rounding boundaries for 24/53/64-bit precision. */
function significand(r: Rng): [number, number] {
  const hi = (0x80000000 | r.u32()) >>> 0;
  let lo = r.u32();
  switch (r.int(10)) {
    case 0:
      return [0x80000000, 0];
    case 1:
      return [0xffffffff, 0xffffffff];
    case 2: // 53-bit boundary: low 11 bits near half
      lo = ((lo & ~0x7ff) | r.pick([0x3ff, 0x400, 0x401, 0x7ff, 0, 0x001])) >>> 0;
      return [hi, lo];
    case 3: // 24-bit boundary
      return [((hi & ~0xff) | r.pick([0x7f, 0x80, 0x81, 0xff, 0])) >>> 0, r.pick([0, 1, 0xffffffff, lo])];
    case 4: // 64-bit: short significands (exact in float/double)
      return [hi, 0];
    case 5:
      return [(hi & 0xffffff00) >>> 0, 0];
    case 6:
      return [0x80000000, r.pick([1, 0x800, 0x400])];
    default:
      return [hi, lo];
  }
}

/** A finite normal with exponent drawn from the given style. */
export function normal(r: Rng, expStyle = r.int(6)): X80 {
  const [hi, lo] = significand(r);
  let e: number;
  switch (expStyle) {
    case 0:
      e = 1 + r.int(0x7ffe);
      break;
    case 1:
      e = 1 + r.int(80); // near the bottom: underflow / denormal results
      break;
    case 2:
      e = 0x7ffe - r.int(80); // near the top: overflow
      break;
    default:
      e = 0x3fff - 70 + r.int(140); // ordinary magnitudes
  }
  return x((r.int(2) << 15) | e, hi, lo);
}

export function special(r: Rng): X80 {
  const s = r.int(2) << 15;
  switch (r.int(12)) {
    case 0:
      return x(s, 0, 0); // zero
    case 1:
      return x(s | 0x7fff, 0x80000000, 0); // infinity
    case 2:
      return x(s | 0x7fff, 0xc0000000 | r.u32(), r.u32()); // QNaN
    case 3:
      return x(s | 0x7fff, (0x80000000 | (r.u32() & 0x3fffffff) | 1) >>> 0, r.u32()); // SNaN
    case 4:
      return x(0xffff, 0xc0000000, 0); // real indefinite
    case 5:
      return x(s, r.u32() & 0x7fffffff, r.u32()); // denormal
    case 6:
      return x(s, 0x80000000 | r.u32(), r.u32()); // pseudo-denormal
    case 7:
      return x(s | (1 + r.int(0x7ffe)), r.u32() & 0x7fffffff, r.u32()); // unnormal
    case 8:
      return x(s | 0x7fff, r.u32() & 0x7fffffff, r.u32()); // pseudo-NaN / pseudo-infinity
    case 9:
      return x(s | 0x7ffe, 0xffffffff, 0xffffffff); // max normal
    case 10:
      return x(s | 1, 0x80000000, 0); // min normal
    default:
      return x(s, 0, r.pick([1, 0x800, 0x100])); // tiny denormal
  }
}

/** Any value: mostly ordinary normals, often edge cases. */
export function anyValue(r: Rng): X80 {
  return r.chance(0.25) ? special(r) : normal(r);
}

/** A second operand correlated with the first (close exponents, for cancellation and boundary results). */
export function near(r: Rng, a: X80): X80 {
  if (r.chance(0.3)) return anyValue(r);
  const e = a.se & 0x7fff;
  if (e === 0 || e === 0x7fff) return anyValue(r);
  const ne = Math.min(0x7ffe, Math.max(1, e + r.int(140) - 70));
  const [hi, lo] = r.chance(0.3) ? [a.hi, (a.lo ^ (1 << r.int(32))) >>> 0] : significand(r);
  return x((r.int(2) << 15) | ne, hi, lo);
}

/** A control word: random RC/PC, exceptions mostly masked, sometimes some unmasked. */
export function controlWord(r: Rng): number {
  let cw = 0x1040 | (r.int(4) << 10);
  cw |= r.pick([0, 1, 2, 3, 3]) << 8; // 1 is the reserved PC value
  cw |= r.chance(0.85) ? 0x3f : r.u32() & 0x3f;
  return cw;
}

/** Encodes a value as bytes of an m80. */
export function x80Bytes(v: X80): Uint8Array {
  const b = new Uint8Array(10);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, v.lo, true);
  dv.setUint32(4, v.hi, true);
  dv.setUint16(8, v.se, true);
  return b;
}

/** float32 bit patterns with edge cases. */
export function f32(r: Rng): number {
  const s = r.int(2) << 31;
  switch (r.int(8)) {
    case 0:
      return (s | r.pick([0, 0x7f800000, 0x7fc00000, 0x7f800001 | (r.u32() & 0x3fffff), 0x7fc00000 | (r.u32() & 0x3fffff)])) >>> 0;
    case 1:
      return (s | (r.u32() & 0x7fffff)) >>> 0; // denormal
    default:
      return (s | ((1 + r.int(254)) << 23) | (r.u32() & 0x7fffff)) >>> 0;
  }
}

/** float64 bit patterns [hi, lo]. */
export function f64(r: Rng): [number, number] {
  const s = r.int(2) << 31;
  switch (r.int(8)) {
    case 0:
      return [(s | r.pick([0, 0x7ff00000, 0x7ff80000, 0x7ff00000 | (r.u32() & 0x7ffff) | 1, 0x7ff80000 | (r.u32() & 0x7ffff)])) >>> 0, r.pick([0, r.u32()])];
    case 1:
      return [(s | (r.u32() & 0xfffff)) >>> 0, r.u32()];
    default:
      return [(s | ((1 + r.int(2046)) << 20) | (r.u32() & 0xfffff)) >>> 0, r.u32()];
  }
}

/**
 * A status word as earlier instructions leave it (TOP is set separately):
 * random C0-C3 (so every instruction shows which condition bits it writes,
 * clears or keeps), sticky flags of masked exceptions and SF, and rarely a
 * pending unmasked exception (flag plus ES and B: a waiting instruction then
 * traps, a no-wait one runs).
 */
export function statusWord(r: Rng, cw: number): number {
  let sw = r.chance(0.75) ? r.u32() & 0x4700 : 0;
  if (r.chance(0.3)) sw |= r.u32() & cw & 0x3f; // masked flags already raised
  if (r.chance(0.1)) sw |= 0x40; // sticky SF
  if (r.chance(0.02)) sw |= 1 << r.int(6);
  if (sw & ~cw & 0x3f) sw |= 0x8080; // ES and B follow "some flag & ~mask", as on the host
  return sw;
}

/**
 * A 108-byte FSAVE image (32-bit protected format). `regs[i]` is ST(i), or
 * null for an empty register; TOP is random so physical numbering varies.
 */
/** Non-empty tag values written to the image, picked per register from its position and contents. */
const tagNoise = [0, 1, 2, 0, 0, 2, 1, 0];

export function stateImage(cw: number, regs: (X80 | null)[], top: number, sw = 0): Uint8Array {
  const b = new Uint8Array(108);
  const dv = new DataView(b.buffer);
  dv.setUint16(0, cw, true);
  dv.setUint16(4, (sw & ~0x3800) | ((top & 7) << 11), true);
  let tw = 0xffff;
  for (let i = 0; i < 8; i++) {
    const v = regs[i];
    if (!v) continue;
    const p = (top + i) & 7;
    // Any non-empty tag (valid, zero or special, whatever the contents): FRSTOR
    // recomputes it from the register, only "empty" is taken from the image.
    tw &= ~((3 ^ tagNoise[(p + tw + v.lo) & 7]) << (2 * p));
    dv.setUint32(28 + 10 * i, v.lo, true);
    dv.setUint32(32 + 10 * i, v.hi, true);
    dv.setUint16(36 + 10 * i, v.se, true);
  }
  dv.setUint16(8, tw, true);
  return b;
}
