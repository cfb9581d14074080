// nasm spellings that depend on the operand size: size-suffixed operandless instructions
// (cbw/cwde, movsw/movsd, ...) and generic string mnemonics the table may spell bare.
import type { InsnDef } from '../../../src/x86/table/types.ts';
import type { ParsedForm } from './forms.ts';

/** [16-bit name, 32-bit name] for instructions nasm spells differently per operand size. */
const PAIRS: ReadonlyArray<readonly [string, string]> = [
  ['cbw', 'cwde'], ['cwd', 'cdq'], ['pushaw', 'pushad'], ['popaw', 'popad'], ['pushfw', 'pushfd'],
  ['popfw', 'popfd'], ['iretw', 'iretd'], ['movsw', 'movsd'], ['cmpsw', 'cmpsd'], ['stosw', 'stosd'],
  ['lodsw', 'lodsd'], ['scasw', 'scasd'], ['insw', 'insd'], ['outsw', 'outsd'],
];
const PAIR_OF = new Map<string, readonly [string, string]>();
for (const p of PAIRS) for (const n of p) PAIR_OF.set(n, p);

export const STRING_BASES = ['movs', 'cmps', 'stos', 'lods', 'scas', 'ins', 'outs'] as const;

/** The string-instruction base name (movs, cmps, ...) of a mnemonic, or null. */
export function stringBase(mnemonic: string): string | null {
  for (const b of STRING_BASES) if (mnemonic === b || (mnemonic.startsWith(b) && /^[bwd]$/.test(mnemonic.slice(b.length)))) return b;
  return null;
}

/** True for operandless instructions whose nasm name carries the operand size. */
export function isSizedMnemonic(mnemonic: string): boolean {
  return PAIR_OF.has(mnemonic) || (stringBase(mnemonic) !== null && !mnemonic.endsWith('b'));
}

/** E3 is JECXZ with 32-bit addressing and JCXZ with a 67 prefix; nasm spells them so. */
export function counterMnemonic(mnemonic: string, a16: boolean): string {
  if (mnemonic === 'jcxz' || mnemonic === 'jecxz') return a16 ? 'jcxz' : 'jecxz';
  return a16 ? `a16 ${mnemonic}` : mnemonic;
}

/** LOOPcc and JeCXZ count in CX or ECX by address size. */
export const isCounterBranch = (mnemonic: string): boolean => /^(loop|loopn?[ez]|jecxz|jcxz)$/.test(mnemonic);

/** The nasm mnemonic for a variant. */
export function nasmMnemonic(def: InsnDef, form: ParsedForm, osize: 16 | 32): string {
  const pair = PAIR_OF.get(def.mnemonic);
  if (pair) return osize === 16 ? pair[0] : pair[1];
  const base = stringBase(def.mnemonic);
  if (base && base === def.mnemonic) {
    const byteSized = form.operands.some((o) => o.k === 'str' && o.size === 'b') || form.operands.some((o) => o.k === 'reg' && o.size === 'b');
    return base + (byteSized ? 'b' : osize === 16 ? 'w' : 'd');
  }
  return def.mnemonic;
}
