// Case generators for each x87 instruction family of the differential test.

import type { OracleCase } from './oracle/native.ts';
import { Rng, type X80, anyValue, controlWord, f32, f64, near, normal, special, stateImage, statusWord, x80Bytes } from './gen.ts';

export interface Family {
  name: string;
  cases: (r: Rng, n: number) => OracleCase[];
}

const EFLAGS_IN = 0x202;

function bytes(...b: number[]): Uint8Array {
  return new Uint8Array(b);
}

/**
 * Registers ST0..ST7: the given leading values, then random fill or empty
 * (sometimes all empty or all full, so every tag pattern around the operands
 * occurs).
 */
function regsWith(r: Rng, lead: (X80 | null)[], fill = 0.3): (X80 | null)[] {
  const regs: (X80 | null)[] = [];
  if (r.chance(0.1)) fill = r.pick([0, 1]);
  for (let i = 0; i < 8; i++) regs.push(i < lead.length ? lead[i] : r.chance(fill) ? anyValue(r) : null);
  return regs;
}

/** Occasionally empties a leading register to exercise stack underflow. */
function maybeEmpty(r: Rng, v: X80): X80 | null {
  return r.chance(0.05) ? null : v;
}

/**
 * One case. The initial status word is not clean: condition bits, sticky
 * flags and SF as earlier instructions leave them (statusWord), so each
 * instruction's effect on every SW bit is compared, not only from zero.
 */
function caseOf(r: Rng, code: Uint8Array, regs: (X80 | null)[], mem: Uint8Array, cw = controlWord(r), eflags = EFLAGS_IN): OracleCase {
  const state = stateImage(cw, regs, r.int(8), statusWord(r, cw));
  const cross = crossing(r, mem.length);
  // Stale pointers, so the test sees which ones each instruction replaces.
  const dv = new DataView(state.buffer);
  dv.setUint32(12, r.u32(), true);
  dv.setUint32(16, ((r.u32() & 0x7ff) << 16) | (r.u32() & 0xffff), true);
  dv.setUint32(20, r.u32(), true);
  dv.setUint16(24, r.u32() & 0xffff, true);
  return { code, state, mem, eflags, cross };
}

/**
 * Sometimes puts a memory operand of `len` bytes across the edge of an
 * inaccessible page (OracleCase.cross): the access faults part-way, and the
 * instruction must leave the FPU and memory as they were (no partial store,
 * no status change before the fault).
 */
function crossing(r: Rng, len: number, align = 1): number {
  if (len < 2 || !r.chance(0.04)) return 0;
  const n = Math.max(1, Math.floor((1 + r.int(len - 1)) / align)) * align; // bytes on one side of the edge
  return r.chance(0.5) ? n : -n;
}

function u32le(...v: number[]): Uint8Array {
  const b = new Uint8Array(4 * v.length);
  const dv = new DataView(b.buffer);
  v.forEach((w, i) => dv.setUint32(4 * i, w >>> 0, true));
  return b;
}

const ARITH_REGS = [0, 1, 4, 5, 6, 7];

export const arithReg: Family = {
  name: 'arith st(i)',
  cases(r, n) {
    const out: OracleCase[] = [];
    for (let k = 0; k < n; k++) {
      const esc = r.pick([0xd8, 0xdc, 0xde]);
      const reg = r.pick(ARITH_REGS);
      const i = r.int(8);
      const a = anyValue(r);
      const lead: (X80 | null)[] = [maybeEmpty(r, a)];
      for (let j = 1; j <= i; j++) lead.push(anyValue(r));
      if (i > 0) lead[i] = maybeEmpty(r, near(r, a));
      out.push(caseOf(r, bytes(esc, 0xc0 | (reg << 3) | i), regsWith(r, lead), new Uint8Array(0)));
    }
    return out;
  },
};

/** A memory operand for D8/DC/DA/DE arithmetic. */
function arithOperand(r: Rng, esc: number): Uint8Array {
  switch (esc) {
    case 0xd8:
      return u32le(f32(r));
    case 0xdc: {
      const [h, l] = f64(r);
      return u32le(l, h);
    }
    case 0xda:
      return u32le(r.pick([0, 1, -1, 0x7fffffff, 0x80000000, r.u32(), r.u32() & 0xffff]));
    default:
      return u32le(r.pick([0, 1, 0xffff, 0x7fff, 0x8000, r.u32() & 0xffff])).slice(0, 2);
  }
}

export const arithMem: Family = {
  name: 'arith mem',
  cases(r, n) {
    const out: OracleCase[] = [];
    for (let k = 0; k < n; k++) {
      const esc = r.pick([0xd8, 0xdc, 0xda, 0xde]);
      const reg = r.pick(ARITH_REGS);
      out.push(caseOf(r, bytes(esc, reg << 3), regsWith(r, [maybeEmpty(r, anyValue(r))]), arithOperand(r, esc)));
    }
    return out;
  },
};

export const compare: Family = {
  name: 'compare',
  cases(r, n) {
    const out: OracleCase[] = [];
    const forms = [
      [0xd8, 0xd0], [0xd8, 0xd8], [0xdc, 0xd0], [0xdc, 0xd8], [0xde, 0xd0], [0xde, 0xd9], [0xdd, 0xe0], [0xdd, 0xe8], [0xda, 0xe9],
      [0xdb, 0xe8], [0xdb, 0xf0], [0xdf, 0xe8], [0xdf, 0xf0], [0xd9, 0xe4],
    ];
    for (let k = 0; k < n; k++) {
      const a = anyValue(r);
      if (r.chance(0.25)) {
        const esc = r.pick([0xd8, 0xdc, 0xda, 0xde]);
        out.push(caseOf(r, bytes(esc, r.pick([2, 3]) << 3), regsWith(r, [maybeEmpty(r, a)]), arithOperand(r, esc)));
        continue;
      }
      const [esc, base] = r.pick(forms);
      const fixed = base === 0xd9 || base === 0xe9 || base === 0xe4;
      const i = fixed ? (base === 0xe4 ? 0 : 1) : r.int(8);
      const lead: (X80 | null)[] = [maybeEmpty(r, a)];
      for (let j = 1; j <= i; j++) lead.push(anyValue(r));
      if (i > 0) lead[i] = maybeEmpty(r, r.chance(0.2) ? a : near(r, a));
      out.push(caseOf(r, bytes(esc, fixed ? base : base | i), regsWith(r, lead), new Uint8Array(0), controlWord(r), r.pick([0x202, 0xad7, 0x246])));
    }
    return out;
  },
};

export const loadStore: Family = {
  name: 'load/store',
  cases(r, n) {
    const out: OracleCase[] = [];
    for (let k = 0; k < n; k++) {
      const a = anyValue(r);
      const full = r.chance(0.05); // stack overflow on pushes
      const regs = regsWith(r, [maybeEmpty(r, a)], full ? 1 : 0.3);
      if (!full && r.chance(0.9)) regs[7] = null;
      switch (r.int(12)) {
        case 0:
          out.push(caseOf(r, bytes(0xd9, 0), regs, u32le(f32(r))));
          break;
        case 1: {
          const [h, l] = f64(r);
          out.push(caseOf(r, bytes(0xdd, 0), regs, u32le(l, h)));
          break;
        }
        case 2:
          out.push(caseOf(r, bytes(0xdb, 0x28), regs, x80Bytes(anyValue(r))));
          break;
        case 3:
          out.push(caseOf(r, bytes(r.pick([0xd9, 0xdd]), r.pick([0x10, 0x18])), regs, new Uint8Array(8)));
          break;
        case 4:
          out.push(caseOf(r, bytes(0xdb, 0x38), regs, new Uint8Array(10)));
          break;
        case 5: {
          const [esc, reg] = r.pick([[0xdf, 0], [0xdb, 0], [0xdf, 5]]);
          out.push(caseOf(r, bytes(esc, reg << 3), regs, u32le(r.pick([0, 1, -1, 0x80000000, r.u32()]), r.pick([0, -1, 0x80000000, r.u32()]))));
          break;
        }
        case 6:
        case 7: {
          // FIST/FISTP/FISTTP: values near integer boundaries
          const [esc, reg] = r.pick([[0xdf, 1], [0xdf, 2], [0xdf, 3], [0xdb, 1], [0xdb, 2], [0xdb, 3], [0xdd, 1], [0xdf, 7]]);
          if (r.chance(0.7)) regs[0] = intish(r);
          out.push(caseOf(r, bytes(esc, reg << 3), regs, new Uint8Array(8)));
          break;
        }
        case 8: {
          const b = new Uint8Array(10);
          for (let j = 0; j < 9; j++) b[j] = r.chance(0.9) ? (r.int(10) << 4) | r.int(10) : r.int(256);
          b[9] = r.pick([0, 0x80, r.int(256)]);
          out.push(caseOf(r, bytes(0xdf, 0x20), regs, b));
          break;
        }
        case 9:
          if (r.chance(0.7)) regs[0] = intish(r, true);
          out.push(caseOf(r, bytes(0xdf, 0x30), regs, new Uint8Array(10)));
          break;
        case 10:
          const esc = r.pick([0xd9, 0xdd, 0xdf]);
          const m = esc === 0xd9 ? r.pick([0xc0, 0xd8]) : esc === 0xdd ? r.pick([0xd0, 0xd8]) : r.pick([0xd0, 0xd8]);
          out.push(caseOf(r, bytes(esc, m | r.int(8)), regs, new Uint8Array(0)));
          break;
        default: {
          // FST m32/m64 of values around the float/double limits
          const e = r.pick([0x3fff - 126, 0x3fff - 127, 0x3fff - 149, 0x3fff - 150, 0x3fff + 127, 0x3fff + 128, 0x3fff - 1022, 0x3fff - 1023, 0x3fff - 1074, 0x3fff - 1075, 0x3fff + 1023, 0x3fff + 1024]);
          const v = normal(r, 3);
          regs[0] = { se: (v.se & 0x8000) | (e + r.int(5) - 2), hi: v.hi, lo: v.lo };
          out.push(caseOf(r, bytes(r.pick([0xd9, 0xdd]), r.pick([0x10, 0x18])), regs, new Uint8Array(8)));
        }
      }
    }
    return out;
  },
};

/** Values that are integers, halves, or near the int16/int32/int64/1e18 limits. */
function intish(r: Rng, bcd = false): X80 {
  const e = 0x3fff + (bcd ? r.pick([59, 58, 60, 0, 3, 10]) : r.pick([14, 15, 16, 30, 31, 32, 62, 63, 64, 0, 1, -1, -2]));
  const [hi, lo] = r.pick([[0x80000000, 0], [0xffffffff, 0xffffffff], [0xc0000000, 0], [0x80000000 | r.u32(), r.u32()], [0xde0b6b3a, 0x76400000]]);
  return { se: (r.int(2) << 15) | Math.max(1, e), hi, lo };
}

const UNARY = [0xfa, 0xfc, 0xfd, 0xf4, 0xf8, 0xf5, 0xe0, 0xe1, 0xe5, 0xe4];

export const unary: Family = {
  name: 'sqrt/rndint/scale/xtract/prem',
  cases(r, n) {
    const out: OracleCase[] = [];
    for (let k = 0; k < n; k++) {
      const m = r.pick(UNARY);
      let a = anyValue(r);
      let b: X80 = near(r, a);
      if (m === 0xfd && r.chance(0.8)) {
        // FSCALE: small integers-ish scale factors
        b = { se: (r.int(2) << 15) | (0x3fff + r.int(16)), hi: (0x80000000 | r.u32()) >>> 0, lo: r.u32() };
        if (r.chance(0.3)) a = normal(r, r.pick([1, 2]));
      }
      if ((m === 0xf8 || m === 0xf5) && r.chance(0.5)) {
        // FPREM: exponent differences around 0..64 and beyond
        const ea = 0x3fff + r.int(200);
        a = { se: (r.int(2) << 15) | ea, hi: (0x80000000 | r.u32()) >>> 0, lo: r.u32() };
        b = { se: (r.int(2) << 15) | (ea - r.pick([0, 1, 2, 31, 32, 62, 63, 64, 65, 90, 120]) + (r.chance(0.1) ? 1 : 0)), hi: (0x80000000 | r.u32()) >>> 0, lo: r.u32() };
      }
      const regs = regsWith(r, [maybeEmpty(r, a), maybeEmpty(r, b)]);
      if (r.chance(0.9)) regs[7] = null;
      out.push(caseOf(r, bytes(0xd9, m), regs, new Uint8Array(0)));
    }
    return out;
  },
};

export const constantsAndStack: Family = {
  name: 'constants/stack/fcmov',
  cases(r, n) {
    const out: OracleCase[] = [];
    for (let k = 0; k < n; k++) {
      const regs = regsWith(r, [maybeEmpty(r, anyValue(r)), maybeEmpty(r, anyValue(r))], 0.5);
      const c = r.int(5);
      if (c === 0) {
        if (r.chance(0.9)) regs[7] = null;
        out.push(caseOf(r, bytes(0xd9, 0xe8 + r.int(7)), regs, new Uint8Array(0)));
      } else if (c === 1) {
        out.push(caseOf(r, bytes(r.pick([0xd9, 0xdd, 0xdf]), 0xc8 | r.int(8)), regs, new Uint8Array(0)));
      } else if (c === 2) {
        out.push(caseOf(r, bytes(r.pick([0xdd, 0xdf]), 0xc0 | r.int(8)), regs, new Uint8Array(0)));
      } else if (c === 3) {
        out.push(caseOf(r, r.pick([bytes(0xd9, 0xf6), bytes(0xd9, 0xf7), bytes(0xd9, 0xd0), bytes(0xdb, 0xe0), bytes(0xdb, 0xe4)]), regs, new Uint8Array(0)));
      } else {
        out.push(caseOf(r, bytes(r.pick([0xda, 0xdb]), 0xc0 | r.int(32)), regs, new Uint8Array(0), controlWord(r), 0x202 | (r.u32() & 0x45)));
      }
    }
    return out;
  },
};

export const environment: Family = {
  name: 'env/save/restore',
  cases(r, n) {
    const out: OracleCase[] = [];
    for (let k = 0; k < n; k++) {
      const regs = regsWith(r, [], 0.6);
      const cw = controlWord(r);
      const sw = r.u32() & 0x477f & ~0x80; // condition codes and masked flags (ES is derived)
      const top = r.int(8);
      const st = stateImage(cw | (r.chance(0.5) ? 0x3f : 0), regs, top, sw & (r.chance(0.5) ? 0x4700 : 0x477f) & ~(~(cw | 0x3f) & 0x3f));
      const pre = r.chance(0.5) ? [0x66] : [];
      const c = r.int(8);
      let code: number[];
      let mem: Uint8Array = new Uint8Array(r.chance(0.5) ? 108 : 28);
      if (c === 0) code = [...pre, 0xd9, 0x30]; // fnstenv
      else if (c === 1) {
        code = [...pre, 0xd9, 0x20]; // fldenv
        mem = envImage(r, pre.length > 0);
      } else if (c === 2) code = [...pre, 0xdd, 0x30]; // fnsave
      else if (c === 3) {
        code = [...pre, 0xdd, 0x20]; // frstor
        const e = envImage(r, pre.length > 0);
        mem = new Uint8Array(e.length + 80);
        mem.set(e);
        for (let i = 0; i < 8; i++) mem.set(x80Bytes(anyValue(r)), e.length + 10 * i);
      } else if (c === 4) {
        code = [0x0f, 0xae, 0x00]; // fxsave
        mem = new Uint8Array(512);
      } else if (c === 5) {
        code = [0x0f, 0xae, 0x08]; // fxrstor
        mem = new Uint8Array(512);
        const dv = new DataView(mem.buffer);
        dv.setUint16(0, controlWord(r) | 0x3f, true);
        dv.setUint16(2, r.u32() & 0x7f7f & ~0x80, true);
        mem[4] = r.int(256);
        dv.setUint16(6, r.u32() & 0x7ff, true);
        dv.setUint32(8, r.u32(), true);
        dv.setUint16(12, r.u32(), true);
        dv.setUint32(16, r.u32(), true);
        dv.setUint16(20, r.u32(), true);
        dv.setUint32(24, 0x1f80, true);
        for (let i = 0; i < 8; i++) mem.set(x80Bytes(anyValue(r)), 32 + 16 * i);
      } else if (c === 6) {
        code = [r.pick([0xd9, 0xd9, 0xdd]), r.pick([0x28, 0x38, 0x38])]; // fldcw / fnstcw / fnstsw m16
        if (code[0] === 0xdd) code[1] = 0x38;
        mem = new Uint8Array(2);
        new DataView(mem.buffer).setUint16(0, r.u32() & 0x1f7f, true);
      } else code = [0xdb, r.pick([0xe2, 0xe3])]; // fnclex / fninit
      out.push({ code: new Uint8Array(code), state: st, mem, eflags: 0x202, cross: crossing(r, mem.length, c === 4 || c === 5 ? 16 : 1) });
    }
    return out;
  },
};

/** A random environment image (ES consistent with masks so the load never traps later in the harness). */
function envImage(r: Rng, short: boolean): Uint8Array {
  const cw = controlWord(r) | 0x3f;
  const sw = r.u32() & 0x7f7f & ~0x80;
  const tw = r.u32() & 0xffff;
  if (short) {
    const b = new Uint8Array(14);
    const dv = new DataView(b.buffer);
    [cw, sw, tw, r.u32(), r.u32(), r.u32(), r.u32()].forEach((v, i) => dv.setUint16(2 * i, v & 0xffff, true));
    return b;
  }
  const b = new Uint8Array(28);
  const dv = new DataView(b.buffer);
  [cw, sw, tw, r.u32(), r.u32() & 0x7ffffff, r.u32(), r.u32()].forEach((v, i) => dv.setUint32(4 * i, v >>> 0, true));
  return b;
}


/** Arguments inside each transcendental's documented domain, plus specials. */
function transArg(r: Rng, m: number): X80 {
  if (r.chance(0.12)) {
    // Specials, but none outside F2XM1's / FYL2XP1's domain (their results are undefined there).
    const v = special(r);
    if ((m === 0xf0 || m === 0xf9) && (v.se & 0x7fff) >= 0x3ffd && (v.se & 0x7fff) !== 0x7fff) return { se: v.se & 0x8000, hi: 0, lo: 0 };
    return v;
  }
  const v = normal(r, 3);
  const sign = v.se & 0x8000;
  switch (m) {
    case 0xf0: // F2XM1: |x| <= 1
      if (r.chance(0.05)) return { se: sign | 0x3fff, hi: 0x80000000, lo: 0 };
      return { se: sign | (0x3fff - 1 - r.int(r.chance(0.2) ? 16000 : 70)), hi: v.hi, lo: v.lo };
    case 0xf9: // FYL2XP1: |x| < 1 - sqrt(2)/2
      return { se: sign | (0x3ffd - r.int(r.chance(0.2) ? 16000 : 70)), hi: v.hi, lo: v.lo };
    case 0xf1: // FYL2X: x > 0, any magnitude, often near 1 or a power of two
      if (r.chance(0.1)) return { se: 0x3fff + r.int(64) - 32, hi: 0x80000000, lo: 0 };
      if (r.chance(0.15)) return { se: r.pick([0x3fff, 0x3ffe]), hi: r.pick([0x80000000, 0xffffffff]), lo: r.u32() };
      return { se: r.chance(0.3) ? 1 + r.int(0x7ffe) : v.se & 0x7fff, hi: v.hi, lo: v.lo };
    case 0xf3:
      return r.chance(0.3) ? normal(r) : v;
    default: // trig: up to 2^63, sometimes beyond; near multiples of pi/2
      if (r.chance(0.05)) return { se: sign | (0x3fff + 63 + r.int(3)), hi: v.hi, lo: v.lo };
      if (r.chance(0.1)) return { se: sign | 0x3fff, hi: 0xc90fdaa2, lo: 0x2168c234 + r.int(3) - 1 };
      return { se: sign | (0x3fff - 30 + r.int(93)), hi: v.hi, lo: v.lo };
  }
}

export const TRANS_OPS = [0xfe, 0xff, 0xfb, 0xf2, 0xf3, 0xf0, 0xf1, 0xf9];

export const transcendental: Family = {
  name: 'transcendental',
  cases(r, n) {
    const out: OracleCase[] = [];
    for (let k = 0; k < n; k++) {
      const m = r.pick(TRANS_OPS);
      const a = transArg(r, m);
      const b = m === 0xf1 || m === 0xf9 || m === 0xf3 ? (r.chance(0.1) ? special(r) : normal(r, 3)) : anyValue(r);
      const regs = regsWith(r, [maybeEmpty(r, a), maybeEmpty(r, b)]);
      if (r.chance(0.95)) regs[7] = null;
      out.push(caseOf(r, bytes(0xd9, m), regs, new Uint8Array(0)));
    }
    return out;
  },
};
