// XADD, CMPXCHG, CMPXCHG8B, BSWAP and LOCK against the host CPU.
import { describe, expect, it } from 'vitest';
import {
  type Case, type Width, EAX, EBX, ECX, EDX, WIDTHS, WINDOW_BASE, Rng, bytes, differential, encode, maskOf, modrm,
  randomFlags, randomRegs,
} from './host.ts';

const LOCK = 0xf0;

/** Registers usable as operands (not ESP, not EBX which addresses memory). */
const REGS = [0, 1, 2, 5, 6, 7];

function xaddCases(rng: Rng, per: number): Case[] {
  const cases: Case[] = [];
  for (const width of WIDTHS) {
    for (let n = 0; n < per; n++) {
      const regs = randomRegs(rng);
      for (const r of REGS) regs[r] = rng.edgy(32);
      const mem = rng.int(2) === 0;
      const window = rng.bytes(64);
      regs[EBX] = WINDOW_BASE + 16;
      const reg = rng.pick(REGS);
      const rm = mem ? 'mem' : rng.int(4) === 0 ? reg : rng.pick(REGS);
      const prefixes = mem && rng.int(2) ? [LOCK] : [];
      cases.push({ name: `xadd ${width} ${mem ? 'mem' : 'reg'}`, code: encode(width, [0x0f, 0xc0], [0x0f, 0xc1], reg, rm, [], prefixes), regs, eflags: randomFlags(rng), window });
    }
  }
  return cases;
}

function cmpxchgCases(rng: Rng, per: number): Case[] {
  const cases: Case[] = [];
  for (const width of WIDTHS) {
    for (let n = 0; n < per; n++) {
      const regs = randomRegs(rng);
      for (const r of REGS) regs[r] = rng.edgy(32);
      const mem = rng.int(2) === 0;
      const window = rng.bytes(64);
      regs[EBX] = WINDOW_BASE + 16;
      const reg = rng.pick(REGS);
      const rm = mem ? 'mem' : rng.pick(REGS);
      const m = maskOf(width as Width);
      // Half the time the accumulator matches the destination.
      if (rng.int(2)) {
        const dst = mem ? new DataView(window.buffer).getUint32(16, true) : regs[rm as number];
        regs[EAX] = ((regs[EAX] & ~m) | (dst & m)) >>> 0;
      }
      const prefixes = mem && rng.int(2) ? [LOCK] : [];
      cases.push({ name: `cmpxchg ${width} ${mem ? 'mem' : 'reg'}`, code: encode(width, [0x0f, 0xb0], [0x0f, 0xb1], reg, rm, [], prefixes), regs, eflags: randomFlags(rng), window });
    }
  }
  return cases;
}

function cmpxchg8bCases(rng: Rng, per: number): Case[] {
  const cases: Case[] = [];
  for (let n = 0; n < per; n++) {
    const regs = randomRegs(rng);
    const window = rng.bytes(64);
    regs[EBX] = WINDOW_BASE + 16;
    regs[ECX] = rng.u32();
    if (n & 1) {
      const dv = new DataView(window.buffer);
      regs[EAX] = dv.getUint32(16, true);
      regs[EDX] = n & 2 ? dv.getUint32(20, true) : rng.u32(); // sometimes only the low half matches
    }
    // cmpxchg8b [ebx] (EBX is also the new low half; the address is taken first).
    cases.push({ name: 'cmpxchg8b', code: bytes(n & 4 ? [LOCK] : [], 0x0f, 0xc7, modrm(0, 1, 3)), regs, eflags: randomFlags(rng), window });
  }
  return cases;
}

function invalidCases(rng: Rng): Case[] {
  const c = (name: string, code: number[]): Case => ({ name, code: bytes(code), regs: randomRegs(rng), eflags: 0, window: new Uint8Array(16) });
  return [
    c('cmpxchg8b with a register operand', [0x0f, 0xc7, modrm(3, 1, 0)]),
    c('lock xadd to a register', [LOCK, 0x0f, 0xc1, modrm(3, 0, 1)]),
    c('lock cmpxchg to a register', [LOCK, 0x0f, 0xb1, modrm(3, 0, 1)]),
    c('lock bswap', [LOCK, 0x0f, 0xc8]),
  ];
}

function bswapCases(rng: Rng): Case[] {
  const cases: Case[] = [];
  for (const width of [16, 32] as const) {
    for (let r = 0; r < 8; r++) {
      if (r === 4) continue; // ESP: the snippet's stack
      const regs = randomRegs(rng);
      cases.push({ name: `bswap ${width} r${r}`, code: bytes(width === 16 ? [0x66] : [], 0x0f, 0xc8 + r), regs, eflags: randomFlags(rng), window: new Uint8Array(4) });
    }
  }
  return cases;
}

describe('atomic read-modify-write and BSWAP vs the host CPU', () => {
  it('XADD', () => {
    expect(differential(xaddCases(new Rng(0xadd), 200)).failures.slice(0, 20)).toEqual([]);
  });
  it('CMPXCHG', () => {
    expect(differential(cmpxchgCases(new Rng(0xc4c), 300)).failures.slice(0, 20)).toEqual([]);
  });
  it('CMPXCHG8B', () => {
    expect(differential(cmpxchg8bCases(new Rng(0xc8b), 200)).failures.slice(0, 20)).toEqual([]);
  });
  it('invalid encodings raise #UD', () => {
    const { failures, vectors } = differential(invalidCases(new Rng(6)));
    expect(failures).toEqual([]);
    expect(vectors.get(6)).toBe(4);
  });
  it('BSWAP (including the undefined 16-bit form: P6 and the host clear the low word)', () => {
    expect(differential(bswapCases(new Rng(0xb5))).failures).toEqual([]);
  });
});


describe('prefetch hints vs the host CPU', () => {
  it('0F 0D and 0F 18 memory forms are no-ops; 0F 18 register forms too; 0F 0D register forms #UD', () => {
    const rng = new Rng(0x0f0d);
    const cases: Case[] = [];
    for (let reg = 0; reg < 8; reg++) {
      for (const op of [0x0d, 0x18]) {
        for (const mem of [true, false]) {
          const regs = randomRegs(rng);
          regs[EBX] = WINDOW_BASE;
          cases.push({ name: `0f ${op.toString(16)} /${reg} ${mem ? 'mem' : 'reg'}`, code: bytes(0x0f, op, mem ? modrm(0, reg, 3) : modrm(3, reg, 0)), regs, eflags: randomFlags(rng), window: new Uint8Array(16) });
        }
      }
    }
    const { failures, vectors } = differential(cases);
    expect(failures).toEqual([]);
    expect(vectors.get(6)).toBe(8);
  });
});
