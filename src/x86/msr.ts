// Model-specific registers (RDMSR/WRMSR): the TSC, SYSENTER, APIC base,
// PAT, MTRRs, EFER (NXE only), MISC_ENABLE, platform and microcode IDs.
// Values live in the CPU state area (state.ts), so snapshots carry them.
// An MSR this CPU does not have, a write to a read-only one, or a value
// with reserved bits set raises #GP(0), as on hardware.
import { S } from './state.ts';
import { Vec } from './faults.ts';
import type { Cpu } from './cpu.ts';
import { EFER_NXE } from './paging.ts';

export const enum Msr {
  TSC = 0x10, PLATFORM_ID = 0x17, APIC_BASE = 0x1b, BIOS_SIGN_ID = 0x8b, MTRRCAP = 0xfe,
  SYSENTER_CS = 0x174, SYSENTER_ESP = 0x175, SYSENTER_EIP = 0x176, MISC_ENABLE = 0x1a0,
  MTRR_PHYS_FIRST = 0x200, MTRR_PHYS_LAST = 0x20f,
  MTRR_FIX64K_00000 = 0x250, MTRR_FIX16K_80000 = 0x258, MTRR_FIX16K_A0000 = 0x259,
  MTRR_FIX4K_C0000 = 0x268, MTRR_FIX4K_F8000 = 0x26f,
  PAT = 0x277, MTRR_DEF_TYPE = 0x2ff, EFER = 0xc000_0080,
}

/** 8 variable MTRRs, fixed-range MTRRs, write-combining type supported. */
const MTRRCAP_VALUE = 0x508;
/** Microcode revision reported in BIOS_SIGN_ID[63:32]: a virtual CPU has none. */
const UCODE_REV = 0;
/** Physical-address bits above 35 (MAXPHYADDR 36) are reserved in address-holding MSRs' high words. */
const HIGH_RESERVED = 0xfffffff0 | 0;

/** Result of the last readMsr. */
export const msrValue = { lo: 0, hi: 0 };

/** Word index of a fixed-range MTRR's lo/hi pair in the state area (11 fixed, then 16 variable). */
function mtrrWord(index: number): number {
  if (index === Msr.MTRR_FIX64K_00000) return S.MTRR;
  if (index === Msr.MTRR_FIX16K_80000) return S.MTRR + 2;
  if (index === Msr.MTRR_FIX16K_A0000) return S.MTRR + 4;
  if (index >= Msr.MTRR_FIX4K_C0000 && index <= Msr.MTRR_FIX4K_F8000) return S.MTRR + 6 + 2 * (index - Msr.MTRR_FIX4K_C0000);
  if (index >= Msr.MTRR_PHYS_FIRST && index <= Msr.MTRR_PHYS_LAST) return S.MTRR + 22 + 2 * (index - Msr.MTRR_PHYS_FIRST);
  return -1;
}

/** Memory types an MTRR may hold: UC, WC, WT, WP, WB. */
function validMtrrType(t: number): boolean {
  return t === 0 || t === 1 || t === 4 || t === 5 || t === 6;
}

/** Every byte of a fixed-range MTRR (or PAT entry with UC- allowed) must be a valid type. */
function validTypeBytes(lo: number, hi: number, pat: boolean): boolean {
  for (let k = 0; k < 8; k++) {
    const t = ((k < 4 ? lo : hi) >>> (8 * (k & 3))) & 0xff;
    if (!(validMtrrType(t) || (pat && t === 7))) return false;
  }
  return true;
}

function tscOffset(cpu: Cpu): bigint {
  return (BigInt(cpu.st[S.TSC_OFFSET_HI] >>> 0) << 32n) | BigInt(cpu.st[S.TSC_OFFSET_LO] >>> 0);
}

/** The guest-visible time-stamp counter: the machine's clock plus the offset WRMSR established. */
export function readTsc(cpu: Cpu): bigint {
  return BigInt.asUintN(64, cpu.hooks.readTsc() + tscOffset(cpu));
}

const EXACT_IN_DOUBLE = 1n << 53n;
/** The TSC's low and high words, as readTscWords left them. */
export const tscWords = { lo: 0, hi: 0 };

/** readTsc split into 32-bit words (tscWords), for RDTSC and RDMSR. */
export function readTscWords(cpu: Cpu): void {
  const t = cpu.hooks.readTsc();
  const st = cpu.st;
  // Linux reads the TSC constantly (sched_clock, delays) and BigInt arithmetic
  // allocates: with no WRMSR offset and a count doubles hold exactly, split it
  // as a double.
  if (st[S.TSC_OFFSET_LO] === 0 && st[S.TSC_OFFSET_HI] === 0 && t >= 0n && t < EXACT_IN_DOUBLE) {
    const n = Number(t);
    tscWords.lo = n | 0;
    tscWords.hi = (n / 4294967296) | 0;
    return;
  }
  const u = BigInt.asUintN(64, t + tscOffset(cpu));
  tscWords.lo = Number(u & 0xffffffffn) | 0;
  tscWords.hi = Number(u >> 32n) | 0;
}

function writeTsc(cpu: Cpu, value: bigint): void {
  const offset = BigInt.asUintN(64, value - cpu.hooks.readTsc());
  cpu.st[S.TSC_OFFSET_LO] = Number(offset & 0xffffffffn) | 0;
  cpu.st[S.TSC_OFFSET_HI] = Number(offset >> 32n) | 0;
}

/** RDMSR: the value goes to msrValue; unknown MSRs raise #GP(0). */
export function readMsr(cpu: Cpu, index: number): void {
  const st = cpu.st;
  let lo = 0, hi = 0;
  switch (index >>> 0) {
    case Msr.TSC:
      readTscWords(cpu);
      lo = tscWords.lo;
      hi = tscWords.hi;
      break;
    case Msr.PLATFORM_ID: break;
    case Msr.APIC_BASE: lo = st[S.APIC_BASE_LO]; hi = st[S.APIC_BASE_HI]; break;
    case Msr.BIOS_SIGN_ID: hi = UCODE_REV; break;
    case Msr.MTRRCAP: lo = MTRRCAP_VALUE; break;
    case Msr.SYSENTER_CS: lo = st[S.SYSENTER_CS]; break;
    case Msr.SYSENTER_ESP: lo = st[S.SYSENTER_ESP]; break;
    case Msr.SYSENTER_EIP: lo = st[S.SYSENTER_EIP]; break;
    case Msr.MISC_ENABLE: lo = st[S.MISC_ENABLE]; break;
    case Msr.PAT: lo = st[S.PAT_LO]; hi = st[S.PAT_HI]; break;
    case Msr.MTRR_DEF_TYPE: lo = st[S.MTRR_DEF_TYPE]; break;
    case Msr.EFER: lo = st[S.EFER]; break;
    default: {
      const w = mtrrWord(index >>> 0);
      if (w < 0) cpu.raise(Vec.GP, 0);
      lo = st[w];
      hi = st[w + 1];
    }
  }
  msrValue.lo = lo;
  msrValue.hi = hi;
}

/** WRMSR. Returns true when the write can change how memory is translated (the caller flushes). */
export function writeMsr(cpu: Cpu, index: number, lo: number, hi: number): boolean {
  const st = cpu.st;
  const gp = (): never => cpu.raise(Vec.GP, 0);
  switch (index >>> 0) {
    case Msr.TSC:
      writeTsc(cpu, (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0));
      return false;
    case Msr.APIC_BASE:
      // Bits 7:0, 9 and 10 are reserved, BSP (bit 8) is read-only, the base has 36 bits.
      if ((lo & 0x6ff) || (hi & HIGH_RESERVED)) gp();
      st[S.APIC_BASE_LO] = (lo & ~0x100) | (st[S.APIC_BASE_LO] & 0x100);
      st[S.APIC_BASE_HI] = hi;
      return false;
    case Msr.BIOS_SIGN_ID: return false; // software writes 0 before CPUID to latch the revision
    case Msr.SYSENTER_CS: st[S.SYSENTER_CS] = lo; return false;
    case Msr.SYSENTER_ESP: st[S.SYSENTER_ESP] = lo; return false;
    case Msr.SYSENTER_EIP: st[S.SYSENTER_EIP] = lo; return false;
    case Msr.MISC_ENABLE: st[S.MISC_ENABLE] = lo; return false;
    case Msr.PAT:
      if (!validTypeBytes(lo, hi, true)) gp();
      st[S.PAT_LO] = lo;
      st[S.PAT_HI] = hi;
      return false;
    case Msr.MTRR_DEF_TYPE:
      if ((lo & ~0xcff) || hi || !validMtrrType(lo & 0xff)) gp();
      st[S.MTRR_DEF_TYPE] = lo;
      return false;
    case Msr.EFER: {
      if (lo & ~EFER_NXE || hi) gp();
      const changed = (st[S.EFER] ^ lo) !== 0;
      st[S.EFER] = lo;
      return changed;
    }
    default: {
      const w = mtrrWord(index >>> 0);
      if (w < 0) gp(); // includes the read-only PLATFORM_ID and MTRRCAP
      if (index >= Msr.MTRR_PHYS_FIRST && index <= Msr.MTRR_PHYS_LAST) {
        if (hi & HIGH_RESERVED) gp();
        const isMask = (index & 1) === 1;
        if (isMask ? (lo & 0x7ff) : ((lo & 0xf00) || !validMtrrType(lo & 0xff))) gp();
      } else if (!validTypeBytes(lo, hi, false)) {
        gp();
      }
      st[w] = lo;
      st[w + 1] = hi;
      return false;
    }
  }
}
