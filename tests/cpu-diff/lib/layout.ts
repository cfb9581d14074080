// Fixed facts shared by every part of the cpu-diff suite: where the snippet and its data
// live, the register and flag encodings, and the exception vectors we compare.
// These mirror the contract of src/x86/testing/flat-runner.ts and native/harness.c.

/** Linear address of the snippet's first byte (both sides). */
export const CODE_BASE = 0x0010_0000;
/** Linear address of the data window; test cases point ESP and base registers into it. */
export const WINDOW_BASE = 0x0020_0000;
/**
 * One page: an access just past it is an unmapped-page fault on both sides, which is
 * what the fault cases rely on. (The window may be up to 64 KiB by contract.)
 */
export const WINDOW_SIZE = 4096;
/** Size of a 32-bit protected-mode FSAVE image. */
export const FPU_IMAGE_SIZE = 108;
/** Guaranteed-unmapped addresses for deliberate faults (jump/ret targets, pointers). */
export const UNMAPPED_ADDRS: readonly number[] = [0x0000_1000, 0x0030_0000, 0x0020_0000 + WINDOW_SIZE + 0x100];

/** ModRM register order. */
export const REG32 = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'] as const;
export const REG16 = ['ax', 'cx', 'dx', 'bx', 'sp', 'bp', 'si', 'di'] as const;
export const REG8 = ['al', 'cl', 'dl', 'bl', 'ah', 'ch', 'dh', 'bh'] as const;
export const SREG = ['es', 'cs', 'ss', 'ds', 'fs', 'gs'] as const;
export const EAX = 0, ECX = 1, EDX = 2, EBX = 3, ESP = 4, EBP = 5, ESI = 6, EDI = 7;

export const CF = 1 << 0, PF = 1 << 2, AF = 1 << 4, ZF = 1 << 6, SF = 1 << 7, TF = 1 << 8, DF = 1 << 10, OF = 1 << 11;
export const ARITH_FLAGS = CF | PF | AF | ZF | SF | OF;
/** The EFLAGS bits the suite sets at entry and compares at exit; IF, TF, IOPL, AC, ID... are host business. */
export const COMPARED_FLAGS = ARITH_FLAGS | DF;
export const FLAG_NAMES: ReadonlyArray<[number, string]> = [
  [CF, 'CF'], [PF, 'PF'], [AF, 'AF'], [ZF, 'ZF'], [SF, 'SF'], [DF, 'DF'], [OF, 'OF'],
];

/** Exception vectors. -1 and -2 are the harness's "none" and "timed out". */
export const VEC = { DE: 0, DB: 1, BP: 3, OF: 4, BR: 5, UD: 6, NM: 7, GP: 13, PF: 14, MF: 16, AC: 17, XM: 19 } as const;
export const VECTOR_NONE = -1;
export const VECTOR_TIMEOUT = -2;
export const VECTOR_NAMES: Record<number, string> = {
  [-1]: 'none', [-2]: 'timeout', 0: '#DE', 1: '#DB', 3: '#BP', 4: '#OF', 5: '#BR', 6: '#UD', 7: '#NM',
  10: '#TS', 11: '#NP', 12: '#SS', 13: '#GP', 14: '#PF', 16: '#MF', 17: '#AC', 19: '#XM',
};

export const hex32 = (v: number): string => (v >>> 0).toString(16).padStart(8, '0');
export const hexBytes = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ');
