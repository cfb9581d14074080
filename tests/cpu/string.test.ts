// String instructions against the host CPU: MOVS CMPS STOS LODS SCAS in all
// sizes, with no prefix, REP/REPE and REPNE, both directions, segment
// overrides on the source, overlapping copies, and counts large enough to
// take the bulk RAM path and to be split across several executions.
import { describe, expect, it } from 'vitest';
import {
  type Case, DF, ECX, EDI, ESI, EAX, WINDOW_BASE, Rng, bytes, differential, randomFlags, randomRegs,
} from './host.ts';

const WINDOW = 0x10000; // the host harness maps 64 KiB; the flat runner maps exactly the window
const OPS = [
  { name: 'movs', op: 0xa4, compare: false },
  { name: 'cmps', op: 0xa6, compare: true },
  { name: 'stos', op: 0xaa, compare: false },
  { name: 'lods', op: 0xac, compare: false },
  { name: 'scas', op: 0xae, compare: true },
];
const SIZES = [1, 2, 4] as const;

/** Places an index register so `count` elements fit in [lo, hi) of the window in the direction of DF. */
function place(rng: Rng, down: boolean, span: number, lo: number, hi: number): number {
  return WINDOW_BASE + (down ? lo + span + rng.int(hi - lo - 2 * span) : lo + rng.int(hi - lo - 2 * span));
}

function stringCases(rng: Rng, per: number): Case[] {
  const cases: Case[] = [];
  for (const { name, op, compare } of OPS) {
    for (const size of SIZES) {
      for (const rep of [0, 0xf3, 0xf2]) {
        for (let n = 0; n < per; n++) {
          const regs = randomRegs(rng);
          const eflags = randomFlags(rng, true);
          const down = (eflags & DF) !== 0;
          const big = rep !== 0 && n % 8 === 7;
          const count = big ? 1000 + rng.int(3000) : rng.pick([0, 1, 2, 3, 4 + rng.int(40)]);
          const span = Math.max(count, 1) * size + 8;
          const window = rng.bytes(WINDOW);
          regs[ECX] = rep ? count : rng.u32();
          regs[ESI] = place(rng, down, span, 0, WINDOW / 2);
          regs[EDI] = place(rng, down, span, WINDOW / 2, WINDOW);
          if (compare && count > 0) {
            // A run of equal elements so REPE/REPNE stop part-way.
            const equal = rng.int(count + 1) * size;
            const si = regs[ESI] - WINDOW_BASE, di = regs[EDI] - WINDOW_BASE;
            const start = (p: number): number => (down ? p - equal + size : p);
            for (let k = 0; k < equal; k++) {
              const b = op === 0xa6 ? window[start(si) + k] : (regs[EAX] >>> (8 * (k % size))) & 0xff;
              window[start(di) + k] = b;
            }
          }
          // Source segment overrides: ES/CS/SS/DS are flat in both worlds.
          const seg = rng.int(4) === 0 ? [rng.pick([0x26, 0x2e, 0x36, 0x3e])] : [];
          const code = bytes(seg, rep ? [rep] : [], size === 2 ? [0x66] : [], size === 1 ? op : op + 1);
          cases.push({ name: `${rep ? (rep === 0xf3 ? 'rep ' : 'repne ') : ''}${name}${size} count=${count}${down ? ' std' : ''}`, code, regs, eflags, window });
        }
      }
    }
  }
  return cases;
}

/** REP MOVS with overlapping source and destination, a few bytes apart in either order. */
function overlapCases(rng: Rng): Case[] {
  const cases: Case[] = [];
  for (const size of SIZES) {
    for (let dist = -9; dist <= 9; dist++) {
      for (const down of [false, true]) {
        const regs = randomRegs(rng);
        const count = 20 + rng.int(600);
        const base = WINDOW_BASE + 0x3000 + rng.int(64);
        regs[ESI] = base;
        regs[EDI] = base + dist;
        regs[ECX] = count;
        cases.push({
          name: `rep movs${size} overlap ${dist}${down ? ' std' : ''}`,
          code: bytes(0xf3, size === 2 ? [0x66] : [], size === 1 ? 0xa4 : 0xa5),
          regs, eflags: down ? DF : 0, window: rng.bytes(WINDOW),
        });
      }
    }
  }
  return cases;
}

/** A null FS on the source faults at the first element: nothing may have changed. */
function faultCases(rng: Rng): Case[] {
  return OPS.filter((o) => o.op !== 0xaa && o.op !== 0xae).map(({ name, op }): Case => {
    const regs = randomRegs(rng);
    regs[ESI] = WINDOW_BASE + 0x100;
    regs[EDI] = WINDOW_BASE + 0x200;
    regs[ECX] = 5;
    return { name: `fs: rep ${name}`, code: bytes(0x64, 0xf3, op + 1), regs, eflags: 0, window: rng.bytes(0x400) };
  });
}

describe('string instructions vs the host CPU', () => {
  it('MOVS CMPS STOS LODS SCAS, all prefixes, sizes and directions', () => {
    expect(differential(stringCases(new Rng(0x57a), 24)).failures.slice(0, 20)).toEqual([]);
  });
  it('overlapping REP MOVS', () => {
    expect(differential(overlapCases(new Rng(0x0e1))).failures.slice(0, 20)).toEqual([]);
  });
  it('a faulting source segment stops before the first element', () => {
    const { failures, vectors } = differential(faultCases(new Rng(0xf5)));
    expect(failures).toEqual([]);
    expect(vectors.get(13)).toBe(3);
  });
});
