// x87 escapes (D8-DF) and WAIT: a random FPU state is FRSTORed before the instruction,
// memory sources hold values of the operand's type, and the FSAVE image is compared
// afterwards. Stored environments have their instruction/operand pointer fields (which
// differ by design) and reserved halves masked.
import { fromNumber } from '../x87-image.ts';
import { X87_DOMAIN, envPointerRange, fpuTolerance, fswUndefined, isX87, randomFpuImage, setStackValue, x87MemKind, x87MemValue } from '../x87-state.ts';
import { type Strategy, memOp } from './types.ts';

export const x87: Strategy = {
  name: 'x87',
  matches: (v) => isX87(v.def.opcode) || v.def.mnemonic === 'wait' || v.def.mnemonic === 'fwait',
  prepare(d) {
    d.fpu = randomFpuImage(d.rng);
    d.compareFpu = true;
    d.fswIgnore = fswUndefined(d.v.def.mnemonic);
    d.fpuTolerance = fpuTolerance(d.v.def.mnemonic);
    const domain = X87_DOMAIN[d.v.def.mnemonic];
    if (domain) {
      // Outside the domain the result is undefined; inside, it must match. ST(0) only: both have one input there.
      const [lo, hi] = domain;
      setStackValue(d.fpu, 0, fromNumber(lo + (hi - lo) * (d.rng.u32() / 0x1_0000_0000)));
    }
    return {};
  },
  finish(d, inst) {
    const m = memOp(inst);
    if (!m || !isX87(d.v.def.opcode)) return;
    const kind = x87MemKind(d.v.def.opcode, d.v.def.ext ?? 0);
    const value = x87MemValue(d.rng, kind, d.v.osize);
    if (value) d.b.patch(m.offset, value);
    if (kind === 'env' || kind === 'save') {
      const [at, len] = envPointerRange(d.v.osize);
      d.windowMask.push([m.offset + at, len]);
      // Upper halves of the 32-bit format's control/status/tag dwords are reserved.
      if (d.v.osize === 32) for (const r of [2, 6, 10, 26]) d.windowMask.push([m.offset + r, 2]);
    }
  },
};
