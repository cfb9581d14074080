// Checks that the bytes nasm produced for a case are the table form under test (prefixes,
// opcode, ModRM.reg extension, mod/rm restrictions, total length). nasm picks canonical or
// shorter encodings for some register forms (03 /r reg-reg is written as 01 /r, FF /0 reg as
// 40+r, 80 /0 al as 04, 0x82 as 0x80, ...); those cases are re-encoded from the table entry
// itself, after checking that nasm's own choice is the same mnemonic in the table; memory
// forms nasm cannot spell at all take their addressing bytes from an LEA of the operand.
import type { InsnDef } from '../../../src/x86/table/types.ts';
import { trailingBytes } from './forms.ts';
import { hexBytes } from './layout.ts';
import { opcodeBytes } from './instantiate.ts';
import { leBytes } from './values.ts';
import type { EncodingIntent, FormVariant } from './test-case.ts';

const LEGACY_PREFIXES = new Set([0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0x66, 0x67, 0xf0, 0xf2, 0xf3]);

/** ModRM + SIB + displacement length for a ModRM byte and the byte after it (32-bit addressing). */
function modrmLength(modrm: number, sib: number | undefined): number {
  const mod = modrm >> 6;
  const rm = modrm & 7;
  if (mod === 3) return 1;
  let n = 1;
  if (rm === 4) {
    n++;
    if (mod === 0 && sib !== undefined && (sib & 7) === 5) n += 4;
  } else if (mod === 0 && rm === 5) n += 4;
  if (mod === 1) n += 1;
  if (mod === 2) n += 4;
  return n;
}

export interface SplitInsn {
  prefixes: number[];
  opcode: number;
  modrm?: number;
}

/** Prefixes and opcode of the bytes at `at` (enough to look nasm's choice up in the table). */
export function split(bytes: Uint8Array, at: number): SplitInsn {
  let p = at;
  const prefixes: number[] = [];
  while (p < bytes.length && LEGACY_PREFIXES.has(bytes[p]!)) prefixes.push(bytes[p++]!);
  let opcode = bytes[p++] ?? -1;
  if (opcode === 0x0f) opcode = 0x0f00 | (bytes[p++] ?? 0);
  return { prefixes, opcode, modrm: bytes[p] };
}

const sameSet = (a: readonly number[], b: readonly number[]): boolean => {
  const x = [...new Set(a)].sort();
  const y = [...new Set(b)].sort();
  return x.length === y.length && x.every((v, i) => v === y[i]);
};

/** null if `bytes` (the instruction under test) encode the variant with exactly these prefixes; else why not. */
export function checkEncoding(v: FormVariant, prefixes: readonly number[], bytes: Uint8Array): string | null {
  const { def, form, osize } = v;
  let p = 0;
  const seen: number[] = [];
  while (p < bytes.length && LEGACY_PREFIXES.has(bytes[p]!)) seen.push(bytes[p++]!);
  if (!sameSet(seen, prefixes)) return `prefixes [${hexBytes(Uint8Array.from(seen))}], expected [${hexBytes(Uint8Array.from(prefixes))}]`;
  for (const o of opcodeBytes(def.opcode)) if (bytes[p++] !== o) return `opcode is not ${hexBytes(Uint8Array.from(opcodeBytes(def.opcode)))}`;
  if (form.hasModrm) {
    const modrm = bytes[p];
    if (modrm === undefined) return 'missing ModRM';
    if (def.ext !== undefined && ((modrm >> 3) & 7) !== def.ext) return `ModRM.reg is ${(modrm >> 3) & 7}, expected /${def.ext}`;
    if (def.rm !== undefined && (modrm & 7) !== def.rm) return `ModRM.rm is ${modrm & 7}, expected ${def.rm}`;
    if (def.mod === 'reg' && modrm >> 6 !== 3) return 'memory ModRM for a register-only form';
    if (def.mod === 'mem' && modrm >> 6 === 3) return 'register ModRM for a memory-only form';
    p += modrmLength(modrm, bytes[p + 1]);
  }
  for (const op of form.operands) p += trailingBytes(op, osize);
  if (p !== bytes.length) return `length ${bytes.length}, the form implies ${p}`;
  return null;
}

/** Condition-code and other spellings nasm and the table may use for the same instruction. */
export function canonicalMnemonic(m: string): string {
  const syn: Record<string, string> = { sal: 'shl', xlatb: 'xlat', fwait: 'wait', 'pushfd': 'pushf', popfd: 'popf', pushad: 'pusha', popad: 'popa' };
  if (syn[m]) return syn[m]!;
  const cc = /^(j|set|cmov|fcmov)(n?)(.*)$/.exec(m);
  const conds: Record<string, string> = { e: 'z', c: 'b', nae: 'b', nc: 'ae', nb: 'ae', na: 'be', nbe: 'a', pe: 'p', po: 'np', nge: 'l', nl: 'ge', ng: 'le', nle: 'g' };
  if (cc && m !== 'jmp' && m !== 'jecxz' && m !== 'jcxz') {
    const [, head, neg, rest] = cc as unknown as [string, string, string, string];
    const full = neg + rest;
    return head + (conds[full] ?? full);
  }
  return m;
}

/** The table entries nasm's encoding corresponds to. */
export function entriesFor(table: readonly InsnDef[], bytes: Uint8Array): InsnDef[] {
  const s = split(bytes, 0);
  return table.filter((d) => {
    if (d.opcode !== s.opcode) return false;
    if (s.modrm === undefined) return d.ext === undefined;
    if (d.ext !== undefined && ((s.modrm >> 3) & 7) !== d.ext) return false;
    if (d.mod === 'reg' && s.modrm >> 6 !== 3) return false;
    if (d.mod === 'mem' && s.modrm >> 6 === 3) return false;
    if (d.rm !== undefined && (s.modrm & 7) !== d.rm) return false;
    return true;
  });
}

/** Whether nasm's spelling and the table's name the same instruction (xchg eax,eax is nop). */
export function sameInstruction(a: string, b: string): boolean {
  const ca = canonicalMnemonic(a);
  const cb = canonicalMnemonic(b);
  return ca === cb || (ca === 'xchg' && cb === 'nop') || (ca === 'nop' && cb === 'xchg');
}

/**
 * Encodes an instance from the table entry: prefixes, opcode, ModRM (register form, or the
 * memory addressing bytes `addressing` = ModRM/SIB/disp as nasm encoded them for an LEA of
 * the same operand), immediates.
 */
export function encodeFromTable(v: FormVariant, prefixes: readonly number[], intent: EncodingIntent, addressing?: Uint8Array): Uint8Array {
  const reg = v.def.ext ?? intent.reg ?? 0;
  const out = [...prefixes, ...opcodeBytes(v.def.opcode)];
  if (addressing) out.push((addressing[0]! & 0xc7) | (reg << 3), ...addressing.subarray(1));
  else out.push(0xc0 | (reg << 3) | (v.def.rm ?? intent.rm ?? 0));
  for (const imm of intent.imms) out.push(...leBytes(imm.value, imm.bytes));
  return Uint8Array.from(out);
}
