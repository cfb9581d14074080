// Instruction-level data movement: FLD/FST/FSTP (m32, m64, m80, ST(i)),
// FILD/FIST/FISTP/FISTTP, FBLD/FBSTP, FXCH, FCMOVcc. Memory is always read
// before, and written before, any register/stack change, so a fault raised by
// the host leaves the FPU state untouched and the instruction restartable.

import type { FpuState } from './state.ts';
import { A_EXP, A_HI, A_LO, A_SIGN, F, K_DENORMAL, K_SNAN, K_ZERO, O_HI, O_LO } from './float80.ts';
import { toFloat, toInt, unpackF32, unpackF64, unpackInt64, unpackSmallInt } from './convert.ts';
import { bcdBytes, setBcdIndefinite, toBcd, unpackBcd } from './bcd.ts';
import { RC_ZERO, SW_DE, SW_IE, SW_OE, SW_SF, SW_UE } from './bits.ts';

/** Pushes the value unpacked in slot A (class k, from a memory format) onto the stack. */
function pushA(s: FpuState, k: number): void {
  s.push();
  const e = k === K_ZERO ? 0 : F[A_EXP];
  s.write(0, (F[A_SIGN] << 15) | e, F[A_HI], F[A_LO]);
}

/** Stack-overflow check for a push: returns false if the push must not proceed (fault handled). */
function pushCheck(s: FpuState): boolean {
  if (!s.pushWouldOverflow()) return true;
  if (s.stackOverflow()) {
    s.push();
    s.writeIndefinite(0);
  }
  return false;
}

/** FLD m32/m64 with the operand already unpacked in A (class k): SNaN raises IE and is quieted; denormals raise DE. */
export function fldFloat(s: FpuState, k: number): void {
  if (!pushCheck(s)) return;
  let flags = 0;
  if (k === K_SNAN) {
    flags = SW_IE;
    F[A_HI] = (F[A_HI] | 0x40000000) >>> 0;
  } else if (k === K_DENORMAL) {
    flags = SW_DE;
  }
  // An unmasked SNaN suppresses the load; an unmasked DE does not (the host loads the value and flags DE).
  if (s.unmasked(flags & SW_IE)) {
    s.signal(flags);
    return;
  }
  pushA(s, k);
  s.signal(flags);
}

export function fldM32(s: FpuState, ea: number): void {
  fldFloat(s, unpackF32(A_SIGN, s.host.read32(ea)));
}

export function fldM64(s: FpuState, ea: number): void {
  const lo = s.host.read32(ea);
  fldFloat(s, unpackF64(A_SIGN, s.host.read32(ea + 4), lo));
}

/** FLD m80: loaded as is (no SNaN or format checks). */
export function fldM80(s: FpuState, ea: number): void {
  const h = s.host;
  const lo = h.read32(ea), hi = h.read32(ea + 4), se = h.read16(ea + 8);
  if (!pushCheck(s)) return;
  s.push();
  s.write(0, se, hi, lo);
  s.signal(0);
}

export function fldSti(s: FpuState, i: number): void {
  if (s.isEmpty(i)) {
    // An empty source is reported as underflow even when the push would also overflow.
    if (s.stackUnderflow()) {
      s.push();
      s.writeIndefinite(0);
    }
    return;
  }
  const se = s.se(i), hi = s.hi(i), lo = s.lo(i);
  if (!pushCheck(s)) return;
  s.push();
  s.write(0, se, hi, lo);
  s.signal(0);
}

/** FILD m16/m32/m64 with the integer already unpacked in A. */
function fildA(s: FpuState, k: number): void {
  if (!pushCheck(s)) return;
  pushA(s, k);
  s.signal(0);
}
export function fildM16(s: FpuState, ea: number): void {
  fildA(s, unpackSmallInt(A_SIGN, (s.host.read16(ea) << 16) >> 16));
}
export function fildM32(s: FpuState, ea: number): void {
  fildA(s, unpackSmallInt(A_SIGN, s.host.read32(ea) | 0));
}
export function fildM64(s: FpuState, ea: number): void {
  const lo = s.host.read32(ea);
  fildA(s, unpackInt64(A_SIGN, s.host.read32(ea + 4), lo));
}

/** FST/FSTP m32 (prec 24) or m64 (prec 53). */
export function fstFloat(s: FpuState, ea: number, prec: number, pop: boolean): void {
  const h = s.host;
  if (s.isEmpty(0)) {
    // Masked: the indefinite is stored (a fault there leaves the status alone), then the flags.
    if (s.cw & SW_IE) {
      if (prec === 53) {
        s.probeStore(ea, 8);
        h.write32(ea, 0);
        h.write32(ea + 4, 0xfff80000);
      } else {
        h.write32(ea, 0xffc00000);
      }
    } else s.probeStore(ea, prec === 53 ? 8 : 4, true);
    if (s.stackUnderflow() && pop) s.pop();
    return;
  }
  const flags = toFloat(s.load(0, A_SIGN), prec, s.cw);
  if (s.unmasked(flags & (SW_IE | SW_OE | SW_UE))) {
    // Nothing is stored and nothing popped; an unmasked OE/UE is reported alone (no PE, C1 = 0).
    s.probeStore(ea, prec === 53 ? 8 : 4, true);
    s.signal(flags & (SW_IE | SW_OE | SW_UE));
    return;
  }
  if (prec === 53) {
    s.probeStore(ea, 8);
    h.write32(ea, F[O_LO]);
    h.write32(ea + 4, F[O_HI]);
  } else {
    h.write32(ea, F[O_LO]);
  }
  s.signal(flags);
  if (pop) s.pop();
}

export function fstpM80(s: FpuState, ea: number): void {
  const h = s.host;
  if (s.isEmpty(0)) {
    if (s.cw & SW_IE) {
      s.probeStore(ea, 10);
      h.write32(ea, 0);
      h.write32(ea + 4, 0xc0000000);
      h.write16(ea + 8, 0xffff);
    } else s.probeStore(ea, 10, true);
    if (!s.stackUnderflow()) return;
  } else {
    s.probeStore(ea, 10);
    h.write32(ea, s.lo(0));
    h.write32(ea + 4, s.hi(0));
    h.write16(ea + 8, s.se(0));
    s.signal(0);
  }
  s.pop();
}

/** FST/FSTP ST(i): a raw copy (no exceptions besides stack underflow). */
export function fstSti(s: FpuState, i: number, pop: boolean): void {
  if (s.isEmpty(0)) {
    if (!s.stackUnderflow()) return;
    s.writeIndefinite(i);
  } else {
    s.copy(i, 0);
    s.signal(0);
  }
  if (pop) s.pop();
}

/** D9 D8+i: like FSTP ST(i), but an empty ST0 is not an error: nothing is copied, TOP still pops. */
export function fstpNoCheck(s: FpuState, i: number): void {
  if (!s.isEmpty(0)) s.copy(i, 0);
  s.signal(0);
  s.pop();
}

/** FIST/FISTP/FISTTP to a 16/32/64-bit integer; `truncate` selects FISTTP. */
export function fistInt(s: FpuState, ea: number, bits: number, pop: boolean, truncate: boolean): void {
  const flags = s.isEmpty(0) ? SW_IE | SW_SF : toInt(s.load(0, A_SIGN), bits, truncate ? RC_ZERO : (s.cw >>> 10) & 3);
  if (flags & SW_IE) {
    if (s.unmasked(SW_IE)) {
      s.probeStore(ea, bits >>> 3, true);
      s.signal(flags);
      return;
    }
    // Masked response: the integer indefinite (most negative integer).
    F[O_HI] = bits === 64 ? 0x80000000 : 0;
    F[O_LO] = bits === 64 ? 0 : bits === 32 ? 0x80000000 : 0x8000;
  }
  const h = s.host;
  if (bits === 16) h.write16(ea, F[O_LO] & 0xffff);
  else {
    if (bits === 64) s.probeStore(ea, 8);
    h.write32(ea, F[O_LO]);
    if (bits === 64) h.write32(ea + 4, F[O_HI]);
  }
  s.signal(flags);
  if (pop) s.pop();
}

export function fbld(s: FpuState, ea: number): void {
  for (let i = 0; i < 10; i++) bcdBytes[i] = s.host.read8(ea + i);
  if (!pushCheck(s)) return;
  pushA(s, unpackBcd(A_SIGN));
  s.signal(0);
}

export function fbstp(s: FpuState, ea: number): void {
  const flags = s.isEmpty(0) ? SW_IE | SW_SF : toBcd(s.load(0, A_SIGN), (s.cw >>> 10) & 3);
  if (flags & SW_IE) {
    if (s.unmasked(SW_IE)) {
      s.probeStore(ea, 10, true);
      s.signal(flags);
      return;
    }
    setBcdIndefinite();
  }
  s.probeStore(ea, 10);
  for (let i = 0; i < 10; i++) s.host.write8(ea + i, bcdBytes[i]);
  s.signal(flags);
  s.pop();
}

/** FXCH ST(i). Empty operands become the indefinite (masked IE) before the exchange. */
export function fxch(s: FpuState, i: number): void {
  if (s.isEmpty(0) || s.isEmpty(i)) {
    if (!s.stackUnderflow()) return;
    if (s.isEmpty(0)) s.writeIndefinite(0);
    if (s.isEmpty(i)) s.writeIndefinite(i);
  } else {
    s.signal(0);
  }
  const se = s.se(0), hi = s.hi(0), lo = s.lo(0);
  s.copy(0, i);
  s.write(i, se, hi, lo);
}

/** FCMOVcc: condition from the escape byte's low bit and ModRM reg, evaluated on EFLAGS. */
export function fcmov(s: FpuState, esc: number, reg: number, i: number, eflags: number): void {
  let c: boolean;
  switch (reg & 3) {
    case 0:
      c = (eflags & 1) !== 0; // B: CF
      break;
    case 1:
      c = (eflags & 0x40) !== 0; // E: ZF
      break;
    case 2:
      c = (eflags & 0x41) !== 0; // BE: CF | ZF
      break;
    default:
      c = (eflags & 4) !== 0; // U: PF
  }
  if (esc & 1) c = !c;
  if (s.isEmpty(0) || s.isEmpty(i)) {
    if (s.stackUnderflow()) s.writeIndefinite(0);
    return;
  }
  // Without a stack fault the host leaves C1 (and C0/C2/C3) unchanged; the
  // SDM only says C1 is cleared on underflow. We follow the host.
  if (c) s.copy(0, i);
}

