// The 108-byte FSAVE image (32-bit protected-mode layout, SDM Vol. 1 Fig. 8-9/8-10) and
// 80-bit extended-precision values inside it. Both sides report x87 state in this format.

export const FSAVE = {
  FCW: 0, FSW: 4, FTW: 8, FIP: 12, FCS: 16, FDP: 20, FDS: 24,
  /** ST(i) is at ST0 + 10 * i, in stack order (not physical register order). */
  ST0: 28,
  SIZE: 108,
} as const;

/** The state after FNINIT: FCW 0x037F (all exceptions masked, 64-bit precision, round to nearest), all tags empty. */
export function fsaveDefault(): Uint8Array {
  const img = new Uint8Array(FSAVE.SIZE);
  const v = new DataView(img.buffer);
  v.setUint16(FSAVE.FCW, 0x037f, true);
  v.setUint16(FSAVE.FTW, 0xffff, true);
  return img;
}

/** An 80-bit value as its fields. */
export interface Extended {
  sign: number;
  exponent: number; // 15 bits, biased by 16383
  significand: bigint; // 64 bits including the explicit integer bit
}

export function encodeExtended(x: Extended): Uint8Array {
  const b = new Uint8Array(10);
  const v = new DataView(b.buffer);
  v.setBigUint64(0, x.significand & 0xffff_ffff_ffff_ffffn, true);
  v.setUint16(8, ((x.sign & 1) << 15) | (x.exponent & 0x7fff), true);
  return b;
}

export function decodeExtended(b: Uint8Array, at = 0): Extended {
  const v = new DataView(b.buffer, b.byteOffset + at, 10);
  const se = v.getUint16(8, true);
  return { sign: se >> 15, exponent: se & 0x7fff, significand: v.getBigUint64(0, true) };
}

/** Exact conversion of a double to extended precision. */
export function fromNumber(n: number): Extended {
  const buf = new DataView(new ArrayBuffer(8));
  buf.setFloat64(0, n);
  const bits = buf.getBigUint64(0);
  const sign = Number(bits >> 63n);
  const e = Number((bits >> 52n) & 0x7ffn);
  const frac = bits & 0xf_ffff_ffff_ffffn;
  if (e === 0x7ff) return { sign, exponent: 0x7fff, significand: (1n << 63n) | (frac << 11n) }; // inf / NaN
  if (e === 0 && frac === 0n) return { sign, exponent: 0, significand: 0n };
  if (e === 0) {
    // Double subnormal: normalise, extended has the range for it.
    let m = frac;
    let exp = 1 - 1023 + 16383;
    while ((m & (1n << 52n)) === 0n) { m <<= 1n; exp--; }
    return { sign, exponent: exp, significand: m << 11n };
  }
  return { sign, exponent: e - 1023 + 16383, significand: ((1n << 52n) | frac) << 11n };
}

/** Approximate value as a double, for readable diffs. */
export function toNumber(x: Extended): number {
  if (x.exponent === 0x7fff) return (x.significand << 1n) & 0xffff_ffff_ffff_ffffn ? NaN : x.sign ? -Infinity : Infinity;
  if (x.significand === 0n) return x.sign ? -0 : 0;
  const exp = (x.exponent || 1) - 16383 - 63;
  const v = Number(x.significand) * 2 ** exp;
  return x.sign ? -v : v;
}

export function writeExtended(img: Uint8Array, at: number, n: number | Extended): void {
  img.set(encodeExtended(typeof n === 'number' ? fromNumber(n) : n), at);
}

export function readExtended(img: Uint8Array, at: number): number {
  return toNumber(decodeExtended(img, at));
}

/** The tag FSAVE reports for a non-empty register: 0 valid, 1 zero, 2 special (NaN, inf, denormal, unsupported). */
export function tagOf(x: Extended): number {
  const integerBit = (x.significand >> 63n) & 1n;
  if (x.exponent === 0) return x.significand === 0n ? 1 : 2;
  if (x.exponent === 0x7fff) return 2;
  return integerBit ? 0 : 2; // unnormal: unsupported format
}

export const topOf = (img: Uint8Array): number => (new DataView(img.buffer, img.byteOffset).getUint16(FSAVE.FSW, true) >> 11) & 7;

/** Whether ST(i) is empty according to the image's tag word (tags are indexed by physical register). */
export function stEmpty(img: Uint8Array, i: number): boolean {
  const ftw = new DataView(img.buffer, img.byteOffset).getUint16(FSAVE.FTW, true);
  const phys = (topOf(img) + i) & 7;
  return ((ftw >> (2 * phys)) & 3) === 3;
}

/** A decimal rendering that also works beyond the double range (e.g. -1.2345e+1304). */
export function describeExtended(x: Extended): string {
  const n = toNumber(x);
  if (x.exponent === 0x7fff || x.significand === 0n || (Number.isFinite(n) && n !== 0)) {
    if (x.exponent !== 0x7fff && x.exponent !== 0 && (x.significand >> 63n) === 0n) return `unnormal ${n}`;
    return String(n);
  }
  const log10 = (x.exponent - 16383 - 63) * Math.log10(2) + Math.log10(Number(x.significand));
  const e = Math.floor(log10);
  return `${x.sign ? '-' : ''}${(10 ** (log10 - e)).toFixed(6)}e${e >= 0 ? '+' : ''}${e}`;
}

export function formatExtended(img: Uint8Array, at: number): string {
  const x = decodeExtended(img, at);
  const raw = `${((x.sign << 15) | x.exponent).toString(16).padStart(4, '0')}:${x.significand.toString(16).padStart(16, '0')}`;
  return `${raw} (${describeExtended(x)})`;
}
