// The comparator must catch real differences and ignore exactly what the SDM leaves
// undefined (per-case flag masks, masked window ranges, x87 status bits, tolerances).
import { describe, expect, it } from 'vitest';
import { SAMPLE_TABLE } from './fixtures/sample-table.ts';
import { type Outcome, compareOutcome } from './lib/compare.ts';
import { enumerateForms } from './lib/generate.ts';
import { AF, CF, OF, VEC, VECTOR_NONE, VECTOR_TIMEOUT, WINDOW_SIZE, ZF } from './lib/layout.ts';
import { formatFailure } from './lib/report.ts';
import type { TestCase } from './lib/test-case.ts';
import { FSAVE, fsaveDefault, writeExtended } from './lib/x87-image.ts';

const variant = enumerateForms(SAMPLE_TABLE).variants[0]!;

function tc(extra: Partial<TestCase> = {}): TestCase {
  return {
    variant, index: 0, source: { insn: ['add al, bl'] }, text: 'add al, bl', regs: new Uint32Array(8), eflags: 2, windowSeed: 1, patches: [],
    endFixups: [], undefinedFlags: 0, windowMask: [], compareFpu: false, fswIgnore: 0, fpuTolerance: 0, prefixes: [], intent: null,
    code: Uint8Array.of(0x00, 0xd8), ...extra,
  };
}

function outcome(extra: Partial<Outcome> = {}): Outcome {
  return { regs: Uint32Array.of(1, 2, 3, 4, 5, 6, 7, 8), eflags: 0x2 | CF | ZF, eip: 0x100002, vector: VECTOR_NONE, fpu: fsaveDefault(), window: new Uint8Array(WINDOW_SIZE), ...extra };
}

const clone = (o: Outcome): Outcome => ({ ...o, regs: o.regs.slice(), fpu: o.fpu.slice(), window: o.window.slice() });

describe('cpu-diff comparator', () => {
  it('equal outcomes have no differences', () => {
    expect(compareOutcome(tc(), outcome(), outcome())).toEqual([]);
  });

  it('reports a register, a defined flag, EIP, the exception and window bytes', () => {
    const h = outcome();
    const e = clone(h);
    e.regs[3] = 99;
    e.eflags ^= OF;
    e.window[17] = 5;
    const d = compareOutcome(tc(), h, e).map((x) => x.what);
    expect(d).toEqual(['ebx', 'eflags', 'window +0x11 (1 byte(s) differ)']);
    expect(compareOutcome(tc(), h, { ...clone(h), vector: VEC.GP }).map((x) => x.what)).toEqual(['exception']);
    expect(compareOutcome(tc(), h, { ...clone(h), eip: 0x100001 }).map((x) => x.what)).toEqual(['eip']);
  });

  it('ignores undefined flags, masked window ranges and ignored x87 status bits', () => {
    const h = outcome();
    const e = clone(h);
    e.eflags ^= AF;
    e.window[100] ^= 0xff;
    new DataView(e.fpu.buffer).setUint16(FSAVE.FSW, 0x4100, true); // C3, C0
    expect(compareOutcome(tc({ undefinedFlags: AF, windowMask: [[96, 8]], compareFpu: true, fswIgnore: 0x4500 }), h, e)).toEqual([]);
    expect(compareOutcome(tc({ compareFpu: true }), h, e).map((x) => x.what)).toEqual(['eflags', 'window +0x64 (1 byte(s) differ)', 'x87 FSW']);
  });

  it('compares x87 registers exactly, or within the tolerance for transcendentals', () => {
    const h = outcome();
    const e = clone(h);
    writeExtended(h.fpu, FSAVE.ST0, 1.0000000000000002);
    writeExtended(e.fpu, FSAVE.ST0, 1);
    expect(compareOutcome(tc({ compareFpu: true }), h, e).map((x) => x.what)).toEqual(['x87 ST(0)']);
    expect(compareOutcome(tc({ compareFpu: true, fpuTolerance: 2 ** -50 }), h, e)).toEqual([]);
  });

  it('checks the #PF error code bits when ts86 reports one', () => {
    const h = outcome({ vector: VEC.PF, errorCode: 6 });
    expect(compareOutcome(tc(), h, { ...clone(h), errorCode: 4 }).map((x) => x.what)).toEqual(['#PF error code (P W U)']);
    expect(compareOutcome(tc(), h, { ...clone(h), errorCode: undefined })).toEqual([]);
  });

  it('flags a host timeout and a ts86 crash as failures', () => {
    expect(compareOutcome(tc(), outcome({ vector: VECTOR_TIMEOUT }), outcome())).toHaveLength(1);
    expect(compareOutcome(tc(), outcome(), outcome({ crash: 'threw TypeError' }))).toHaveLength(1);
  });

  it('formats a readable report with the nasm line, bytes, both results and the differences', () => {
    const h = outcome();
    const e = clone(h);
    e.regs[0] = 0x1234;
    const text = formatFailure(tc(), h, e, compareOutcome(tc(), h, e));
    expect(text).toContain('nasm:    add al, bl');
    expect(text).toContain('bytes:   00 d8');
    expect(text).toContain('eax: host 00000001  ts86 00001234');
  });
});
