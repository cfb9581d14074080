// From the instruction table to assembled test cases:
//   enumerateForms   table entries -> operand-size variants, plus the excluded/unsupported lists
//   generateCases    variants -> random cases (strategies give values), one nasm run for all,
//                    encoding check against the entry, end-address fixups.
import type { InsnDef } from '../../../src/x86/table/types.ts';
import { type AsmResult, assembleAll, type SnippetSource } from './assemble.ts';
import { checkEncoding, encodeFromTable, entriesFor, sameInstruction } from './encoding.ts';
import { excludeEntry, excludeVariant } from './exclusions.ts';
import { type ParsedForm, parseForm } from './forms.ts';
import { instantiate, type Instance } from './instantiate.ts';
import { CODE_BASE, hexBytes } from './layout.ts';
import { isSizedMnemonic } from './mnemonics.ts';
import { CaseBuilder, hexImm } from './operands.ts';
import { Rng, hashString } from './rng.ts';
import { strategyFor } from './strategies/index.ts';
import type { Draft } from './strategies/types.ts';
import type { FormVariant, TestCase } from './test-case.ts';
import { dataValue, leBytes, randomEflags, type Bits } from './values.ts';

export interface SkippedForm {
  key: string;
  def: InsnDef;
  reason: string;
}

export interface Coverage {
  variants: FormVariant[];
  /** Deliberately not run (with the reason). */
  excluded: SkippedForm[];
  /** Not understood by the generator: a gap to fix here. */
  unsupported: SkippedForm[];
}

const hex2 = (n: number): string => n.toString(16).padStart(2, '0');

export function entryKey(def: InsnDef): string {
  const op = def.opcode > 0xff ? `0f ${hex2(def.opcode & 0xff)}` : hex2(def.opcode);
  const parts = [op + (def.ext !== undefined ? ` /${def.ext}` : ''), def.rm !== undefined ? `rm=${def.rm}` : '', def.mod ?? '', def.prefix !== undefined ? `pfx ${hex2(def.prefix)}` : ''];
  return `${def.mnemonic} ${def.operands || '-'} [${parts.filter(Boolean).join(' ')}]${def.osize ? ` o${def.osize}` : ''}`;
}

function sizesOf(def: InsnDef, form: ParsedForm): Array<16 | 32> {
  if (def.osize) return [def.osize];
  return form.vSized || isSizedMnemonic(def.mnemonic) ? [32, 16] : [32];
}

export function enumerateForms(table: readonly InsnDef[]): Coverage {
  const cov: Coverage = { variants: [], excluded: [], unsupported: [] };
  for (const def of table) {
    const key = entryKey(def);
    const parsed = parseForm(def);
    if (!parsed.ok) {
      (parsed.excluded ? cov.excluded : cov.unsupported).push({ key, def, reason: parsed.reason });
      continue;
    }
    const why = excludeEntry(def, parsed.form);
    if (why) {
      cov.excluded.push({ key, def, reason: why });
      continue;
    }
    for (const osize of sizesOf(def, parsed.form)) {
      const vkey = def.osize ? key : `${key} o${osize}`;
      const vwhy = excludeVariant(def, osize);
      if (vwhy) cov.excluded.push({ key: vkey, def, reason: vwhy });
      else cov.variants.push({ def, form: parsed.form, osize, key: vkey });
    }
  }
  return cov;
}

export interface GenerationProblem {
  key: string;
  text: string;
  error: string;
}

export interface GenerateOptions {
  seed: number;
  casesPerForm: number;
  /** The full table, to check that nasm's alternative encodings name the same instruction. */
  table: readonly InsnDef[];
}

function newDraft(v: FormVariant, rng: Rng): Draft {
  return {
    v, rng, b: new CaseBuilder(rng, v.osize), eflags: randomEflags(rng), pre: [], post: [], insnPrefix: '', extraPrefixes: [],
    endFixups: [], undefinedFlags: 0, windowMask: [], compareFpu: false, fswIgnore: 0, fpuTolerance: 0, memFaultChance: 0.03,
  };
}

/** Default data values: registers and memory operands get edge/random values of their width. */
function defaultValues(d: Draft, inst: Instance): void {
  for (const op of inst.ops) {
    if (op.k === 'reg') d.b.setReg(op, dataValue(d.rng, (op.bytes * 8) as Bits));
    else if (op.k === 'mem' && op.bytes !== null && op.bytes <= 4 && d.rng.chance(0.5)) d.b.patchValue(op.offset, dataValue(d.rng, (op.bytes * 8) as Bits), op.bytes);
  }
}

interface Built {
  tc: TestCase;
  source: SnippetSource;
}

function buildCase(v: FormVariant, index: number, rng: Rng, derived?: TestCase['derived'], rm?: 'reg' | 'mem'): Built {
  const d = newDraft(v, rng);
  const strategy = strategyFor(v);
  const opts = strategy.prepare?.(d) ?? {};
  const mem = { faultChance: d.memFaultChance, ...opts.mem };
  const inst = instantiate(d.b, v, { ...opts, mem, rm: rm ?? opts.rm });
  defaultValues(d, inst);
  strategy.finish?.(d, inst);
  let insn = inst.lines.map((l, i) => (i === 0 ? d.insnPrefix + l : l));
  const prefixes = [...inst.prefixes, ...d.extraPrefixes];
  let intent = inst.intent;
  if (derived === 'lock') {
    insn = ['db 0xf0', ...insn];
    prefixes.push(0xf0);
  } else if (derived === 'modreg') {
    // The memory-only form with ModRM.mod = 3: an invalid encoding (#UD).
    const imms = inst.ops.flatMap((o) => (o.k === 'imm' ? [{ value: o.value, bytes: o.bytes }] : []));
    const bytes = encodeFromTable(v, prefixes, { reg: rng.int(8), rm: rng.int(8), imms });
    insn = [`db ${Array.from(bytes, hexImm).join(', ')}`];
    intent = null;
  }
  const tc: TestCase = {
    variant: v, index, source: { pre: d.pre, insn, post: d.post }, text: d.insnPrefix + inst.text + (derived === 'lock' ? '   ; with LOCK' : derived === 'modreg' ? '   ; with ModRM.mod=3' : ''),
    regs: d.b.regs, eflags: d.eflags, windowSeed: rng.u32() | 1, patches: d.b.patches, fpu: d.fpu, endFixups: d.endFixups,
    undefinedFlags: (v.def.flagsUndefined ?? 0) | d.undefinedFlags, windowMask: d.windowMask, compareFpu: d.compareFpu,
    fswIgnore: d.fswIgnore, fpuTolerance: d.fpuTolerance, prefixes, intent, derived,
  };
  return { tc, source: tc.source };
}

/** Memory-only forms whose ModRM.mod = 3 encoding is #UD on every CPU (others are other instructions). */
const MODREG_UD = new Set(['lea', 'cmpxchg8b']);

function casesFor(v: FormVariant, opts: GenerateOptions): Built[] {
  const rng = new Rng((opts.seed ^ hashString(v.key)) >>> 0);
  const out: Built[] = [];
  for (let i = 0; i < opts.casesPerForm; i++) out.push(buildCase(v, i, rng));
  // LOCK: valid on lockable memory forms, #UD on register forms and everything else.
  const hasE = v.form.operands.some((o) => o.k === 'E');
  if (v.def.lockable) {
    out.push(buildCase(v, out.length, rng, 'lock', 'mem'));
    if (hasE && v.def.mod !== 'mem') out.push(buildCase(v, out.length, rng, 'lock', 'reg'));
  } else {
    out.push(buildCase(v, out.length, rng, 'lock'));
  }
  if (MODREG_UD.has(v.def.mnemonic) && v.def.mod !== 'reg') out.push(buildCase(v, out.length, rng, 'modreg'));
  return out;
}

/** Applies the end-address fixups now that the code length is known. */
function applyFixups(tc: TestCase): void {
  const end = CODE_BASE + tc.code!.length;
  for (const f of tc.endFixups) {
    if (f.kind === 'reg') tc.regs[f.reg] = end;
    else tc.patches.push({ offset: f.offset, bytes: leBytes(end, 4) });
  }
}

/**
 * Checks the instruction under test against its table entry. Forms nasm encodes differently
 * (or cannot spell) are encoded from the entry instead, after checking that nasm's own
 * encoding, if any, is listed in the table under the same mnemonic (a cheap cross-check of
 * the table's opcode assignments).
 */
function reconcile(tc: TestCase, r: AsmResult): 'ok' | 'table' | { error: string } {
  if (!r.ok) return tc.intent ? 'table' : { error: r.error };
  if (tc.derived === 'modreg') return 'ok';
  const insn = r.bytes.subarray(r.insnStart, r.insnEnd);
  const bad = checkEncoding(tc.variant, tc.prefixes, insn);
  if (!bad) return 'ok';
  if (!tc.intent) return { error: `nasm encoded \`${tc.text}\` as ${hexBytes(insn)}: ${bad}` };
  return 'table';
}

function crossCheck(tc: TestCase, r: AsmResult, table: readonly InsnDef[]): string | null {
  if (!r.ok) return null;
  const insn = r.bytes.subarray(r.insnStart, r.insnEnd);
  const named = entriesFor(table, insn);
  if (named.length === 0 || named.some((d) => sameInstruction(d.mnemonic, tc.variant.def.mnemonic))) return null;
  return `nasm encodes \`${tc.text}\` as ${hexBytes(insn)}, which the table lists as ${named.map((d) => d.mnemonic).join('/')}`;
}

const dbLine = (bytes: Uint8Array): string => `db ${Array.from(bytes, hexImm).join(', ')}`;

export function generateCases(variants: readonly FormVariant[], opts: GenerateOptions): { cases: TestCase[]; problems: GenerationProblem[] } {
  const built = variants.flatMap((v) => casesFor(v, opts));
  const problems: GenerationProblem[] = [];
  const cases: TestCase[] = [];
  const fail = (tc: TestCase, error: string): void => void problems.push({ key: tc.variant.key, text: tc.text, error });
  const asm = assembleAll(built.map((b) => b.source));
  const viaTable: Array<{ tc: TestCase; nasm: string }> = [];
  built.forEach(({ tc }, i) => {
    const r = asm[i]!;
    const verdict = reconcile(tc, r);
    if (verdict === 'ok') {
      tc.code = r.ok ? r.bytes : undefined;
      cases.push(tc);
    } else if (verdict === 'table') {
      const mismatch = crossCheck(tc, r, opts.table);
      if (mismatch) fail(tc, mismatch);
      else viaTable.push({ tc, nasm: r.ok ? hexBytes(r.bytes.subarray(r.insnStart, r.insnEnd)) : r.error });
    } else fail(tc, verdict.error);
  });
  // Encode from the table: memory operands get their ModRM/SIB/disp from an LEA of the same address.
  const memCases = viaTable.filter((x) => x.tc.intent!.memAddr !== undefined);
  const leas = assembleAll(memCases.map((x) => [`lea eax, ${x.tc.intent!.memAddr}`]));
  const addressing = new Map(memCases.map((x, i) => [x.tc, leas[i]!]));
  const redo: Array<{ tc: TestCase; source: SnippetSource; note: string }> = [];
  for (const { tc, nasm } of viaTable) {
    const lea = addressing.get(tc);
    if (lea && !lea.ok) {
      fail(tc, `cannot encode the address ${tc.intent!.memAddr}: ${lea.error}`);
      continue;
    }
    const bytes = encodeFromTable(tc.variant, tc.prefixes, tc.intent!, lea?.ok ? lea.bytes.subarray(1) : undefined);
    const bad = checkEncoding(tc.variant, tc.prefixes, bytes);
    if (bad) {
      fail(tc, `table encoding ${hexBytes(bytes)} of \`${tc.text}\`: ${bad}`);
      continue;
    }
    redo.push({ tc, source: { ...tc.source, insn: [dbLine(bytes)] }, note: `encoded from the table entry (nasm: ${nasm})` });
  }
  const again = assembleAll(redo.map((r) => r.source));
  redo.forEach(({ tc, source, note }, i) => {
    const r = again[i]!;
    if (!r.ok) return fail(tc, r.error);
    tc.source = source;
    tc.code = r.bytes;
    tc.note = note;
    cases.push(tc);
  });
  for (const tc of cases) applyFixups(tc);
  return { cases, problems };
}
