// Smaller families whose operands need a relationship to be interesting: compare-exchange
// (equal half the time), bit scans (zero sources), bit tests with register offsets (which
// address memory beyond the operand), BOUND, AAM/AAD bases, XLAT tables, and address-only
// memory operands (LEA, NOP Ev).
import { EAX, EBX, EDX, WINDOW_BASE, WINDOW_SIZE } from '../layout.ts';
import { dataValue, leBytes } from '../values.ts';
import { type Strategy, memOp, regOps } from './types.ts';

export const compareExchange: Strategy = {
  name: 'cmpxchg',
  matches: (v) => v.def.mnemonic === 'cmpxchg' || v.def.mnemonic === 'cmpxchg8b',
  prepare(d) {
    d.b.pin(EAX, d.b.regs[EAX]!);
    if (d.v.def.mnemonic === 'cmpxchg8b') d.b.pin(EDX, d.b.regs[EDX]!);
    return {};
  },
  finish(d, inst) {
    if (!d.rng.chance(0.5)) return;
    const m = memOp(inst);
    const dst = m ?? regOps(inst)[0];
    if (!dst) return;
    if (d.v.def.mnemonic === 'cmpxchg8b') {
      if (!m) return;
      d.b.patch(m.offset, Uint8Array.from([...leBytes(d.b.regs[EAX]!, 4), ...leBytes(d.b.regs[EDX]!, 4)]));
      return;
    }
    const bytes = dst.bytes ?? 4;
    const acc = d.b.regs[EAX]! & (bytes === 4 ? 0xffffffff : (1 << (bytes * 8)) - 1);
    if (dst.k === 'mem') d.b.patchValue(dst.offset, acc, bytes);
    else d.b.setReg(dst, acc);
  },
};

export const bitScan: Strategy = {
  name: 'bitscan',
  matches: (v) => /^(bsf|bsr|tzcnt|lzcnt|popcnt)$/.test(v.def.mnemonic),
  finish(d, inst) {
    const src = memOp(inst) ?? regOps(inst)[1];
    if (!src || src.bytes === null) return;
    const value = d.rng.chance(0.25) ? 0 : d.rng.chance(0.3) ? 2 ** d.rng.int(src.bytes * 8) : dataValue(d.rng, (src.bytes * 8) as 16 | 32);
    if (src.k === 'mem') d.b.patchValue(src.offset, value, src.bytes);
    else d.b.setReg(src, value);
  },
};

/** BT/BTS/BTR/BTC with a register bit offset on memory: the offset moves the access, keep it in the window. */
export const bitTest: Strategy = {
  name: 'bittest',
  matches: (v) => /^bt[src]?$/.test(v.def.mnemonic) && v.form.operands.some((o) => o.k === 'G'),
  prepare(d) {
    const reg = d.rng.pick(d.b.freeRegs());
    const offset = d.rng.range(0x600, 0xa00) & ~3;
    const bits = d.rng.pick([0, 1, 31, 32, -1, -32, d.rng.range(-0x2000, 0x2000)]);
    d.b.pin(reg, bits);
    return { gReg: reg, mem: { offset } };
  },
};

export const bound: Strategy = {
  name: 'bound',
  matches: (v) => v.def.mnemonic === 'bound',
  finish(d, inst) {
    const m = memOp(inst);
    const idx = regOps(inst)[0];
    if (!m || !idx) return;
    const size = d.v.osize / 8;
    const i = d.b.getReg(idx);
    const signed = (x: number): number => (size === 2 ? (x << 16) >> 16 : x | 0);
    const lo = d.rng.chance(0.6) ? signed(i) - d.rng.int(5) : dataValue(d.rng, 32);
    const hi = d.rng.chance(0.6) ? signed(i) + d.rng.int(5) - (d.rng.chance(0.2) ? 6 : 0) : dataValue(d.rng, 32);
    d.b.patch(m.offset, Uint8Array.from([...leBytes(lo, size), ...leBytes(hi, size)]));
  },
};

export const asciiAdjustImm: Strategy = {
  name: 'aam-aad',
  matches: (v) => v.def.mnemonic === 'aam' || v.def.mnemonic === 'aad',
  prepare: (d) => ({ imms: [d.rng.pick([10, 10, 0, 1, 16, 0xff, d.rng.int(256)])] }),
};

export const xlat: Strategy = {
  name: 'xlat',
  matches: (v) => v.def.mnemonic === 'xlat' || v.def.mnemonic === 'xlatb',
  prepare(d) {
    d.b.pin(EBX, WINDOW_BASE + d.rng.range(0, WINDOW_SIZE - 256));
    return {};
  },
};

/** LEA and hint NOPs compute an address without accessing it: base and index may hold anything. */
export const addressOnly: Strategy = {
  name: 'address-only',
  matches: (v) => v.def.mnemonic === 'lea' || (v.def.mnemonic === 'nop' && v.form.operands.length > 0),
  prepare: () => ({ mem: { addressOnly: true } }),
};
