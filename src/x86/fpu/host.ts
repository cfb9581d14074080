// What the FPU needs from the machine around it: guest memory at linear
// addresses. Every access may throw the CPU's own fault (e.g. #PF); the FPU
// does all its reads before any register change, and for stores it computes
// the result first, so a fault leaves the FPU state as it was (restartable).
// 64-bit, 80-bit and environment images are composed of these calls.

//
// One write16/write32 must be atomic with respect to faults: when it crosses
// a page boundary, both pages are checked before either is written (the CPU
// core's writeLin16/32 do this). Stores made of several writes (m64, m80,
// BCD, environments, FXSAVE) are made atomic by the FPU itself: before the
// first write of a store that crosses a page boundary it calls probeWrite,
// or, if the host has none, probes each page with a read and a write-back
// of one byte (FpuState.probeStore).
export interface FpuHost {
  read8(lin: number): number;
  read16(lin: number): number;
  read32(lin: number): number;
  write8(lin: number, v: number): void;
  write16(lin: number, v: number): void;
  write32(lin: number, v: number): void;
  /** Throws the fault a write to [lin, lin + size) would raise, without writing. */
  probeWrite?(lin: number, size: number): void;
}

/**
 * Where FSTENV/FLDENV/FSAVE/FRSTOR images come from: the CPU passes this for
 * each such instruction. Real-address and virtual-8086 mode use the real
 * formats; the operand size picks 16 or 32 bits.
 */
export const ENV_REAL16 = 0;
export const ENV_REAL32 = 1;
export const ENV_PROT16 = 2;
export const ENV_PROT32 = 3;
