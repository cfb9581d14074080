// String instructions, with and without REP/REPE/REPNE, both directions (DF is random at
// entry). ESI/EDI point where `count` elements fit in the window in either direction,
// except in fault cases, which run off the window's edge part-way through.
import { DF, ECX, EDI, ESI, WINDOW_BASE, WINDOW_SIZE } from '../layout.ts';
import { stringBase } from '../mnemonics.ts';
import type { Draft, Strategy } from './types.ts';

function elementBytes(d: Draft): number {
  const { def, form, osize } = d.v;
  if (def.mnemonic.endsWith('b') || form.operands.some((o) => 'size' in o && o.size === 'b')) return 1;
  if (def.mnemonic.endsWith('w') && def.osize === undefined && !form.vSized) return 2;
  return osize / 8;
}

export const strings: Strategy = {
  name: 'string',
  matches: (v) => stringBase(v.def.mnemonic) !== null,
  prepare(d) {
    const base = stringBase(d.v.def.mnemonic)!;
    const size = elementBytes(d);
    const rng = d.rng;
    const compares = base === 'cmps' || base === 'scas';
    const rep = d.v.def.rep !== false && rng.chance(0.75);
    if (rep) {
      const p = compares ? rng.pick(['repe', 'repne']) : 'rep';
      d.insnPrefix = `${p} `;
      d.extraPrefixes.push(p === 'repne' ? 0xf2 : 0xf3);
    }
    const count = rep ? rng.pick([0, 1, 2, 3, rng.range(4, 40)]) : rng.range(0, 40);
    const down = (d.eflags & DF) !== 0;
    const room = 48 * size;
    const place = (lo: number, hi: number): number => WINDOW_BASE + (down ? rng.range(lo + room, hi) : rng.range(lo, hi - room));
    let si = place(0x100, 0x700);
    let di = place(0x900, 0xf00);
    if (rep && rng.chance(0.1)) {
      // Run off the window edge: the iterations before the faulting one must have completed.
      const edge = down ? WINDOW_BASE + rng.range(0, 3 * size) : WINDOW_BASE + WINDOW_SIZE - rng.range(0, 3 * size);
      if (rng.chance(0.5)) di = edge;
      else si = edge;
    }
    d.b.pin(ECX, count);
    d.b.pin(ESI, si);
    d.b.pin(EDI, di);
    if (compares) {
      // Make a run of equal elements so REPE/REPNE stop somewhere inside the count.
      const equal = rng.int(count + 1) * size;
      const src = new Uint8Array(equal).map(() => rng.int(256));
      const start = (p: number): number => (down ? p - WINDOW_BASE - equal + size : p - WINDOW_BASE);
      if (base === 'cmps') {
        d.b.patch(start(si), src);
        d.b.patch(start(di), src);
      } else if (equal > 0) {
        // scas compares with the accumulator: fill EDI's run with the accumulator's element.
        const acc = d.b.regs[0]!;
        const fill = new Uint8Array(equal).map((_, i) => (acc >>> (8 * (i % size))) & 0xff);
        d.b.patch(start(di), fill);
      }
    }
    return {};
  },
};
