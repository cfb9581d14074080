// The generator, encoding checks and native oracle against a stand-in table
// (fixtures/sample-table.ts), independent of the real table and of ts86: every form must be
// generated, assembled to exactly the table's encoding, and run deterministically on the host.
import { beforeAll, describe, expect, it } from 'vitest';
import { SAMPLE_TABLE } from './fixtures/sample-table.ts';
import { compareOutcome } from './lib/compare.ts';
import { checkEncoding } from './lib/encoding.ts';
import { type Coverage, type GenerationProblem, enumerateForms, generateCases } from './lib/generate.ts';
import { VECTOR_NONE, VECTOR_TIMEOUT } from './lib/layout.ts';
import { runNative } from './lib/native.ts';
import { hostOutcome } from './lib/suite.ts';
import { type TestCase, machineInput } from './lib/test-case.ts';
import type { Outcome } from './lib/compare.ts';

const SEED = 0xc0ffee;
const PER_FORM = 12;

describe('cpu-diff generator on the sample table', () => {
  let coverage: Coverage;
  let cases: TestCase[];
  let problems: GenerationProblem[];
  let host: Outcome[];

  beforeAll(() => {
    coverage = enumerateForms(SAMPLE_TABLE);
    ({ cases, problems } = generateCases(coverage.variants, { seed: SEED, casesPerForm: PER_FORM, table: SAMPLE_TABLE }));
    host = runNative(cases.map(machineInput)).map(hostOutcome);
  });

  it('understands every operand form and excludes only with a reason', () => {
    expect(coverage.unsupported).toEqual([]);
    const reasons = new Map(coverage.excluded.map((e) => [e.def.mnemonic + ' ' + e.def.operands, e.reason]));
    for (const m of ['hlt ', 'int Ib', 'cpuid ', 'rdtsc ', 'in AL,Ib', 'call Ap', 'mov Sw,Ew', 'les Gv,Mp', 'pop DS', 'push GS', 'movaps Vps,Wps']) {
      expect(reasons.get(m), m).toBeTruthy();
    }
    expect(coverage.variants.some((v) => v.def.mnemonic === 'bswap' && v.osize === 16)).toBe(false);
  });

  it('generates and assembles every variant without problems', () => {
    expect(problems.map((p) => `${p.key}: ${p.text}: ${p.error}`)).toEqual([]);
    const covered = new Set(cases.map((c) => c.variant.key));
    expect(coverage.variants.filter((v) => !covered.has(v.key)).map((v) => v.key)).toEqual([]);
  });

  it('every instruction under test is exactly the table form (prefixes, opcode, /ext, length)', () => {
    for (const tc of cases) {
      if (tc.derived === 'modreg') continue;
      const code = tc.code!;
      // Single-instruction snippets: the whole snippet is the instruction.
      if (tc.source.pre?.length || tc.source.post?.length || tc.source.insn.length > 1) continue;
      expect(checkEncoding(tc.variant, tc.prefixes, code), `${tc.variant.key}: ${tc.text}`).toBeNull();
    }
  });

  it('re-encodes forms nasm spells differently (03 reg-reg, 0x82, sal /6, FF /0 reg)', () => {
    const noted = new Set(cases.filter((c) => c.note).map((c) => c.variant.key.split(' o')[0]));
    for (const k of ['add Gv,Ev [03]', 'cmp Eb,Ib [82 /7]', 'sal Ev,CL [d3 /6]', 'dec Ev [ff /1]']) expect(noted.has(k), k).toBe(true);
  });

  it('is deterministic for a seed', () => {
    const again = generateCases(coverage.variants.slice(0, 20), { seed: SEED, casesPerForm: 3, table: SAMPLE_TABLE }).cases;
    const once = generateCases(coverage.variants.slice(0, 20), { seed: SEED, casesPerForm: 3, table: SAMPLE_TABLE }).cases;
    expect(again.map((c) => [c.text, Array.from(c.code!), Array.from(c.regs), c.eflags, c.windowSeed])).toEqual(
      once.map((c) => [c.text, Array.from(c.code!), Array.from(c.regs), c.eflags, c.windowSeed]),
    );
  });

  it('no host run times out, and every form completes normally at least once unless it always faults by design', () => {
    expect(cases.filter((_, i) => host[i]!.vector === VECTOR_TIMEOUT).map((c) => c.text)).toEqual([]);
    const completes = new Set(cases.filter((_, i) => host[i]!.vector === VECTOR_NONE).map((c) => c.variant.key));
    // ud2 is #UD, and o16 near jmp/call truncate EIP to 16 bits, leaving the snippet (#PF).
    const alwaysFaults = /^(ud2 |jmp Jz .* o16|call Jz .* o16|call Ev .* o16|jmp Ev .* o16)/;
    expect(coverage.variants.filter((v) => !completes.has(v.key) && !alwaysFaults.test(v.key)).map((v) => v.key)).toEqual([]);
  });

  it('the oracle is deterministic: a second host run compares equal case by case', () => {
    const second = runNative(cases.map(machineInput)).map(hostOutcome);
    const mismatches = cases.flatMap((tc, i) => {
      const d = compareOutcome(tc, host[i]!, second[i]!);
      return d.length ? [`${tc.variant.key} ${tc.text}: ${JSON.stringify(d)}`] : [];
    });
    expect(mismatches).toEqual([]);
  });
});
