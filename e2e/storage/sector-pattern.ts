// Self-describing sector contents for crash tests: every sector written says
// which sector it belongs to and which write ("version") produced it, and the
// rest of its bytes are derived from both, so a torn, misplaced or stale
// sector is recognised when read back.

export const SECTOR = 512;
const MAGIC = 0x54533836; // "TS86"

function fill(out: Uint8Array, sector: number, version: number): void {
  let x = (Math.imul(sector, 0x9e3779b1) ^ Math.imul(version, 0x85ebca6b)) >>> 0;
  for (let i = 16; i < SECTOR; i++) {
    x = (Math.imul(x ^ (x >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    out[i] = x & 0xff;
  }
}

/** Version 0 is the base image's content. */
export function encodeSector(out: Uint8Array, sector: number, version: number): void {
  const dv = new DataView(out.buffer, out.byteOffset, SECTOR);
  dv.setUint32(0, MAGIC, true);
  dv.setUint32(4, sector, true);
  dv.setUint32(8, version, true);
  dv.setUint32(12, (sector ^ version ^ MAGIC) >>> 0, true);
  fill(out, sector, version);
}

/** The version a sector holds, or -1 if it is not a complete, correctly placed sector of any version. */
export function decodeSector(bytes: Uint8Array, sector: number): number {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, SECTOR);
  if (dv.getUint32(0, true) !== MAGIC || dv.getUint32(4, true) !== sector) return -1;
  const version = dv.getUint32(8, true);
  if (dv.getUint32(12, true) !== ((sector ^ version ^ MAGIC) >>> 0)) return -1;
  const expected = new Uint8Array(SECTOR);
  fill(expected, sector, version);
  for (let i = 16; i < SECTOR; i++) if (bytes[i] !== expected[i]) return -1;
  return version;
}

export function baseImage(sectors: number): Uint8Array {
  const img = new Uint8Array(sectors * SECTOR);
  for (let s = 0; s < sectors; s++) encodeSector(img.subarray(s * SECTOR, (s + 1) * SECTOR), s, 0);
  return img;
}
