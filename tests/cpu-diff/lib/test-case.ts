// The data model shared by generator, runners, comparator and report.
import type { InsnDef } from '../../../src/x86/table/types.ts';
import type { MachineInput, WindowPatch } from './batch-format.ts';
import type { ParsedForm } from './forms.ts';
import type { SnippetSource } from './assemble.ts';

/** One table entry at one operand size. */
export interface FormVariant {
  def: InsnDef;
  form: ParsedForm;
  osize: 16 | 32;
  /** Stable human-readable identity, e.g. `add Ev,Gv [01] o16`. */
  key: string;
}

/** A register or window dword that must hold CODE_BASE + code length (known only after assembly). */
export type EndFixup = { kind: 'reg'; reg: number } | { kind: 'mem'; offset: number };

/** What a ModRM instruction under test encodes, to re-encode it from the table entry where nasm cannot. */
export interface EncodingIntent {
  reg?: number; // ModRM.reg (when not fixed by ext)
  rm?: number; // ModRM.rm register (register forms)
  memAddr?: string; // the memory operand's [..] text (memory forms)
  imms: Array<{ value: number; bytes: number }>;
}

export interface TestCase {
  variant: FormVariant;
  /** Index of the case within its variant. */
  index: number;
  /** nasm source of the snippet: the instruction under test and what surrounds it. */
  source: SnippetSource;
  /** The instruction under test as written for nasm. */
  text: string;
  regs: Uint32Array;
  eflags: number;
  windowSeed: number;
  patches: WindowPatch[];
  fpu?: Uint8Array;
  endFixups: EndFixup[];
  /** EFLAGS bits not compared (the entry's undefined flags plus value-dependent ones). */
  undefinedFlags: number;
  /** Window byte ranges [offset, length] not compared (implementation-specific stores). */
  windowMask: Array<[number, number]>;
  /** Compare the FSAVE image; fswIgnore masks status-word bits the SDM leaves undefined. */
  compareFpu: boolean;
  fswIgnore: number;
  /** x87 results compared within a relative tolerance (transcendentals differ across CPUs). */
  fpuTolerance: number;
  /** Prefix bytes the instruction under test must carry (in any order). */
  prefixes: number[];
  /** Set when the instruction has a ModRM byte. */
  intent: EncodingIntent | null;
  /** A deliberately invalid or prefixed variant of the form. */
  derived?: 'lock' | 'modreg';
  /** After assembly: the snippet bytes (end fixups applied to the state) and how they were made. */
  code?: Uint8Array;
  note?: string;
}

export function machineInput(c: TestCase): MachineInput {
  if (!c.code) throw new Error(`case ${c.variant.key}#${c.index} was not assembled`);
  return { code: c.code, regs: c.regs, eflags: c.eflags, windowSeed: c.windowSeed, patches: c.patches, fpu: c.fpu };
}
