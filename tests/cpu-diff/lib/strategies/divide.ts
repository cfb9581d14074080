// DIV/IDIV: a mix of valid divisions, division by zero and quotient overflow (both #DE).
// The dividend (AX, DX:AX or EDX:EAX) is built from a chosen quotient, divisor and remainder.
import { EAX, EDX } from '../layout.ts';
import type { Rng } from '../rng.ts';
import { dataValue } from '../values.ts';
import { type Strategy, memOp, regOps } from './types.ts';

/** Dividend and divisor for a w-bit division; `kind` picks valid / zero / overflow. */
export function divisionOperands(rng: Rng, w: 8 | 16 | 32, signed: boolean, kind: 'valid' | 'zero' | 'overflow'): { dividend: bigint; divisor: bigint } {
  const W = BigInt(w);
  const lo = signed ? -(1n << (W - 1n)) : 0n;
  const hi = signed ? (1n << (W - 1n)) - 1n : (1n << W) - 1n;
  const rand = (): bigint => {
    const v = BigInt(dataValue(rng, w));
    return signed ? BigInt.asIntN(w, v) : v;
  };
  if (kind === 'zero') return { dividend: rand() << W | BigInt(dataValue(rng, w)), divisor: 0n };
  let d = rand();
  if (d === 0n) d = 1n;
  if (kind === 'overflow') {
    if (signed && rng.chance(0.3)) return { dividend: -(1n << (2n * W - 1n)), divisor: -1n };
    const q = signed ? (rng.chance(0.5) ? hi + 1n + BigInt(rng.int(1000)) : lo - 1n - BigInt(rng.int(1000))) : hi + 1n + BigInt(rng.int(1000));
    return { dividend: q * d, divisor: d };
  }
  const span = hi - lo + 1n;
  const q = lo + ((BigInt(rng.u32()) << 32n | BigInt(rng.u32())) % span);
  const absD = d < 0n ? -d : d;
  let r = (BigInt(rng.u32()) << 32n | BigInt(rng.u32())) % absD;
  // The remainder takes the dividend's sign (truncating division).
  if (signed && q * d < 0n) r = -r;
  return { dividend: q * d + r, divisor: d };
}

export const divide: Strategy = {
  name: 'divide',
  matches: (v) => v.def.mnemonic === 'div' || v.def.mnemonic === 'idiv',
  prepare(d) {
    d.b.pin(EAX, 0);
    d.b.pin(EDX, 0);
    return {};
  },
  finish(d, inst) {
    const { b, rng } = d;
    const src = memOp(inst) ?? regOps(inst)[0];
    if (!src || src.bytes === null) return;
    const w = (src.bytes * 8) as 8 | 16 | 32;
    const kind = rng.pick(['valid', 'valid', 'valid', 'zero', 'overflow'] as const);
    const { dividend, divisor } = divisionOperands(rng, w, d.v.def.mnemonic === 'idiv', kind);
    const n = BigInt.asUintN(2 * w, dividend);
    if (w === 8) b.regs[EAX] = (b.regs[EAX]! & 0xffff0000) | Number(n);
    else if (w === 16) {
      b.regs[EAX] = (b.regs[EAX]! & 0xffff0000) | Number(n & 0xffffn);
      b.regs[EDX] = (b.regs[EDX]! & 0xffff0000) | Number(n >> 16n);
    } else {
      b.regs[EAX] = Number(n & 0xffffffffn);
      b.regs[EDX] = Number(n >> 32n);
    }
    // A divisor register that is also part of the dividend keeps the dividend's bits.
    if (src.k === 'mem') b.patchValue(src.offset, divisor, src.bytes);
    else if (!(w === 8 ? [EAX, 4] : [EAX, EDX]).includes(src.reg)) b.setReg(src, Number(BigInt.asUintN(w, divisor)));
  },
};
