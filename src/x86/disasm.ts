// Disassembler for traces and crash dumps, driven by the same instruction
// table and decoder as the interpreter, printing nasm syntax.
import { INSTRUCTIONS } from './table/index.ts';
import { splitOperands } from './table/forms.ts';
import { decodeInstruction, type ByteSource } from './decoder.ts';
import { DecodedPool, A_O32, A_A32, A_REG, A_REP, A_REPNE, A_LOCK, A_SEGOVR, NO_REG } from './decoded.ts';

const R32 = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'];
const R16 = ['ax', 'cx', 'dx', 'bx', 'sp', 'bp', 'si', 'di'];
const R8 = ['al', 'cl', 'dl', 'bl', 'ah', 'ch', 'dh', 'bh'];
const SREG = ['es', 'cs', 'ss', 'ds', 'fs', 'gs', '?6', '?7'];
const FIXED: Record<string, string> = { AL: 'al', CL: 'cl', DX: 'dx', '1': '1', ES: 'es', CS: 'cs', SS: 'ss', DS: 'ds', FS: 'fs', GS: 'gs' };

const pool = new DecodedPool(2);

export class ArrayByteSource implements ByteSource {
  constructor(private readonly bytes: Uint8Array, private readonly start = 0) {}
  byteAt(offset: number): number {
    const k = this.start + offset;
    if (k >= this.bytes.length) throw new RangeError('instruction runs past the end of the bytes');
    return this.bytes[k];
  }
}

export interface Disassembled { text: string; length: number; endsBlock: boolean }

const hex = (v: number): string => '0x' + (v >>> 0).toString(16);

function sizeOf(form: string, o32: boolean): number {
  const s = form.slice(1);
  if (s === 'b') return 8;
  if (s === 'w') return 16;
  if (s === 'd') return 32;
  if (s === 'q') return 64;
  if (s === 't') return 80;
  if (s === 'v' || s === 'z') return o32 ? 32 : 16;
  return 0;
}

function regName(n: number, bits: number): string {
  return bits === 8 ? R8[n] : bits === 16 ? R16[n] : R32[n];
}

function memText(i: number, bits: number, a32: boolean): string {
  const parts: string[] = [];
  const names = a32 ? R32 : R16;
  if (pool.eaBase[i] !== NO_REG) parts.push(names[pool.eaBase[i]]);
  if (pool.eaIndex[i] !== NO_REG) parts.push(names[pool.eaIndex[i]] + (pool.eaScale[i] ? '*' + (1 << pool.eaScale[i]) : ''));
  const d = pool.disp[i];
  if (d !== 0 || parts.length === 0) parts.push(parts.length && d < 0 ? '-' + hex(-d) : hex(d));
  const size = bits === 8 ? 'byte ' : bits === 16 ? 'word ' : bits === 32 ? 'dword ' : bits === 64 ? 'qword ' : bits === 80 ? 'tword ' : '';
  const seg = pool.attrs[i] & A_SEGOVR ? SREG[pool.seg[i]] + ':' : '';
  return `${size}[${seg}${parts.join('+').replace('+-', '-')}]`;
}

/** Disassembles one instruction at the source's offset 0; `eip` is used for branch targets. */
export function disassemble(src: ByteSource, cs32: boolean, eip = 0): Disassembled {
  const length = decodeInstruction(src, cs32, pool, 0);
  const def = INSTRUCTIONS[pool.def[0]];
  const attrs = pool.attrs[0];
  const o32 = (attrs & A_O32) !== 0;
  const a32 = (attrs & A_A32) !== 0;
  let immUsed = 0;
  const ops = splitOperands(def).map((form) => {
    const k = form[0];
    const bits = sizeOf(form, o32);
    if (FIXED[form]) return FIXED[form];
    if (form === 'eAX') return o32 ? 'eax' : 'ax';
    if (k === 'Z') return regName(pool.reg[0], bits);
    if (k === 'G') return regName(pool.reg[0], bits);
    if (k === 'S') return SREG[pool.reg[0]];
    if (k === 'C') return 'cr' + pool.reg[0];
    if (k === 'D') return 'dr' + pool.reg[0];
    if (k === 'R') return regName(pool.rm[0], 32);
    if (k === 'E' || k === 'M' || k === 'O') {
      if (attrs & A_REG) return regName(pool.rm[0], bits || 32);
      return memText(0, k === 'M' ? bits : bits, a32);
    }
    if (k === 'I') {
      const v = immUsed++ === 0 ? pool.imm[0] : pool.imm2[0];
      return hex(bits === 8 || form === 'Ib' ? v & 0xff : v);
    }
    if (k === 'J') return hex((eip + length + pool.imm[0]) & (o32 ? -1 : 0xffff));
    if (k === 'A') return `${hex(pool.imm2[0])}:${hex(pool.imm[0])}`;
    return form;
  });
  const prefix = (attrs & A_LOCK ? 'lock ' : '') + (def.rep && attrs & A_REP ? 'rep ' : '') + (def.rep && attrs & A_REPNE ? 'repne ' : '');
  const sizeHint = !def.operands && def.osize === 16 && cs32 ? 'o16 ' : '';
  return { text: `${prefix}${sizeHint}${def.mnemonic}${ops.length ? ' ' + ops.join(', ') : ''}`, length, endsBlock: def.endsBlock === true };
}
