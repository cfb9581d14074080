// BT BTS BTR BTC (register and immediate bit offsets, register and memory
// operands, including signed offsets that reach outside the operand) and
// BSF BSR (with zero sources, where the destination must stay unchanged)
// against the host CPU.
import { describe, expect, it } from 'vitest';
import {
  type Case, AF, CF, OF, PF, SF, EBX, WINDOW_BASE, Rng, differential, encode, randomFlags, randomRegs,
} from './host.ts';

const BT_UNDEF = OF | SF | AF | PF;

function btCases(rng: Rng, per: number): Case[] {
  const cases: Case[] = [];
  for (let op = 0; op < 4; op++) {
    for (const width of [16, 32] as const) {
      for (const byImm of [false, true]) {
        for (let n = 0; n < per; n++) {
          const regs = randomRegs(rng);
          const mem = rng.int(2) === 0;
          const rm = mem ? 'mem' : rng.pick([0, 1, 2, 5, 6, 7]);
          const reg = rng.pick([0, 1, 2, 5, 6, 7].filter((r) => r !== rm));
          const window = rng.bytes(0x1000);
          // The operand sits mid-window so offsets of ±0x3800 bits (±0x700 bytes) stay inside.
          regs[EBX] = WINDOW_BASE + 0x800;
          const offset = rng.int(3) === 0 ? rng.int(width) : rng.int(0x3800 * 2) - 0x3800;
          regs[reg] = width === 16 ? (regs[reg] & ~0xffff) | (offset & 0xffff) : offset >>> 0;
          const code = byImm
            ? encode(width, null, [0x0f, 0xba], 4 + op, rm, [rng.u32() & 0xff])
            : encode(width, null, [0x0f, [0xa3, 0xab, 0xb3, 0xbb][op]], reg, rm);
          cases.push({
            name: `${['bt', 'bts', 'btr', 'btc'][op]} ${width} ${byImm ? 'ib' : 'reg'} ${mem ? 'mem' : 'reg'}`,
            code, regs, eflags: randomFlags(rng), window, undefinedFlags: BT_UNDEF,
          });
        }
      }
    }
  }
  return cases;
}

function scanCases(rng: Rng, per: number): Case[] {
  const cases: Case[] = [];
  for (const [name, op] of [['bsf', 0xbc], ['bsr', 0xbd]] as const) {
    for (const width of [16, 32] as const) {
      for (let n = 0; n < per; n++) {
        const regs = randomRegs(rng);
        const mem = rng.int(3) === 0;
        const rm = mem ? 'mem' : rng.pick([0, 1, 2, 5, 6, 7]);
        const reg = rng.pick([0, 1, 2, 5, 6, 7]);
        const src = rng.int(4) === 0 ? 0 : rng.int(2) ? 1 << rng.int(width) : rng.u32();
        const window = rng.bytes(64);
        regs[EBX] = WINDOW_BASE + 16;
        if (rm === 'mem') new DataView(window.buffer).setUint32(16, src, true);
        else regs[rm] = src >>> 0;
        cases.push({
          name: `${name} ${width} ${mem ? 'mem' : 'reg'}`,
          code: encode(width, null, [0x0f, op], reg, rm), regs, eflags: randomFlags(rng), window,
          undefinedFlags: CF | OF | SF | AF | PF,
        });
      }
    }
  }
  return cases;
}

/** LOCK is allowed on BTS/BTR/BTC with a memory operand, and #UD on BT and on registers. */
function lockCases(rng: Rng): Case[] {
  const cases: Case[] = [];
  for (const [name, code] of [
    ['lock bts [ebx], eax', [0xf0, 0x0f, 0xab, 0x03]], ['lock btr [ebx], 5', [0xf0, 0x0f, 0xba, 0x33, 5]],
    ['lock btc [ebx], eax', [0xf0, 0x0f, 0xbb, 0x03]], ['lock bt [ebx], eax', [0xf0, 0x0f, 0xa3, 0x03]],
    ['lock bt [ebx], 5', [0xf0, 0x0f, 0xba, 0x23, 5]], ['lock bts ecx, eax', [0xf0, 0x0f, 0xab, 0xc1]],
  ] as const) {
    const regs = randomRegs(rng);
    regs[EBX] = WINDOW_BASE + 16;
    regs[0] = rng.int(64);
    cases.push({ name, code: Uint8Array.from(code), regs, eflags: randomFlags(rng), window: rng.bytes(64), undefinedFlags: BT_UNDEF });
  }
  return cases;
}

describe('bit test and scan vs the host CPU', () => {
  it('LOCK on the bit operations', () => {
    const { failures, vectors } = differential(lockCases(new Rng(0x10c)));
    expect(failures).toEqual([]);
    expect(vectors.get(6)).toBe(3);
  });
  it('BT BTS BTR BTC', () => {
    expect(differential(btCases(new Rng(0xb17), 150)).failures.slice(0, 20)).toEqual([]);
  });
  it('BSF BSR', () => {
    expect(differential(scanCases(new Rng(0xb5f), 300)).failures.slice(0, 20)).toEqual([]);
  });
});

