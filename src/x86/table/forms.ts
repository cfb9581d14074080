// What the operand forms of a table entry imply for decoding: whether the
// instruction has a ModRM byte and which immediates follow it. Derived from
// the operand strings, so the table states each fact once.
import type { InsnDef } from './types.ts';

export const enum Imm {
  /** 8-bit, stored sign-extended. */
  B = 1,
  /** 16-bit, stored zero-extended. */
  W = 2,
  /** 32-bit. */
  D = 3,
  /** 16 or 32 by operand size (zero-extended when 16). */
  Z = 4,
  /** 8-bit relative displacement, sign-extended. */
  JB = 5,
  /** 16 or 32-bit relative displacement by operand size, sign-extended. */
  JZ = 6,
  /** Memory offset, 16 or 32 by address size (becomes the operand's displacement). */
  MOFFS = 7,
  /** Far pointer: offset (16/32 by operand size) then 16-bit selector. */
  FAR = 8,
}

const MODRM_FORM = /^[EGMRSCDTNQUVW][a-z]*$/;

export function formHasModrm(operand: string): boolean {
  return MODRM_FORM.test(operand);
}

export function formImmediate(operand: string): Imm | 0 {
  switch (operand) {
    case 'Ib': return Imm.B;
    case 'Iw': return Imm.W;
    case 'Id': return Imm.D;
    case 'Iz': case 'Iv': return Imm.Z;
    case 'Jb': return Imm.JB;
    case 'Jz': return Imm.JZ;
    case 'Ap': return Imm.FAR;
    default: return operand.length === 2 && operand[0] === 'O' ? Imm.MOFFS : 0;
  }
}

export function splitOperands(def: InsnDef): string[] {
  return def.operands === '' ? [] : def.operands.split(',');
}

export interface DecodeShape {
  modrm: boolean;
  imms: Imm[];
  moffs: boolean;
}

export function decodeShape(def: InsnDef): DecodeShape {
  const ops = splitOperands(def);
  const modrm = def.ext !== undefined || def.mod !== undefined || ops.some(formHasModrm);
  const imms: Imm[] = [];
  let moffs = false;
  for (const o of ops) {
    const k = formImmediate(o);
    if (k === Imm.MOFFS) moffs = true;
    if (k) imms.push(k);
  }
  return { modrm, imms, moffs };
}
