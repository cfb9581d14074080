// Shifts, rotates and double shifts against the host CPU: every group-2
// encoding (/0-/7, by 1, CL and Ib), every size, register and memory forms,
// with counts around the operand widths and the 5-bit mask.
import { describe, expect, it } from 'vitest';
import {
  type Case, type Width, AF, CF, ECX, EBX, OF, WIDTHS, Rng, differential, runTs86, encode, maskOf, memSetup, randomFlags, randomRegs,
} from './host.ts';

const NAMES = ['rol', 'ror', 'rcl', 'rcr', 'shl', 'shr', 'sal', 'sar'];
const COUNTS = [0, 1, 2, 3, 7, 8, 9, 15, 16, 17, 18, 31, 32, 33, 63, 255];

/** Flags the SDM leaves undefined for a group-2 operation at this count. */
function undefinedFor(kind: number, width: Width, count: number): number {
  const c = count & 31;
  if (c === 0) return 0;
  let u = c === 1 ? 0 : OF;
  if (kind >= 4) u |= AF;
  if ((kind === 4 || kind === 5 || kind === 6) && c >= width) u |= CF;
  return u;
}

function group2Cases(rng: Rng, perForm: number): Case[] {
  const cases: Case[] = [];
  for (let kind = 0; kind < 8; kind++) {
    for (const width of WIDTHS) {
      for (const form of ['1', 'cl', 'ib'] as const) {
        for (let n = 0; n < perForm; n++) {
          const regs = randomRegs(rng);
          const mem = rng.int(3) === 0;
          const rm = mem ? 'mem' : rng.pick([0, 2, 3, 4, 5, 6, 7]); // not ECX: it holds the count
          const window = mem ? memSetup(rng, regs) : new Uint8Array(64);
          const count = form === '1' ? 1 : n < COUNTS.length ? COUNTS[n] : rng.int(256);
          const value = rng.edgy(width);
          if (mem) new DataView(window.buffer).setUint32(16, value, true);
          else regs[rm as number] = (regs[rm as number] & ~maskOf(width)) | value;
          let code: Uint8Array;
          if (form === '1') code = encode(width, [0xd0], [0xd1], kind, rm);
          else if (form === 'cl') {
            regs[ECX] = (regs[ECX] & ~0xff) | count;
            code = encode(width, [0xd2], [0xd3], kind, rm);
          } else code = encode(width, [0xc0], [0xc1], kind, rm, [count]);
          cases.push({
            name: `${NAMES[kind]} ${width} ${form} ${mem ? 'mem' : 'reg'} count=${count}`,
            code, regs, eflags: randomFlags(rng), window,
            undefinedFlags: undefinedFor(kind, width, count),
          });
        }
      }
    }
  }
  return cases;
}

function doubleCases(rng: Rng, perForm: number): Case[] {
  const cases: Case[] = [];
  for (const [base, name] of [[0xa4, 'shld'], [0xac, 'shrd']] as const) {
    for (const width of [16, 32] as const) {
      for (const byCl of [false, true]) {
        for (let n = 0; n < perForm; n++) {
          let count = n < COUNTS.length ? COUNTS[n] : rng.int(256);
          // 16-bit counts above 16 give undefined results: not comparable.
          if (width === 16 && (count & 31) > 16) count &= 15;
          const regs = randomRegs(rng);
          const mem = rng.int(3) === 0;
          const rm = mem ? 'mem' : rng.pick([0, 2, 3, 5, 6, 7]);
          const src = rng.pick([0, 2, 5, 6, 7]);
          const window = mem ? memSetup(rng, regs) : new Uint8Array(64);
          if (!mem) regs[rm as number] = rng.edgy(32);
          if (byCl) regs[ECX] = (regs[ECX] & ~0xff) | count;
          const code = encode(width, null, [0x0f, byCl ? base + 1 : base], src === EBX && mem ? 0 : src, rm, byCl ? [] : [count]);
          const c = count & 31;
          cases.push({
            name: `${name} ${width} ${byCl ? 'cl' : 'ib'} ${mem ? 'mem' : 'reg'} count=${count}`,
            code, regs, eflags: randomFlags(rng), window,
            undefinedFlags: c === 0 ? 0 : (c === 1 ? 0 : OF) | AF,
          });
        }
      }
    }
  }
  return cases;
}

describe('shifts and rotates vs the host CPU', () => {
  it('group 2 (C0 C1 D0 D1 D2 D3, /0-/7)', () => {
    const cases = group2Cases(new Rng(0x5eed1), 80);
    expect(differential(cases).failures.slice(0, 20)).toEqual([]);
  });
  it('SHLD / SHRD', () => {
    const cases = doubleCases(new Rng(0x5eed2), 150);
    expect(differential(cases).failures.slice(0, 20)).toEqual([]);
  });
});

describe('shift values the SDM leaves undefined (P6 behaviour, ts86 only)', () => {
  // The AMD host differs from a P6 here, so these pin down the documented choice.
  it('16-bit SHLD/SHRD with counts 17..31 shift the 48-bit dest:src:dest', () => {
    const run = (code: number[], ax: number, bx: number): number => {
      const r = runTs86({ name: '', code: Uint8Array.from(code), regs: [ax, 0, 0, bx, 0x200f00, 0, 0, 0], eflags: 0, window: new Uint8Array(4) });
      return r.regs[0] & 0xffff;
    };
    expect(run([0x66, 0x0f, 0xa4, 0xd8, 20], 0x1234, 0x5678)).toBe(0x6781); // shld ax, bx, 20: src:dest << 4
    expect(run([0x66, 0x0f, 0xac, 0xd8, 20], 0x1234, 0x5678)).toBe(0x4567); // shrd ax, bx, 20: dest:src >> 4
  });
});
