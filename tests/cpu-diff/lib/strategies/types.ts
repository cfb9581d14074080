// A strategy knows one instruction family's semantics well enough to give its operands
// meaningful values (divisions that do and do not overflow, string counts that stay in the
// window, branches whose both targets are inside the snippet, ...).
import type { InstanceOptions, Instance } from '../instantiate.ts';
import type { CaseBuilder } from '../operands.ts';
import type { Rng } from '../rng.ts';
import type { EndFixup, FormVariant } from '../test-case.ts';

/** A test case under construction. */
export interface Draft {
  v: FormVariant;
  b: CaseBuilder;
  rng: Rng;
  eflags: number;
  fpu?: Uint8Array;
  /** Lines before/after the instruction under test, and a prefix for its line (e.g. `rep `). */
  pre: string[];
  post: string[];
  insnPrefix: string;
  /** Prefix bytes the instruction gains from insnPrefix. */
  extraPrefixes: number[];
  endFixups: EndFixup[];
  /** Value-dependent undefined EFLAGS bits, on top of the entry's flagsUndefined. */
  undefinedFlags: number;
  windowMask: Array<[number, number]>;
  compareFpu: boolean;
  fswIgnore: number;
  fpuTolerance: number;
  /** Probability that a memory operand is placed across/outside the window edge. */
  memFaultChance: number;
}

export interface Strategy {
  name: string;
  matches(v: FormVariant): boolean;
  /** Before operands exist: pin registers, pick immediates/addresses. */
  prepare?(d: Draft): InstanceOptions;
  /** After operands exist (with default values): set family-specific values and templates. */
  finish?(d: Draft, inst: Instance): void;
}

/** The first memory operand of an instance, if any. */
export function memOp(inst: Instance) {
  return inst.ops.find((o): o is Extract<typeof o, { k: 'mem' }> => o.k === 'mem');
}

/** The register operands of an instance. */
export function regOps(inst: Instance) {
  return inst.ops.filter((o): o is Extract<typeof o, { k: 'reg' }> => o.k === 'reg');
}
