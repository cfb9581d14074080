// Lazy arithmetic flags. A flag-setting instruction records its operation,
// operands and (size-truncated) result; individual flags are computed only
// when something reads them. LAZY_MASK says which EFLAGS bits are stale.
import { S, FLAG_CF, FLAG_PF, FLAG_AF, FLAG_ZF, FLAG_SF, FLAG_OF, FLAGS_ARITH } from './state.ts';

/** Lazy operation kinds; the operand size index (0: 8, 1: 16, 2: 32) is added. */
export const LZ_ADD = 0, LZ_ADC = 4, LZ_SUB = 8, LZ_SBB = 12, LZ_LOGIC = 16;
export const SZ8 = 0, SZ16 = 1, SZ32 = 2;

const SIGN_SHIFT = [7, 15, 31];
const MASK = [0xff, 0xffff, -1]; // same as SIZE_MASK, kept local for the hot getters

const PARITY = new Uint8Array(256);
for (let i = 0; i < 256; i++) {
  let p = 1;
  for (let b = 0; b < 8; b++) p ^= (i >> b) & 1;
  PARITY[i] = p ? FLAG_PF : 0;
}
export { PARITY };

export function setLazy(st: Int32Array, op: number, a: number, b: number, res: number): void {
  st[S.LAZY_OP] = op;
  st[S.LAZY_A] = a;
  st[S.LAZY_B] = b;
  st[S.LAZY_RES] = res;
  st[S.LAZY_MASK] = FLAGS_ARITH;
}

/** Like setLazy, but only the given flag bits become lazy; the others keep their current values. */
export function setLazyPartial(st: Int32Array, op: number, a: number, b: number, res: number, lazyBits: number): void {
  // Only the bits that stop being lazy need computing (for INC/DEC that is just CF).
  const keep = st[S.LAZY_MASK] & ~lazyBits;
  if (keep === FLAG_CF) {
    st[S.EFLAGS] = (st[S.EFLAGS] & ~FLAG_CF) | carryOf(st);
  } else if (keep !== 0) {
    materializeFlags(st);
  }
  st[S.LAZY_OP] = op;
  st[S.LAZY_A] = a;
  st[S.LAZY_B] = b;
  st[S.LAZY_RES] = res;
  st[S.LAZY_MASK] = lazyBits;
}

function carryOf(st: Int32Array): number {
  const op = st[S.LAZY_OP];
  const sz = op & 3;
  const m = MASK[sz];
  const a = st[S.LAZY_A] & m, b = st[S.LAZY_B] & m, r = st[S.LAZY_RES] & m;
  switch (op & ~3) {
    case LZ_ADD: return (r >>> 0) < (a >>> 0) ? 1 : 0;
    case LZ_ADC: {
      const cin = (r - a - b) & 1;
      return (r >>> 0) < (a >>> 0) || (cin && r === a) ? 1 : 0;
    }
    case LZ_SUB: return (a >>> 0) < (b >>> 0) ? 1 : 0;
    case LZ_SBB: {
      const cin = (a - b - r) & 1;
      return (a >>> 0) < (b >>> 0) || (cin && a === b) ? 1 : 0;
    }
    default: return 0;
  }
}

function overflowOf(st: Int32Array): number {
  const op = st[S.LAZY_OP];
  const sh = SIGN_SHIFT[op & 3];
  const a = st[S.LAZY_A], b = st[S.LAZY_B], r = st[S.LAZY_RES];
  switch (op & ~3) {
    case LZ_ADD: case LZ_ADC: return (((a ^ r) & (b ^ r)) >>> sh) & 1;
    case LZ_SUB: case LZ_SBB: return (((a ^ b) & (a ^ r)) >>> sh) & 1;
    default: return 0;
  }
}

function auxOf(st: Int32Array): number {
  const kind = st[S.LAZY_OP] & ~3;
  if (kind === LZ_LOGIC) return 0;
  return (st[S.LAZY_A] ^ st[S.LAZY_B] ^ st[S.LAZY_RES]) & FLAG_AF;
}

export function getCF(st: Int32Array): number {
  return st[S.LAZY_MASK] & FLAG_CF ? carryOf(st) : st[S.EFLAGS] & FLAG_CF;
}
export function getZF(st: Int32Array): number {
  if (st[S.LAZY_MASK] & FLAG_ZF) return (st[S.LAZY_RES] & MASK[st[S.LAZY_OP] & 3]) === 0 ? 1 : 0;
  return (st[S.EFLAGS] >> 6) & 1;
}
export function getSF(st: Int32Array): number {
  if (st[S.LAZY_MASK] & FLAG_SF) return (st[S.LAZY_RES] >>> SIGN_SHIFT[st[S.LAZY_OP] & 3]) & 1;
  return (st[S.EFLAGS] >> 7) & 1;
}
export function getOF(st: Int32Array): number {
  return st[S.LAZY_MASK] & FLAG_OF ? overflowOf(st) : (st[S.EFLAGS] >> 11) & 1;
}
export function getPF(st: Int32Array): number {
  if (st[S.LAZY_MASK] & FLAG_PF) return PARITY[st[S.LAZY_RES] & 0xff] ? 1 : 0;
  return (st[S.EFLAGS] >> 2) & 1;
}
export function getAF(st: Int32Array): number {
  if (st[S.LAZY_MASK] & FLAG_AF) return auxOf(st) ? 1 : 0;
  return (st[S.EFLAGS] >> 4) & 1;
}

/** Folds the lazy flags into EFLAGS and returns the complete EFLAGS value. */
export function materializeFlags(st: Int32Array): number {
  const lazy = st[S.LAZY_MASK];
  if (lazy === 0) return st[S.EFLAGS];
  let f = st[S.EFLAGS] & ~lazy;
  if (lazy & FLAG_CF) f |= carryOf(st);
  if (lazy & FLAG_PF) f |= PARITY[st[S.LAZY_RES] & 0xff];
  if (lazy & FLAG_AF) f |= auxOf(st);
  if (lazy & FLAG_ZF && (st[S.LAZY_RES] & MASK[st[S.LAZY_OP] & 3]) === 0) f |= FLAG_ZF;
  if (lazy & FLAG_SF) f |= ((st[S.LAZY_RES] >>> SIGN_SHIFT[st[S.LAZY_OP] & 3]) & 1) << 7;
  if (lazy & FLAG_OF) f |= overflowOf(st) << 11;
  st[S.EFLAGS] = f;
  st[S.LAZY_MASK] = 0;
  return f;
}

/**
 * Sets some flags to explicit values: bits in `mask` are replaced by those in
 * `values` and stop being lazy; the other lazy flags stay lazy.
 */
export function setFlagBits(st: Int32Array, mask: number, values: number): void {
  st[S.EFLAGS] = (st[S.EFLAGS] & ~mask) | (values & mask);
  st[S.LAZY_MASK] &= ~mask;
}

const SZP = FLAG_SF | FLAG_ZF | FLAG_PF;
const COA = FLAG_CF | FLAG_OF | FLAG_AF;

/**
 * All six arithmetic flags of a result-producing instruction: SF ZF PF come
 * lazily from `res` (size index `sz`), CF OF AF are given explicitly in `cfOfAf`.
 */
export function setResultFlags(st: Int32Array, sz: number, res: number, cfOfAf: number): void {
  st[S.EFLAGS] = (st[S.EFLAGS] & ~COA) | cfOfAf;
  st[S.LAZY_OP] = LZ_LOGIC | sz;
  st[S.LAZY_RES] = res;
  st[S.LAZY_MASK] = SZP;
}

/** Operand masks by size index (SZ8, SZ16, SZ32). */
export const SIZE_MASK = [0xff, 0xffff, -1];

/** Condition code evaluation for Jcc/SETcc/CMOVcc (cc = low nibble of the opcode). */
export function testCondition(st: Int32Array, cc: number): boolean {
  let r: number;
  switch (cc >> 1) {
    case 0: r = getOF(st); break;
    case 1: r = getCF(st); break;
    case 2: r = getZF(st); break;
    case 3: r = getCF(st) | getZF(st); break;
    case 4: r = getSF(st); break;
    case 5: r = getPF(st); break;
    case 6: r = getSF(st) ^ getOF(st); break;
    default: r = (getSF(st) ^ getOF(st)) | getZF(st); break;
  }
  return (r !== 0) !== ((cc & 1) === 1);
}

export { FLAG_CF, FLAG_PF, FLAG_AF, FLAG_ZF, FLAG_SF, FLAG_OF };
