// Small helpers for writing table entries: one definition that differs only
// by operand size becomes two entries, so the decoder picks the right
// handler once instead of the handler testing the size every time.
import type { ExecFn, InsnDef } from './types.ts';

export type DefBase = Omit<InsnDef, 'exec' | 'osize'>;

/** A 16-bit and a 32-bit entry sharing everything but the handler. */
export function sized(base: DefBase, exec16: ExecFn, exec32: ExecFn): InsnDef[] {
  return [
    { ...base, osize: 16, exec: exec16 },
    { ...base, osize: 32, exec: exec32 },
  ];
}

/** Entries for opcode+r forms (register number in the opcode's low three bits). */
export function plusReg(base: DefBase, make: (reg: number) => InsnDef[]): InsnDef[] {
  const out: InsnDef[] = [];
  for (let r = 0; r < 8; r++) out.push(...make(r).map((d) => ({ ...d, opcode: base.opcode + r })));
  return out;
}
