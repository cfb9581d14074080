// What CPUID reports: a Pentium II-class part (family 6, model 3, stepping
// 3, the signature the CPU also leaves in EDX at reset) that advertises
// exactly the features ts86 implements. No MMX/SSE, no FXSR until the FPU
// wires FXSAVE, no MCE/MCA (machine checks are not modelled), no PSE-36.
import { S } from './state.ts';
import type { Cpu } from './cpu.ts';

export const CPU_SIGNATURE = 0x0000_0633;

/** CPUID.1:EDX feature bits. */
export const enum Feature {
  FPU = 1 << 0, VME = 1 << 1, DE = 1 << 2, PSE = 1 << 3, TSC = 1 << 4, MSR = 1 << 5, PAE = 1 << 6,
  CX8 = 1 << 8, APIC = 1 << 9, SEP = 1 << 11, MTRR = 1 << 12, PGE = 1 << 13, CMOV = 1 << 15, PAT = 1 << 16,
}

export const FEATURES_EDX = Feature.FPU | Feature.VME | Feature.DE | Feature.PSE | Feature.TSC | Feature.MSR |
  Feature.PAE | Feature.CX8 | Feature.APIC | Feature.SEP | Feature.MTRR | Feature.PGE | Feature.CMOV | Feature.PAT;

/** CPUID.80000001h:EDX: XD (NX) — PAE paging honours it once EFER.NXE is set. */
export const EXT_FEATURES_EDX = 1 << 20;

const MAX_BASIC = 2;
const MAX_EXTENDED = 0x8000_0004;

/** Leaf 2: one round of cache/TLB descriptors, as a Pentium II with 512 KiB L2 reports. */
const LEAF2 = [0x0302_0101, 0, 0, 0x0c04_0843];

function asciiWords(text: string, words: number): number[] {
  const bytes = new Uint8Array(words * 4);
  for (let k = 0; k < text.length && k < bytes.length; k++) bytes[k] = text.charCodeAt(k);
  const dv = new DataView(bytes.buffer);
  return Array.from({ length: words }, (_, k) => dv.getInt32(4 * k, true));
}

const VENDOR = asciiWords('GenuineIntel', 3); // EBX, EDX, ECX
const BRAND = asciiWords('ts86 virtual CPU', 12); // 48 bytes, NUL-padded, over leaves 80000002h–80000004h

/** Fills EAX, EBX, ECX, EDX for `leaf` (Intel: out-of-range leaves report the highest basic leaf). */
export function cpuid(cpu: Cpu, leaf: number): void {
  const st = cpu.st;
  let l = leaf >>> 0;
  if ((l > MAX_BASIC && l < 0x8000_0000) || l > MAX_EXTENDED) l = MAX_BASIC;
  let a = 0, b = 0, c = 0, d = 0;
  switch (l) {
    case 0: a = MAX_BASIC; b = VENDOR[0]; d = VENDOR[1]; c = VENDOR[2]; break;
    case 1:
      a = CPU_SIGNATURE;
      b = 0; // brand index 0, no CLFLUSH, initial APIC ID 0
      // A globally disabled local APIC (IA32_APIC_BASE.EN = 0) disappears from CPUID.
      d = FEATURES_EDX & ~(st[S.APIC_BASE_LO] & 0x800 ? 0 : Feature.APIC);
      break;
    case 2: a = LEAF2[0]; b = LEAF2[1]; c = LEAF2[2]; d = LEAF2[3]; break;
    case 0x8000_0000: a = MAX_EXTENDED; break;
    case 0x8000_0001: d = EXT_FEATURES_EDX; break;
    default: {
      const k = (l - 0x8000_0002) * 4;
      a = BRAND[k]; b = BRAND[k + 1]; c = BRAND[k + 2]; d = BRAND[k + 3];
    }
  }
  st[S.EAX] = a;
  st[S.EBX] = b;
  st[S.ECX] = c;
  st[S.EDX] = d;
}
