// Table-driven instruction decoder: prefixes, one/two-byte opcodes, ModRM,
// SIB, displacement and immediates, into one slot of the decoded pool. The
// dispatch tables are built from the instruction table at load time.
import { INSTRUCTIONS } from './table/index.ts';
import { decodeShape, Imm } from './table/forms.ts';
import { Seg } from './state.ts';
import {
  type DecodedPool, A_O32, A_A32, A_REG, A_REP, A_REPNE, A_LOCK, A_SEGOVR, A_MODRM, NO_REG,
} from './decoded.ts';

/** Where instruction bytes come from: guest memory (via CS and paging) or a plain array. */
export interface ByteSource {
  /** The byte at `offset` from the instruction start; may throw the CPU's fault. */
  byteAt(offset: number): number;
}

/** Table entry index used for encodings that no entry claims. */
export const DEF_INVALID = 0;
/** Table entry index that raises #GP(0) for instructions over 15 bytes. */
export const DEF_TOO_LONG = 1;
/** An instruction longer than 15 bytes raises #GP(0); it decodes to this marker length. */
export const MAX_INSN_LENGTH = 15;

const OPCODE_SPACE = 0x200;
const candidates: number[][] = Array.from({ length: OPCODE_SPACE }, () => []);
const needsModrm = new Uint8Array(OPCODE_SPACE);
const immKinds: Imm[][] = [];
const isMoffs = new Uint8Array(INSTRUCTIONS.length);
const lockable = new Uint8Array(INSTRUCTIONS.length);

INSTRUCTIONS.forEach((def, idx) => {
  const shape = decodeShape(def);
  immKinds[idx] = shape.imms;
  isMoffs[idx] = shape.moffs ? 1 : 0;
  lockable[idx] = def.lockable ? 1 : 0;
  if (def.opcode < 0) return;
  const op = def.opcode >= 0x0f00 ? 0x100 | (def.opcode & 0xff) : def.opcode;
  if (candidates[op].length > 0 && needsModrm[op] !== (shape.modrm ? 1 : 0)) {
    throw new Error(`instruction table: entries for opcode 0x${def.opcode.toString(16)} disagree about ModRM (${def.mnemonic})`);
  }
  needsModrm[op] = shape.modrm ? 1 : 0;
  candidates[op].push(idx);
});

// More specific entries (with ext/rm/mod/osize/prefix constraints) must win over generic ones.
for (const list of candidates) {
  const specificity = (i: number): number => {
    const d = INSTRUCTIONS[i];
    return (d.prefix !== undefined ? 16 : 0) + (d.rm !== undefined ? 8 : 0) + (d.mod !== undefined ? 4 : 0) +
      (d.osize !== undefined ? 2 : 0) + (d.ext !== undefined ? 1 : 0);
  };
  list.sort((a, b) => specificity(b) - specificity(a));
}

const SEG_PREFIX: Record<number, number> = { 0x26: Seg.ES, 0x2e: Seg.CS, 0x36: Seg.SS, 0x3e: Seg.DS, 0x64: Seg.FS, 0x65: Seg.GS };

// 16-bit ModRM addressing: base and index register for each rm value.
const EA16_BASE = [3, 3, 5, 5, 6, 7, 5, 3];
const EA16_INDEX = [6, 7, 6, 7, NO_REG, NO_REG, NO_REG, NO_REG];

/**
 * Decodes one instruction at the source's offset 0 into pool slot `i`.
 * Returns the instruction length. Raises (through the source) any fetch fault.
 */
export function decodeInstruction(src: ByteSource, cs32: boolean, pool: DecodedPool, i: number): number {
  let pos = 0;
  let attrs = cs32 ? A_O32 | A_A32 : 0;
  let seg = -1;
  let mandatory = 0; // last F2/F3/66 seen, for mandatory-prefix entries
  let b: number;
  for (;;) {
    b = src.byteAt(pos++);
    if (pos > MAX_INSN_LENGTH) return tooLong(pool, i);
    if (b === 0x66) { attrs = (attrs & ~A_O32) | (cs32 ? 0 : A_O32); mandatory = 0x66; continue; }
    if (b === 0x67) { attrs = (attrs & ~A_A32) | (cs32 ? 0 : A_A32); continue; }
    if (b === 0xf0) { attrs |= A_LOCK; continue; }
    if (b === 0xf3) { attrs = (attrs & ~A_REPNE) | A_REP; mandatory = 0xf3; continue; }
    if (b === 0xf2) { attrs = (attrs & ~A_REP) | A_REPNE; mandatory = 0xf2; continue; }
    const s = SEG_PREFIX[b];
    if (s !== undefined) { seg = s; attrs |= A_SEGOVR; continue; }
    break;
  }
  let op = b;
  if (b === 0x0f) {
    op = 0x100 | src.byteAt(pos++);
  }
  const opcode = op >= 0x100 ? 0x0f00 | (op & 0xff) : op;

  let modrm = 0, mod = 3, reg = op & 7, rm = 0;
  const hasModrm = needsModrm[op] === 1;
  if (hasModrm) {
    modrm = src.byteAt(pos++);
    mod = modrm >> 6;
    reg = (modrm >> 3) & 7;
    rm = modrm & 7;
    attrs |= A_MODRM;
  }

  const osize = attrs & A_O32 ? 32 : 16;
  let def = DEF_INVALID;
  const list = candidates[op];
  for (let k = 0; k < list.length; k++) {
    const d = INSTRUCTIONS[list[k]];
    if (d.ext !== undefined && d.ext !== reg) continue;
    if (d.mod === 'reg' ? mod !== 3 : d.mod === 'mem' && mod === 3) continue;
    if (d.rm !== undefined && (mod !== 3 || rm !== d.rm)) continue;
    if (d.osize !== undefined && d.osize !== osize) continue;
    if (d.prefix !== undefined && d.prefix !== mandatory) continue;
    def = list[k];
    break;
  }

  // Effective address.
  let base = NO_REG, index = NO_REG, scale = 0, disp = 0, defSeg = Seg.DS;
  if (hasModrm && mod !== 3) {
    if (attrs & A_A32) {
      if (rm === 4) {
        const sib = src.byteAt(pos++);
        scale = sib >> 6;
        const idx = (sib >> 3) & 7;
        index = idx === 4 ? NO_REG : idx;
        const bs = sib & 7;
        if (bs === 5 && mod === 0) {
          disp = readImm(src, pos, 4); pos += 4;
        } else {
          base = bs;
          if (bs === 4 || bs === 5) defSeg = Seg.SS;
        }
      } else if (rm === 5 && mod === 0) {
        disp = readImm(src, pos, 4); pos += 4;
      } else {
        base = rm;
        if (rm === 5) defSeg = Seg.SS;
      }
      if (mod === 1) { disp = (src.byteAt(pos++) << 24) >> 24; }
      else if (mod === 2) { disp = readImm(src, pos, 4); pos += 4; }
    } else {
      if (rm === 6 && mod === 0) {
        disp = readImm(src, pos, 2); pos += 2;
      } else {
        base = EA16_BASE[rm];
        index = EA16_INDEX[rm];
        if (rm === 2 || rm === 3 || rm === 6) defSeg = Seg.SS;
      }
      if (mod === 1) { disp = (src.byteAt(pos++) << 24) >> 24; }
      else if (mod === 2) { disp = readImm(src, pos, 2); pos += 2; }
    }
  } else if (hasModrm) {
    attrs |= A_REG;
  }

  // Immediates.
  let imm = 0, imm2 = 0, nImm = 0;
  const kinds = immKinds[def];
  for (let k = 0; k < kinds.length; k++) {
    let v: number;
    switch (kinds[k]) {
      case Imm.B: case Imm.JB: v = (src.byteAt(pos++) << 24) >> 24; break;
      case Imm.W: v = readImm(src, pos, 2) & 0xffff; pos += 2; break;
      case Imm.D: v = readImm(src, pos, 4); pos += 4; break;
      case Imm.Z:
        if (osize === 32) { v = readImm(src, pos, 4); pos += 4; } else { v = readImm(src, pos, 2) & 0xffff; pos += 2; }
        break;
      case Imm.JZ:
        if (osize === 32) { v = readImm(src, pos, 4); pos += 4; } else { v = readImm(src, pos, 2); pos += 2; }
        break;
      case Imm.MOFFS:
        if (attrs & A_A32) { disp = readImm(src, pos, 4); pos += 4; } else { disp = readImm(src, pos, 2) & 0xffff; pos += 2; }
        continue;
      case Imm.FAR:
        if (osize === 32) { v = readImm(src, pos, 4); pos += 4; } else { v = readImm(src, pos, 2) & 0xffff; pos += 2; }
        imm = v;
        imm2 = readImm(src, pos, 2) & 0xffff; pos += 2;
        nImm = 2;
        continue;
      default: v = 0;
    }
    if (nImm++ === 0) imm = v; else imm2 = v;
  }
  if (pos > MAX_INSN_LENGTH) return tooLong(pool, i);

  // LOCK is only valid on lockable instructions with a memory destination.
  if ((attrs & A_LOCK) && (!lockable[def] || (attrs & A_REG) || !hasModrm)) def = DEF_INVALID;

  pool.def[i] = def;
  pool.len[i] = pos;
  pool.attrs[i] = attrs;
  pool.opcode[i] = opcode;
  pool.modrm[i] = modrm;
  pool.reg[i] = reg;
  pool.rm[i] = rm;
  pool.eaBase[i] = base;
  pool.eaIndex[i] = index;
  pool.eaScale[i] = scale;
  pool.seg[i] = seg >= 0 ? seg : defSeg;
  pool.disp[i] = disp;
  pool.imm[i] = imm;
  pool.imm2[i] = imm2;
  return pos;
}

function readImm(src: ByteSource, pos: number, size: 2 | 4): number {
  if (size === 2) return ((src.byteAt(pos) | (src.byteAt(pos + 1) << 8)) << 16) >> 16;
  return src.byteAt(pos) | (src.byteAt(pos + 1) << 8) | (src.byteAt(pos + 2) << 16) | (src.byteAt(pos + 3) << 24);
}

function tooLong(pool: DecodedPool, i: number): number {
  pool.def[i] = DEF_TOO_LONG;
  pool.len[i] = MAX_INSN_LENGTH;
  pool.attrs[i] = 0;
  return MAX_INSN_LENGTH;
}

/** Whether the entry at `def` ends a decoded block. */
export const ENDS_BLOCK = new Uint8Array(INSTRUCTIONS.map((d) => (d.endsBlock ? 1 : 0)));
ENDS_BLOCK[DEF_INVALID] = 1;

/** Whether the interpreter must keep EIP and EIP_START current in the state for the entry's handler. */
export const NEEDS_EIP = new Uint8Array(INSTRUCTIONS.map((d) => (d.endsBlock || d.rep || d.readsEip ? 1 : 0)));
