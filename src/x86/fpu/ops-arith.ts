// Instruction-level arithmetic and comparisons: FADD/FMUL/FSUB(R)/FDIV(R)
// in all forms (ST0 with ST(i), ST(i) with ST0, pop, m32/m64/m16int/m32int),
// FCOM/FCOMP/FCOMPP/FUCOM*/FICOM*/FCOMI*/FUCOMI*/FTST.

import type { FpuState } from './state.ts';
import {
  A_SIGN, B_SIGN, F, K_DENORMAL, K_INF, K_QNAN, K_SNAN, K_UNSUPPORTED, K_ZERO,
  copyToR, setIndefinite, setInf, setZero,
} from './float80.ts';
import { addCore } from './addsub.ts';
import { divCore, mulCore } from './muldiv.ts';
import { propagateNaN } from './nan.ts';
import { unpackF32, unpackF64, unpackSmallInt } from './convert.ts';
import { CMP_EFLAGS, CMP_SW_BITS, CMP_UNORDERED, compare, compareFlags } from './compare.ts';
import { SW_C0, SW_C1, SW_C2, SW_C3, SW_DE, SW_IE, SW_SF, SW_ZE } from './bits.ts';
import { OP_ARITH_M16I, OP_ARITH_M32, OP_ARITH_M32I, OP_ARITH_M64 } from './decode.ts';

// ModRM reg values of the arithmetic group.
export const G_ADD = 0, G_MUL = 1, G_COM = 2, G_COMP = 3, G_SUB = 4, G_SUBR = 5, G_DIV = 6, G_DIVR = 7;

/** Reads the memory operand of an arithmetic-group op into slot B (before any state changes, so a fault is clean). */
export function loadMemOperandB(s: FpuState, op: number, ea: number): number {
  const h = s.host;
  switch (op) {
    case OP_ARITH_M32:
      return unpackF32(B_SIGN, h.read32(ea));
    case OP_ARITH_M64: {
      const lo = h.read32(ea);
      return unpackF64(B_SIGN, h.read32(ea + 4), lo);
    }
    case OP_ARITH_M32I:
      return unpackSmallInt(B_SIGN, h.read32(ea) | 0);
    case OP_ARITH_M16I:
      return unpackSmallInt(B_SIGN, (h.read16(ea) << 16) >> 16);
  }
  throw new Error(`not an arithmetic memory op: ${op}`);
}

function swapAB(): void {
  for (let k = 0; k < 4; k++) {
    const t = F[A_SIGN + k];
    F[A_SIGN + k] = F[B_SIGN + k];
    F[B_SIGN + k] = t;
  }
}

/**
 * R = A <g> B for g in add/mul/sub/div (the reversed forms have swapped A/B
 * already), with the x87 special-operand rules. Returns the flags.
 */
function compute(g: number, ka: number, kb: number, cw: number): number {
  if (ka === K_UNSUPPORTED || kb === K_UNSUPPORTED) {
    setIndefinite();
    return SW_IE;
  }
  if (ka === K_SNAN || ka === K_QNAN || kb === K_SNAN || kb === K_QNAN) return propagateNaN(ka, kb);
  const de = ka === K_DENORMAL || kb === K_DENORMAL ? SW_DE : 0;
  const sa = F[A_SIGN], sb = F[B_SIGN];
  switch (g) {
    case G_ADD:
    case G_SUB: {
      const neg = g === G_SUB ? 1 : 0;
      if (ka === K_INF || kb === K_INF) {
        if (ka === K_INF && kb === K_INF && sa !== (sb ^ neg)) {
          setIndefinite();
          return SW_IE;
        }
        if (ka === K_INF) copyToR(A_SIGN);
        else setInf(sb ^ neg);
        return de;
      }
      return de | addCore(neg, cw);
    }
    case G_MUL:
      if (ka === K_INF || kb === K_INF) {
        if (ka === K_ZERO || kb === K_ZERO) {
          setIndefinite();
          return SW_IE;
        }
        setInf(sa ^ sb);
        return de;
      }
      return de | mulCore(cw);
    default: // divide
      if (ka === K_INF) {
        if (kb === K_INF) {
          setIndefinite();
          return SW_IE;
        }
        setInf(sa ^ sb);
        return de;
      }
      if (kb === K_INF) {
        setZero(sa ^ sb);
        return de;
      }
      if (kb === K_ZERO) {
        if (ka === K_ZERO) {
          setIndefinite();
          return SW_IE;
        }
        // Zero divide outranks the denormal-operand exception: DE is not reported.
        setInf(sa ^ sb);
        return SW_ZE;
      }
      return de | divCore(cw);
  }
}

/**
 * Finishes an arithmetic op whose operands are in A (= ST0) and B (= the
 * other operand): computes, then stores to ST(dest) and pops if asked.
 * IE/DE/ZE unmasked leave the destination and TOP untouched.
 */
export function arithAB(s: FpuState, g: number, ka: number, kb: number, dest: number, pop: boolean): void {
  const cw = s.cw;
  if (g === G_SUBR || g === G_DIVR) {
    swapAB();
    const t = ka;
    ka = kb;
    kb = t;
  }
  const flags = compute(g === G_SUBR ? G_SUB : g === G_DIVR ? G_DIV : g, ka, kb, cw);
  if (s.unmasked(flags & (SW_IE | SW_DE | SW_ZE))) {
    s.signal(flags & (SW_IE | SW_DE | SW_ZE));
    return;
  }
  s.writeR(dest);
  s.signal(flags);
  if (pop) s.pop();
}

/** Register-form arithmetic: ST(dest) = ST0 <g> ST(i) (dest 0 or i), optional pop. */
export function arithReg(s: FpuState, g: number, i: number, dest: number, pop: boolean): void {
  if (s.isEmpty(0) || s.isEmpty(i)) {
    if (s.stackUnderflow()) {
      s.writeIndefinite(dest);
      if (pop) s.pop();
    }
    return;
  }
  arithAB(s, g, s.load(0, A_SIGN), s.load(i, B_SIGN), dest, pop);
}

/** Memory-form arithmetic: ST0 = ST0 <g> operand, with the operand already in B (class kb). */
export function arithMem(s: FpuState, g: number, kb: number): void {
  if (s.isEmpty(0)) {
    if (s.stackUnderflow()) s.writeIndefinite(0);
    return;
  }
  arithAB(s, g, s.load(0, A_SIGN), kb, 0, false);
}

// ---- comparisons ---------------------------------------------------------------

/**
 * Compares ST0 (loaded here) with the operand in B (class kb, or -1 for an
 * empty register) and pops `pops` times. Sets C3/C2/C0 (C1 = 0), or for
 * FCOMI-style returns the EFLAGS ZF/PF/CF bits. The hardware reports the
 * relation (unordered for a stack fault) even when the exception is unmasked;
 * only the pops are suppressed then.
 */
export function compareST0(s: FpuState, kb: number, quiet: boolean, pops: number, toEflags: boolean): number {
  let rel: number;
  let flags: number;
  if (kb < 0 || s.isEmpty(0)) {
    flags = SW_IE | SW_SF;
    rel = CMP_UNORDERED;
  } else {
    rel = compare(s.load(0, A_SIGN), kb, quiet);
    flags = compareFlags();
  }
  const c1 = s.sw & SW_C1;
  s.signal(flags);
  if (!toEflags) s.sw = (s.sw & ~(SW_C0 | SW_C2 | SW_C3)) | CMP_SW_BITS[rel];
  // FCOMI & co.: the SDM says C1 = 0, but the host (AMD) only clears it on a
  // stack fault and otherwise leaves it alone. We follow the host.
  else if (!(flags & SW_SF)) s.sw |= c1;
  if (!s.unmasked(flags)) for (let n = 0; n < pops; n++) s.pop();
  return CMP_EFLAGS[rel];
}

/** FCOM/FUCOM/FCOMI... with ST(i) (an empty ST(i) counts as a stack underflow). */
export function compareReg(s: FpuState, i: number, quiet: boolean, pops: number, toEflags: boolean): number {
  const kb = s.isEmpty(i) ? -1 : s.load(i, B_SIGN);
  return compareST0(s, kb, quiet, pops, toEflags);
}

/** FTST: compare ST0 with +0.0. */
export function ftst(s: FpuState): void {
  for (let k = 0; k < 4; k++) F[B_SIGN + k] = 0;
  compareST0(s, K_ZERO, false, 0, false);
}
