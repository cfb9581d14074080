// SETcc and CMOVcc against the host CPU for every condition and random
// flags; CMOVcc with a faulting memory operand must fault whatever the
// condition (FS is a null selector in both worlds, so FS: accesses #GP).
import { describe, expect, it } from 'vitest';
import { type Case, ARITH, EBX, WINDOW_BASE, Rng, bytes, differential, encode, modrm, randomRegs } from './host.ts';

function setccCases(rng: Rng, per: number): Case[] {
  const cases: Case[] = [];
  for (let cc = 0; cc < 16; cc++) {
    for (let n = 0; n < per; n++) {
      const regs = randomRegs(rng);
      const mem = rng.int(3) === 0;
      const window = rng.bytes(64);
      regs[EBX] = WINDOW_BASE + 16;
      // ModRM.reg is ignored by SETcc: use any value.
      const code = encode(8, [0x0f, 0x90 + cc], [], rng.int(8), mem ? 'mem' : rng.int(8));
      cases.push({ name: `set cc=${cc}`, code, regs, eflags: rng.u32() & ARITH, window });
    }
  }
  return cases;
}

function cmovCases(rng: Rng, per: number): Case[] {
  const cases: Case[] = [];
  for (let cc = 0; cc < 16; cc++) {
    for (const width of [16, 32] as const) {
      for (let n = 0; n < per; n++) {
        const regs = randomRegs(rng);
        const mem = rng.int(3) === 0;
        const window = rng.bytes(64);
        regs[EBX] = WINDOW_BASE + 16;
        const code = encode(width, null, [0x0f, 0x40 + cc], rng.pick([0, 1, 2, 5, 6, 7]), mem ? 'mem' : rng.int(8));
        cases.push({ name: `cmov cc=${cc} ${width}`, code, regs, eflags: rng.u32() & ARITH, window });
      }
    }
  }
  return cases;
}

/** cmovcc eax, fs:[ebx]: #GP whether or not the condition holds. */
function cmovFaultCases(rng: Rng): Case[] {
  return Array.from({ length: 32 }, (_, k): Case => {
    const regs = randomRegs(rng);
    regs[EBX] = WINDOW_BASE;
    return { name: `cmov fs fault cc=${k & 15}`, code: bytes(0x64, 0x0f, 0x40 + (k & 15), modrm(0, 0, 3)), regs, eflags: k & 16 ? ARITH : 0, window: new Uint8Array(16) };
  });
}

describe('conditional set and move vs the host CPU', () => {
  it('SETcc', () => {
    expect(differential(setccCases(new Rng(0x5e7), 40)).failures.slice(0, 20)).toEqual([]);
  });
  it('CMOVcc', () => {
    expect(differential(cmovCases(new Rng(0xc30), 30)).failures.slice(0, 20)).toEqual([]);
  });
  it('CMOVcc reads its memory operand even when the condition is false', () => {
    const { failures, vectors } = differential(cmovFaultCases(new Rng(0xfa)));
    expect(failures).toEqual([]);
    expect(vectors.get(13)).toBe(32);
  });
});
