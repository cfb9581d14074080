// Parses the operand forms of a table entry (SDM opcode-map notation, see
// src/x86/table/types.ts) into operand descriptors the generator can instantiate.
import type { InsnDef } from '../../../src/x86/table/types.ts';

/** SDM size codes: b w d q t(80-bit) v(16/32 by osize) z(imm 16/32) a(bound pair) p(far ptr) s(pseudo-descriptor). */
export type SizeCode = 'b' | 'w' | 'd' | 'q' | 't' | 'v' | 'z' | 'a' | 'p' | 's';

export type Operand =
  | { k: 'E'; size: SizeCode } // ModRM r/m, register or memory
  | { k: 'G'; size: SizeCode } // ModRM reg
  | { k: 'M'; size: SizeCode | null; bytes?: number } // ModRM memory only (null: no data access, e.g. lea; bytes: x87 spelled sizes)
  | { k: 'R'; size: SizeCode } // ModRM r/m, register only
  | { k: 'I'; size: SizeCode }
  | { k: 'J'; size: SizeCode }
  | { k: 'O'; size: SizeCode } // moffs
  | { k: 'S' } // segment register in ModRM reg
  | { k: 'reg'; reg: number; size: SizeCode } // fixed GPR (AL, eAX, ...)
  | { k: 'Z'; size: SizeCode } // GPR in the opcode's low 3 bits (40+r, B8+r, 0F C8+r, ...)
  | { k: 'sreg'; sreg: number } // fixed segment register (push es)
  | { k: 'one' } // the constant 1 of D0/D1 shifts
  | { k: 'str'; which: 'X' | 'Y'; size: SizeCode } // DS:eSI / ES:eDI string operands
  | { k: 'st0' }
  | { k: 'sti' } // x87 ST(i) in ModRM rm
  | { k: 'stfix'; i: number }; // a specific x87 register (entries per ModRM.rm spell it: 'st3')

export interface ParsedForm {
  operands: Operand[];
  /** Some operand's size follows the operand-size attribute, so 16- and 32-bit variants differ. */
  vSized: boolean;
  /** The encoding has a ModRM byte. */
  hasModrm: boolean;
}

export type ParseResult = { ok: true; form: ParsedForm } | { ok: false; reason: string; excluded: boolean };

const GPR_NAMES: Record<string, [number, SizeCode]> = {};
['AL', 'CL', 'DL', 'BL', 'AH', 'CH', 'DH', 'BH'].forEach((n, i) => (GPR_NAMES[n] = [i, 'b']));
['AX', 'CX', 'DX', 'BX', 'SP', 'BP', 'SI', 'DI'].forEach((n, i) => {
  GPR_NAMES[n] = [i, 'w'];
  GPR_NAMES[`E${n}`] = [i, 'd'];
  GPR_NAMES[`e${n}`] = [i, 'v']; // SDM: eAX = AX or EAX by operand size
  GPR_NAMES[`r${n}`] = [i, 'v'];
});
const SREG_NAMES = ['ES', 'CS', 'SS', 'DS', 'FS', 'GS'];
/** x87 memory operand spellings from the SDM instruction pages. */
const X87_MEM: Record<string, number> = {
  m16int: 2, m32int: 4, m64int: 8, m32fp: 4, m64fp: 8, m80fp: 10, m80dec: 10, m80bcd: 10,
  m2byte: 2, 'm14/28byte': 28, 'm94/108byte': 108, m16: 2, m32: 4, m64: 8, m80: 10,
};
const SIZE_RE = /^(b|w|d|q|t|v|z|a|p|s)$/;

function parseToken(t: string): Operand | { reason: string; excluded: boolean } {
  if (t === '1') return { k: 'one' };
  if (/^ST(\(0\)|0)?$/.test(t)) return { k: 'st0' };
  if (/^ST(\(i\)|i)$/.test(t)) return { k: 'sti' };
  const st = /^st\(?([0-7])\)?$/.exec(t);
  if (st) return { k: 'stfix', i: Number(st[1]) };
  // Fixed registers are spelled in capitals (SDM) or as nasm writes them.
  const fixed = GPR_NAMES[t] ?? (/^[a-z]{2,3}$/.test(t) ? GPR_NAMES[t.toUpperCase()] : undefined);
  if (fixed) return { k: 'reg', reg: fixed[0], size: fixed[1] };
  const s = SREG_NAMES.indexOf(t);
  if (s >= 0) return { k: 'sreg', sreg: s };
  if (t in X87_MEM) return { k: 'M', size: null, bytes: X87_MEM[t] };
  const m = /^([A-Z])([a-z]*)$/.exec(t);
  if (!m) return { reason: `unknown operand form '${t}'`, excluded: false };
  const [, letter, sz] = m as unknown as [string, string, string];
  if ('CDT'.includes(letter)) return { reason: 'control/debug/test registers (privileged)', excluded: true };
  if ('VWUHLPQN'.includes(letter)) return { reason: 'MMX/SSE register operands (not part of the snippet state)', excluded: true };
  if (letter === 'A') return { reason: 'far pointer operand (far control transfer)', excluded: true };
  if (letter === 'S' && (sz === '' || sz === 'w')) return { k: 'S' };
  if (letter === 'M' && sz === '') return { k: 'M', size: null };
  if (!SIZE_RE.test(sz)) return { reason: `unknown size '${sz}' in operand form '${t}'`, excluded: false };
  const size = sz as SizeCode;
  switch (letter) {
    case 'E': return { k: 'E', size };
    case 'G': return { k: 'G', size };
    case 'R': return { k: 'R', size };
    case 'I': return { k: 'I', size };
    case 'J': return { k: 'J', size };
    case 'O': return { k: 'O', size };
    case 'Z': return { k: 'Z', size };
    case 'M': return { k: 'M', size };
    case 'X': case 'Y': return { k: 'str', which: letter, size };
    default: return { reason: `unknown operand form '${t}'`, excluded: false };
  }
}

const VSIZES: ReadonlySet<SizeCode> = new Set(['v', 'z', 'a', 'p']);

export function parseForm(def: InsnDef): ParseResult {
  const tokens = def.operands.split(',').map((t) => t.trim()).filter((t) => t !== '');
  const operands: Operand[] = [];
  for (const t of tokens) {
    const op = parseToken(t);
    if ('reason' in op) return { ok: false, reason: op.reason, excluded: op.excluded };
    operands.push(op);
  }
  const vSized = operands.some((o) => 'size' in o && o.size !== null && VSIZES.has(o.size));
  const isX87 = def.opcode >= 0xd8 && def.opcode <= 0xdf;
  const hasModrm =
    isX87 || def.ext !== undefined || def.rm !== undefined || operands.some((o) => ['E', 'G', 'M', 'R', 'S', 'sti'].includes(o.k));
  return { ok: true, form: { operands, vSized, hasModrm } };
}

/** Operand size in bytes for a size code under the given operand-size attribute. */
export function sizeBytes(size: SizeCode, osize: 16 | 32): number {
  switch (size) {
    case 'b': return 1;
    case 'w': return 2;
    case 'd': return 4;
    case 'q': return 8;
    case 't': return 10;
    case 'v': case 'z': return osize / 8;
    case 'a': return osize / 4;
    case 'p': return 2 + osize / 8;
    case 's': return 6;
  }
}

/** Bytes of immediate/displacement that follow the ModRM part, for length checks and encoding. */
export function trailingBytes(op: Operand, osize: 16 | 32): number {
  if (op.k === 'I' || op.k === 'J') return sizeBytes(op.size, osize);
  if (op.k === 'O') return 4; // moffs: address size 32
  return 0;
}
