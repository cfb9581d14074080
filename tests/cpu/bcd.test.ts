// DAA DAS AAA AAS AAM AAD against the host CPU: every AL value with every
// AF/CF combination, random AH, and AAM/AAD with several bases (AAM 0: #DE).
import { describe, expect, it } from 'vitest';
import { type Case, AF, CF, OF, PF, SF, ZF, EAX, Rng, bytes, differential, randomRegs } from './host.ts';

const OPS: [string, number[], number][] = [
  ['daa', [0x27], OF],
  ['das', [0x2f], OF],
  ['aaa', [0x37], OF | SF | ZF | PF],
  ['aas', [0x3f], OF | SF | ZF | PF],
];

function adjustCases(rng: Rng): Case[] {
  const cases: Case[] = [];
  for (const [name, code, undef] of OPS) {
    for (let al = 0; al < 256; al++) {
      for (const flags of [0, CF, AF, CF | AF]) {
        const regs = randomRegs(rng);
        regs[EAX] = (regs[EAX] & ~0xff) | al;
        cases.push({ name, code: bytes(code), regs, eflags: flags | (rng.u32() & (SF | ZF | PF | OF)), window: new Uint8Array(4), undefinedFlags: undef });
      }
    }
  }
  return cases;
}

function aamAadCases(rng: Rng): Case[] {
  const cases: Case[] = [];
  for (const [name, op] of [['aam', 0xd4], ['aad', 0xd5]] as const) {
    for (const base of [10, 0, 1, 2, 7, 16, 0x80, 0xff]) {
      for (let n = 0; n < 64; n++) {
        const regs = randomRegs(rng);
        cases.push({ name: `${name} ${base}`, code: bytes(op, base), regs, eflags: rng.u32() & 0x8d5, window: new Uint8Array(4), undefinedFlags: OF | AF | CF });
      }
    }
  }
  return cases;
}

describe('decimal adjust vs the host CPU', () => {
  it('DAA DAS AAA AAS over all AL, AF, CF', () => {
    expect(differential(adjustCases(new Rng(0xbcd))).failures.slice(0, 20)).toEqual([]);
  });
  it('AAM AAD with several bases', () => {
    const { failures, vectors } = differential(aamAadCases(new Rng(0xbcd2)));
    expect(failures.slice(0, 20)).toEqual([]);
    expect(vectors.get(0)).toBe(64); // AAM 0
  });
});
