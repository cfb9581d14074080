// Differential CPU test: every form of the instruction table (src/x86/table) runs with random
// and edge operands on the host CPU (native/harness.c) and in ts86 (runFlatSnippet from
// src/x86/testing/flat-runner.ts); registers, defined flags, EIP, exceptions, the data window
// and x87 state must agree.
//
//   CPU_DIFF_SEED=<n>|0x<hex>|random   case generation seed (default fixed, printed)
//   CPU_DIFF_CASES=<n>                 random cases per form (default below)
//
// One vitest test per mnemonic; each failure prints the nasm line, bytes, initial state and
// both results. The run ends with one summary line `cpu-diff: F forms, N cases, P passed, X failed`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InsnDef } from '../../src/x86/table/types.ts';
import { formatFailure, summaryLine } from './lib/report.ts';
import { type CaseVerdict, type SuiteResult, familyOf, runSuite } from './lib/suite.ts';
import { FLAT_RUNNER, TABLE_MODULE, type Ts86Runner, loadTs86, moduleExists } from './lib/ts86.ts';

const DEFAULT_SEED = 0x5eed_0001;
/** Sized so the whole suite stays well under 3 minutes on a loaded 2-core machine. */
const DEFAULT_CASES = 32;
/** Detailed reports per failing form (the rest are counted). */
const REPORTS_PER_FORM = 3;

function envSeed(): number {
  const s = process.env.CPU_DIFF_SEED;
  if (!s) return DEFAULT_SEED;
  if (s === 'random') return (Math.random() * 0x1_0000_0000) >>> 0;
  const n = Number(s);
  if (!Number.isInteger(n)) throw new Error(`CPU_DIFF_SEED must be an integer or 'random', not '${s}'`);
  return n >>> 0;
}

function envCases(): number {
  const s = process.env.CPU_DIFF_CASES;
  const n = s ? Number(s) : DEFAULT_CASES;
  if (!Number.isInteger(n) || n < 1) throw new Error(`CPU_DIFF_CASES must be a positive integer, not '${s}'`);
  return n;
}

const table: readonly InsnDef[] | null = moduleExists(TABLE_MODULE) ? (await import('../../src/x86/table/index.ts')).INSTRUCTIONS : null;
const ts86: Ts86Runner | null = table ? await loadTs86() : null;
const seed = envSeed();
const casesPerForm = envCases();

/** Mnemonics in table order: the vitest tests. */
const families = table ? [...new Set(table.filter((d) => d.opcode >= 0).map(familyOf))] : [];

describe(`cpu-diff: host CPU vs ts86 (seed ${seed}, ${casesPerForm} cases per form)`, () => {
  let result: SuiteResult;
  const byFamily = new Map<string, CaseVerdict[]>();

  beforeAll(() => {
    console.log(`cpu-diff: seed ${seed} (CPU_DIFF_SEED=${seed} reproduces), ${casesPerForm} cases per form${ts86 ? '' : `; ${FLAT_RUNNER} missing: host side only`}`);
    result = runSuite({ seed, casesPerForm, table: table!, ts86 });
    for (const v of result.verdicts) {
      const f = familyOf(v.tc.variant.def);
      byFamily.set(f, [...(byFamily.get(f) ?? []), v]);
    }
    const m = result.millis;
    console.log(`cpu-diff: generate+assemble ${m.generate.toFixed(0)} ms, host ${m.native.toFixed(0)} ms, ts86 ${m.ts86.toFixed(0)} ms`);
    const reasons = new Map<string, number>();
    for (const e of result.coverage.excluded) reasons.set(e.reason, (reasons.get(e.reason) ?? 0) + 1);
    console.log(`cpu-diff: excluded ${result.coverage.excluded.length} entries: ${[...reasons].map(([r, n]) => `${n} ${r}`).join('; ')}`);
  });

  afterAll(() => {
    if (!result) return;
    const compared = ts86 ? result.verdicts : [];
    const failed = compared.filter((v) => v.diffs.length > 0).length;
    console.log(summaryLine(result.coverage.variants.length, result.verdicts.length, compared.length - failed, failed));
  });

  it('covers every table form, or excludes it with a reason', () => {
    const problems = new Map<string, number>();
    for (const p of result.problems) {
      const k = `${p.key}: \`${p.text}\`: ${p.error}`.replace(/0x[0-9a-f]+/g, 'N');
      problems.set(k, (problems.get(k) ?? 0) + 1);
    }
    const gaps = [...result.coverage.unsupported.map((u) => `${u.key}: ${u.reason}`), ...[...problems].map(([k, n]) => `${k} (${n} cases)`)];
    expect(gaps, 'forms the generator cannot produce (extend tests/cpu-diff/lib)').toEqual([]);
    expect(result.verdicts.length).toBeGreaterThan(0);
  });

  for (const family of families) {
    it(`${family}`, () => {
      const verdicts = byFamily.get(family) ?? [];
      const failing = verdicts.filter((v) => v.diffs.length > 0);
      if (!failing.length) return;
      const byForm = new Map<string, CaseVerdict[]>();
      for (const v of failing) byForm.set(v.tc.variant.key, [...(byForm.get(v.tc.variant.key) ?? []), v]);
      const sections = [...byForm].map(([key, vs]) => {
        const total = verdicts.filter((v) => v.tc.variant.key === key).length;
        const shown = vs.slice(0, REPORTS_PER_FORM).map((v) => formatFailure(v.tc, v.host!, v.emu!, v.diffs));
        return [`${key}: ${vs.length}/${total} cases differ`, ...shown].join('\n');
      });
      expect.fail(`${failing.length}/${verdicts.length} ${family} cases differ from the host CPU (seed ${seed})\n\n${sections.join('\n\n')}`);
    });
  }
});

if (!table) {
  describe('cpu-diff', () => {
    it.skip(`${TABLE_MODULE} does not exist yet`, () => {});
  });
}
