// Acceptance rule for the transcendental instructions, whose host results are
// not correctly rounded: everything must match exactly except that result
// registers may differ by one unit in the last place (same sign), and then
// C1 (the round-up indicator) may differ too.

import type { OracleCase, OracleResult } from './oracle/native.ts';

/** Position of an 80-bit value on the number line of its sign (ulp steps). */
function ordinal(b: Uint8Array, off: number): bigint {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const mant = (BigInt(dv.getUint32(off + 4, true)) << 32n) | BigInt(dv.getUint32(off, true));
  const e = BigInt(dv.getUint16(off + 8, true) & 0x7fff);
  return e === 0n ? mant : (e - 1n) * (1n << 63n) + mant;
}

export function withinUlp(_c: OracleCase, n: OracleResult, e: OracleResult): boolean {
  if (n.signal !== e.signal) return false;
  for (let i = 0; i < 28; i++) {
    if (i === 5) {
      if ((n.state[i] ^ e.state[i]) & ~0x02) return false; // C1 = bit 9 of the SW
    } else if (n.state[i] !== e.state[i]) return false;
  }
  for (let r = 0; r < 8; r++) {
    const off = 28 + 10 * r;
    if ((n.state[off + 9] ^ e.state[off + 9]) & 0x80) return false;
    const exp = ((n.state[off + 9] & 0x7f) << 8) | n.state[off + 8];
    if (exp === 0x7fff) {
      for (let i = 0; i < 10; i++) if (n.state[off + i] !== e.state[off + i]) return false;
      continue;
    }
    const d = ordinal(n.state, off) - ordinal(e.state, off);
    if (d > 1n || d < -1n) return false;
  }
  return true;
}
