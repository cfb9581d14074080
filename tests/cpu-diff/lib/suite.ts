// The whole differential run: generate -> assemble -> host CPU -> ts86 -> compare.
import type { InsnDef } from '../../../src/x86/table/types.ts';
import type { NativeResult } from './batch-format.ts';
import { type Difference, type Outcome, compareOutcome } from './compare.ts';
import { type Coverage, type GenerationProblem, enumerateForms, generateCases } from './generate.ts';
import { runNative } from './native.ts';
import { type TestCase, machineInput } from './test-case.ts';
import type { Ts86Runner } from './ts86.ts';

export interface CaseVerdict {
  tc: TestCase;
  hostVector: number;
  diffs: Difference[];
  /** Both results, kept only for failing cases (a window each: 15k cases would hold ~120 MB). */
  host?: Outcome;
  emu?: Outcome;
}

export interface SuiteResult {
  coverage: Coverage;
  problems: GenerationProblem[];
  verdicts: CaseVerdict[];
  millis: { generate: number; native: number; ts86: number };
}

export interface SuiteOptions {
  seed: number;
  casesPerForm: number;
  table: readonly InsnDef[];
  ts86: Ts86Runner | null;
}

/** Cases per native run: bounds the memory held by results at once. */
const CHUNK = 4000;

export function hostOutcome(r: NativeResult): Outcome {
  return { regs: r.regs, eflags: r.eflags, eip: r.eip, vector: r.vector, errorCode: r.errorCode, fpu: r.fpu, window: r.window };
}

export function runSuite(opts: SuiteOptions): SuiteResult {
  const t0 = performance.now();
  const coverage = enumerateForms(opts.table);
  const { cases, problems } = generateCases(coverage.variants, { seed: opts.seed, casesPerForm: opts.casesPerForm, table: opts.table });
  const millis = { generate: performance.now() - t0, native: 0, ts86: 0 };
  const verdicts: CaseVerdict[] = [];
  for (let start = 0; start < cases.length; start += CHUNK) {
    const chunk = cases.slice(start, start + CHUNK);
    let t = performance.now();
    const host = runNative(chunk.map(machineInput)).map(hostOutcome);
    millis.native += performance.now() - t;
    t = performance.now();
    chunk.forEach((tc, i) => {
      const h = host[i]!;
      if (!opts.ts86) return void verdicts.push({ tc, hostVector: h.vector, diffs: [] });
      const emu = opts.ts86(tc, h.vector);
      const diffs = compareOutcome(tc, h, emu);
      verdicts.push(diffs.length ? { tc, hostVector: h.vector, diffs, host: h, emu } : { tc, hostVector: h.vector, diffs });
    });
    millis.ts86 += performance.now() - t;
  }
  return { coverage, problems, verdicts, millis };
}

/** Test grouping: one vitest test per mnemonic keeps failures visible without thousands of tests. */
export const familyOf = (def: InsnDef): string => def.mnemonic;
