// The i8042's keyboard translation: PC keyboards send scancode set 2, and
// the controller (with command byte bit 6, XLAT, set — as Linux and every
// BIOS leave it) turns it into set 1 for software: each code through a fixed
// table, and a break prefix F0 folded into bit 7 of the code after it.

import { translateSet2Code } from '../../devices/ps2-scancodes.ts';

export { translateSet2Code };

/** Stateful, because a break prefix and its code may arrive in different batches. */
export class Set2ToSet1 {
  private breakPending = false;

  translate(set2: ArrayLike<number>): number[] {
    const out: number[] = [];
    for (let k = 0; k < set2.length; k++) {
      const b = set2[k] & 0xff;
      if (b === 0xf0) { this.breakPending = true; continue; }
      const t = translateSet2Code(b);
      // Prefixes (E0, E1) pass through and keep a pending break for the code after them.
      out.push(this.breakPending && b !== 0xe0 && b !== 0xe1 ? t | 0x80 : t);
      if (b !== 0xe0 && b !== 0xe1) this.breakPending = false;
    }
    return out;
  }

  reset(): void {
    this.breakPending = false;
  }
}
