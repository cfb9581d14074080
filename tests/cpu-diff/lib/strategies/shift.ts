// Shifts and rotates: counts around the operand widths and the 5-bit count mask, and the
// flags the SDM leaves undefined depending on the count (which the table's static masks
// cannot express): OF unless the masked count is 1, AF for any non-zero shift count, CF for
// SHL/SHR counts >= the operand width.
import { AF, CF, ECX, OF } from '../layout.ts';
import { shiftCount } from '../values.ts';
import type { Strategy } from './types.ts';

const SHIFT = /^(rol|ror|rcl|rcr|shl|sal|shr|sar|shld|shrd)$/;
const ROTATE = /^(rol|ror|rcl|rcr)$/;

export const shifts: Strategy = {
  name: 'shift',
  matches: (v) => SHIFT.test(v.def.mnemonic),
  prepare(d) {
    const m = d.v.def.mnemonic;
    const width = d.v.form.operands.some((o) => o.k === 'E' && o.size === 'b') ? 8 : d.v.osize;
    // SHLD/SHRD with a masked count above 16 on 16-bit operands leave the destination undefined.
    const pick = (): number => {
      for (;;) {
        const c = shiftCount(d.rng);
        if (!(/^sh[lr]d$/.test(m) && width === 16 && (c & 31) > 16)) return c;
      }
    };
    const count = d.v.form.operands.some((o) => o.k === 'one') ? 1 : pick();
    const viaCl = d.v.form.operands.some((o) => o.k === 'reg' && o.reg === ECX && o.size === 'b');
    if (viaCl) d.b.pin(ECX, (d.b.regs[ECX]! & ~0xff) | count);
    const c = count & 31;
    if (c !== 0) {
      if (c !== 1) d.undefinedFlags |= OF;
      if (!ROTATE.test(m)) d.undefinedFlags |= AF;
      if (/^(shl|sal|shr)$/.test(m) && c >= width) d.undefinedFlags |= CF;
    }
    return { imms: [count] };
  },
};
