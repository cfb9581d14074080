// Stack instructions: ESP points into the window (sometimes at its very edge, so the
// access faults), popped EFLAGS images are limited to the flags the suite controls, and
// ENTER/LEAVE get a frame pointer inside the window.
import { ARITH_FLAGS, DF, EBP, ESP, WINDOW_BASE, WINDOW_SIZE } from '../layout.ts';
import type { Strategy } from './types.ts';

const PUSHES = /^(push|pushaw?|pushad|pushfw?|pushfd|enter|call)$/;
const STACK = /^(push|pop|pushaw?|pushad|popaw?|popad|pushfw?|pushfd|popfw?|popfd|enter|leave)$/;

export const stack: Strategy = {
  name: 'stack',
  matches: (v) => STACK.test(v.def.mnemonic),
  prepare(d) {
    const { b, rng } = d;
    const m = d.v.def.mnemonic;
    if (rng.chance(0.06)) {
      // At the window's edge: pushes fault below it, pops above it.
      b.pin(ESP, PUSHES.test(m) ? WINDOW_BASE + rng.range(0, 3) : WINDOW_BASE + WINDOW_SIZE - rng.range(0, 3));
    }
    if (m === 'enter' || m === 'leave') b.pin(EBP, WINDOW_BASE + rng.range(0x900, 0xe00));
    if (m === 'enter') return { imms: [rng.pick([0, 4, 8, 0x12, rng.int(0x10000)]), rng.pick([0, 1, 2, 3, rng.int(32), rng.int(256)])] };
    return {};
  },
  finish(d) {
    const m = d.v.def.mnemonic;
    const sp = d.b.regs[ESP]! - WINDOW_BASE;
    if (/^popf/.test(m)) {
      // TF would single-step the harness, AC would make it fault on alignment: pop only CF..OF, DF.
      d.b.patchValue(sp, (d.rng.u32() & (ARITH_FLAGS | DF)) | 2, d.v.osize / 8);
    }
    if (m === 'push' && d.v.form.operands.some((o) => o.k === 'sreg') && d.v.osize === 32) {
      // A 32-bit push of a segment register may write 2 or 4 bytes (SDM: implementation-specific).
      d.windowMask.push([sp - 2, 2]);
    }
  },
};
