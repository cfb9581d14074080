// CPU identification and model-specific instructions: CPUID, RDTSC,
// RDMSR/WRMSR, RDPMC, and the fast system calls SYSENTER/SYSEXIT.
import type { InsnDef } from '../table/types.ts';
import type { Cpu } from '../cpu.ts';
import { S, Seg, MODE_PROT, MODE_V86, CR0_PE, CR4_TSD, CR4_PCE, FLAG_VM, FLAG_IF, FLAG_RF } from '../state.ts';
import { Vec } from '../faults.ts';
import { cpuid } from '../cpuid.ts';
import { readMsr, writeMsr, msrValue, readTscWords, tscWords } from '../msr.ts';
import { requireCpl0 } from './system.ts';

/** CPL for instructions whose privilege check applies in every mode (0 in real mode, 3 in V86 mode). */
function currentPrivilege(cpu: Cpu): number {
  const mode = cpu.st[S.MODE];
  if (mode & MODE_V86) return 3;
  return mode & MODE_PROT ? cpu.st[S.CPL] : 0;
}

function rdtsc(cpu: Cpu): void {
  const st = cpu.st;
  if ((st[S.CR + 4] & CR4_TSD) && currentPrivilege(cpu) !== 0) cpu.raise(Vec.GP, 0);
  readTscWords(cpu);
  st[S.EAX] = tscWords.lo;
  st[S.EDX] = tscWords.hi;
}

/**
 * RDPMC: counters 0 and 1 exist but never count (the event-select MSRs are
 * not modelled), so they read as 0. Outside CPL 0 it needs CR4.PCE.
 */
function rdpmc(cpu: Cpu): void {
  const st = cpu.st;
  if (!(st[S.CR + 4] & CR4_PCE) && currentPrivilege(cpu) !== 0) cpu.raise(Vec.GP, 0);
  if ((st[S.ECX] >>> 0) > 1) cpu.raise(Vec.GP, 0);
  st[S.EAX] = 0;
  st[S.EDX] = 0;
}

function rdmsr(cpu: Cpu): void {
  requireCpl0(cpu);
  readMsr(cpu, cpu.st[S.ECX]);
  cpu.st[S.EAX] = msrValue.lo;
  cpu.st[S.EDX] = msrValue.hi;
}

function wrmsr(cpu: Cpu): void {
  requireCpl0(cpu);
  const st = cpu.st;
  // EFER.NXE changes what cached translations mean.
  if (writeMsr(cpu, st[S.ECX], st[S.EAX], st[S.EDX])) cpu.flushTlb(true);
}

const FLAT_LIMIT = -1;
const CODE_RING0 = 0xc09b, DATA_RING0 = 0xc093, CODE_RING3 = 0xc0fb, DATA_RING3 = 0xc0f3;

/** Loads a flat 4 GiB segment cache without reading any descriptor, as SYSENTER/SYSEXIT do. */
function flatSegment(cpu: Cpu, seg: number, sel: number, access: number): void {
  const st = cpu.st;
  st[S.SEG_SEL + seg] = sel & 0xffff;
  st[S.SEG_BASE + seg] = 0;
  st[S.SEG_LIMIT + seg] = FLAT_LIMIT;
  st[S.SEG_ACCESS + seg] = access;
}

/** SYSENTER (SDM): to CPL 0 at SYSENTER_CS:SYSENTER_EIP with SS = CS + 8 and ESP = SYSENTER_ESP. */
function sysenter(cpu: Cpu): void {
  const st = cpu.st;
  const cs = st[S.SYSENTER_CS] & 0xffff;
  if (!(st[S.CR] & CR0_PE) || (cs & 0xfffc) === 0) cpu.raise(Vec.GP, 0);
  st[S.EFLAGS] &= ~(FLAG_VM | FLAG_IF | FLAG_RF);
  flatSegment(cpu, Seg.CS, cs & 0xfffc, CODE_RING0);
  flatSegment(cpu, Seg.SS, (cs & 0xfffc) + 8, DATA_RING0);
  st[S.CPL] = 0;
  st[S.ESP] = st[S.SYSENTER_ESP];
  st[S.EIP] = st[S.SYSENTER_EIP];
  cpu.updateMode();
}

/** SYSEXIT (SDM): from CPL 0 to CPL 3 at SYSENTER_CS+16:EDX with SS = SYSENTER_CS+24 and ESP = ECX. */
function sysexit(cpu: Cpu): void {
  const st = cpu.st;
  const cs = st[S.SYSENTER_CS] & 0xffff;
  if ((cs & 0xfffc) === 0 || !(st[S.CR] & CR0_PE) || currentPrivilege(cpu) !== 0) cpu.raise(Vec.GP, 0);
  flatSegment(cpu, Seg.CS, (cs + 16) | 3, CODE_RING3);
  flatSegment(cpu, Seg.SS, (cs + 24) | 3, DATA_RING3);
  st[S.CPL] = 3;
  st[S.ESP] = st[S.ECX];
  st[S.EIP] = st[S.EDX];
  cpu.updateMode();
}

const priv = { privileged: true };
export const cpuid_msrOps: InsnDef[] = [
  { opcode: 0x0fa2, mnemonic: 'cpuid', operands: '', exec: (cpu) => cpuid(cpu, cpu.st[S.EAX]) },
  { opcode: 0x0f31, mnemonic: 'rdtsc', operands: '', exec: rdtsc },
  { opcode: 0x0f33, mnemonic: 'rdpmc', operands: '', exec: rdpmc },
  { opcode: 0x0f32, mnemonic: 'rdmsr', operands: '', ...priv, exec: rdmsr },
  { opcode: 0x0f30, mnemonic: 'wrmsr', operands: '', ...priv, endsBlock: true, exec: wrmsr },
  { opcode: 0x0f34, mnemonic: 'sysenter', operands: '', endsBlock: true, exec: sysenter },
  { opcode: 0x0f35, mnemonic: 'sysexit', operands: '', ...priv, endsBlock: true, exec: sysexit },
];
