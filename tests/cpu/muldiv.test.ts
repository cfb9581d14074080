// MUL IMUL DIV IDIV against the host CPU: all forms and sizes, register and
// memory operands, edge values (including #DE for zero divisors, quotient
// overflow and the most negative dividend divided by -1).
import { describe, expect, it } from 'vitest';
import {
  type Case, type Width, ARITH, AF, EAX, EDX, PF, SF, ZF, WIDTHS, Rng, differential, encode, maskOf, memSetup,
  randomFlags, randomRegs,
} from './host.ts';

const MUL_UNDEF = SF | ZF | AF | PF;

/** Puts `value` into the E operand (register `rm` or the window at EBX). */
function placeE(regs: number[], window: Uint8Array, rm: number | 'mem', width: Width, value: number): void {
  if (rm === 'mem') new DataView(window.buffer).setUint32(16, value, true);
  else regs[rm] = (regs[rm] & ~maskOf(width)) | (value & maskOf(width));
}

function group3Cases(rng: Rng, per: number): Case[] {
  const cases: Case[] = [];
  for (const ext of [4, 5, 6, 7]) {
    for (const width of WIDTHS) {
      for (let n = 0; n < per; n++) {
        const regs = randomRegs(rng);
        const mem = rng.int(3) === 0;
        const window = mem ? memSetup(rng, regs) : new Uint8Array(64);
        const rm = mem ? 'mem' : rng.int(8);
        const half = width === 8 ? 8 : width;
        // Dividends: a random accumulator, often with a small high half so the quotient fits.
        regs[EAX] = rng.edgy(32);
        regs[EDX] = rng.int(4) === 0 ? rng.edgy(32) : rng.int(3) === 0 ? -1 >>> 0 : rng.int(4);
        if (width === 8) regs[EAX] = (regs[EAX] & ~0xffff) | (rng.int(2) ? rng.edgy(16) : rng.int(0x400));
        const divisor = rng.int(8) === 0 ? 0 : rng.edgy(half as Width);
        // The operand may be part of the dividend itself (AL/AH at 8 bits, eAX/eDX otherwise): then it stays.
        const inDividend = width === 8 ? rm === EAX || rm === 4 : rm === EAX || rm === EDX;
        if (!inDividend) placeE(regs, window, rm, width, divisor);
        // The most negative dividend over -1 must raise #DE.
        if (ext === 7 && n === 0 && !inDividend) {
          if (width === 32) { regs[EAX] = 0; regs[EDX] = 0x80000000; }
          if (width === 16) { regs[EAX] = (regs[EAX] & ~0xffff); regs[EDX] = (regs[EDX] & ~0xffff) | 0x8000; }
          if (width === 8) regs[EAX] = (regs[EAX] & ~0xffff) | 0x8000;
          placeE(regs, window, rm, width, -1);
        }
        cases.push({
          name: `${['mul', 'imul', 'div', 'idiv'][ext - 4]} ${width} ${mem ? 'mem' : 'reg'}`,
          code: encode(width, [0xf6], [0xf7], ext, rm), regs, eflags: randomFlags(rng), window,
          undefinedFlags: ext >= 6 ? ARITH : MUL_UNDEF,
        });
      }
    }
  }
  return cases;
}

function imulCases(rng: Rng, per: number): Case[] {
  const cases: Case[] = [];
  for (const width of [16, 32] as const) {
    for (const form of ['0faf', '69', '6b'] as const) {
      for (let n = 0; n < per; n++) {
        const regs = randomRegs(rng);
        const mem = rng.int(3) === 0;
        const window = mem ? memSetup(rng, regs) : new Uint8Array(64);
        const rm = mem ? 'mem' : rng.int(8);
        if (rm !== 'mem') regs[rm] = rng.edgy(32);
        else new DataView(window.buffer).setUint32(16, rng.edgy(width), true);
        const reg = rng.pick([0, 1, 2, 5, 6, 7]);
        regs[reg] = rng.edgy(32);
        const imm = rng.edgy(width);
        const code = form === '0faf' ? encode(width, null, [0x0f, 0xaf], reg, rm)
          : form === '69' ? encode(width, null, [0x69], reg, rm, width === 16 ? [imm & 0xff, (imm >> 8) & 0xff] : [imm & 0xff, (imm >> 8) & 0xff, (imm >> 16) & 0xff, imm >>> 24])
            : encode(width, null, [0x6b], reg, rm, [imm & 0xff]);
        cases.push({ name: `imul ${form} ${width} ${mem ? 'mem' : 'reg'}`, code, regs, eflags: randomFlags(rng), window, undefinedFlags: MUL_UNDEF });
      }
    }
  }
  return cases;
}

/**
 * 64-by-32 DIV/IDIV with full-width dividends built as q*d + r, so every
 * quotient fits (or just overflows) and the long-division path is exercised.
 */
function wideDivideCases(rng: Rng, per: number): Case[] {
  const cases: Case[] = [];
  for (const signed of [false, true]) {
    for (let n = 0; n < per; n++) {
      const regs = randomRegs(rng);
      let d = BigInt(rng.u32() >>> (rng.int(4) * 8)) || 1n;
      let q = BigInt(rng.u32()) + (n % 16 === 0 ? 1n << 32n : 0n); // some quotients overflow
      if (signed) {
        d = BigInt.asIntN(32, d) || 1n;
        q = BigInt.asIntN(32, q) + (n % 16 === 0 ? 1n << 31n : 0n);
      }
      const ad = d < 0n ? -d : d;
      let r = BigInt(rng.u32()) % ad;
      if (signed && q * d < 0n) r = -r; // the remainder takes the dividend's sign
      const dividend = BigInt.asUintN(64, q * d + r);
      regs[EAX] = Number(dividend & 0xffffffffn);
      regs[EDX] = Number(dividend >> 32n);
      regs[1] = Number(BigInt.asUintN(32, d));
      cases.push({
        name: `${signed ? 'idiv' : 'div'} ecx wide`, code: encode(32, null, [0xf7], signed ? 7 : 6, 1), regs,
        eflags: randomFlags(rng), window: new Uint8Array(4), undefinedFlags: ARITH,
      });
    }
  }
  return cases;
}

describe('multiply and divide vs the host CPU', () => {
  it('DIV/IDIV r/m32 with full 64-bit dividends', () => {
    const { failures, vectors } = differential(wideDivideCases(new Rng(0x64d), 1000));
    expect(failures.slice(0, 20)).toEqual([]);
    expect(vectors.get(0) ?? 0).toBeGreaterThan(50);
    expect(vectors.get(-1) ?? 0).toBeGreaterThan(1500);
  });
  it('F6/F7 /4-/7 (MUL IMUL DIV IDIV)', () => {
    const cases = group3Cases(new Rng(0xd1d1), 400);
    const { failures, vectors } = differential(cases);
    expect(failures.slice(0, 20)).toEqual([]);
    // The generator must reach both outcomes of division: results and #DE.
    expect(vectors.get(0) ?? 0).toBeGreaterThan(200);
    expect(vectors.get(-1) ?? 0).toBeGreaterThan(3000);
  });
  it('IMUL Gv,Ev / Gv,Ev,Iz / Gv,Ev,Ib', () => {
    const cases = imulCases(new Rng(0x1111), 300);
    expect(differential(cases).failures.slice(0, 20)).toEqual([]);
  });
});
