// The layout of the machine's shared wasm memory, and of the CPU's hot state
// inside it. This module is the only owner of these offsets: the interpreter,
// the JIT's generated code, snapshots and the UI all address state through
// these names, so they all see the same bytes without copying.
//
//   [0x000000, 0x010000)  CPU state words (this file's S.* indexes, ×4 = byte offset)
//   [0x010000, 0x410000)  software TLB: one 32-bit entry per 4 KiB linear page
//   [0x410000, 0x7ff000)  reserved for the JIT and other machine-wide tables
//   [0x7ff000, 0x7ff400)  VGA register mirror the page reads (src/devices/vga.ts)
//   [0x800000, ...)       guest physical RAM, guest address 0 at RAM_OFFSET

export const STATE_OFFSET = 0;
export const STATE_BYTES = 0x1_0000;
export const TLB_OFFSET = 0x1_0000;
export const TLB_ENTRIES = 1 << 20;
export const RAM_OFFSET = 0x80_0000;
export const WASM_PAGE = 0x1_0000;

/** Byte offset of the x87 state area (512 bytes, layout owned by src/x86/fpu/layout.ts). */
export const FPU_STATE_OFFSET = 0x800;
export const FPU_STATE_BYTES = 0x200;

/** Segment register numbers, in ModRM.reg encoding order, plus the system segments. */
export const enum Seg { ES = 0, CS = 1, SS = 2, DS = 3, FS = 4, GS = 5, LDTR = 6, TR = 7 }

/** GPR numbers in ModRM encoding order. */
export const enum Reg { EAX = 0, ECX = 1, EDX = 2, EBX = 3, ESP = 4, EBP = 5, ESI = 6, EDI = 7 }

/**
 * Int32 word indexes into the state area. GPRs come first so that ModRM
 * register numbers index them directly; word 8 is always zero so that an
 * effective-address term that is absent can still be "added" without a branch.
 */
export const enum S {
  EAX = 0, ECX = 1, EDX = 2, EBX = 3, ESP = 4, EBP = 5, ESI = 6, EDI = 7,
  ZERO = 8,
  EIP = 9,
  /** EFLAGS with the arithmetic flags possibly stale (see LAZY_*). */
  EFLAGS = 10,
  /** Lazy flags: the last flag-setting operation, its result and operands. */
  LAZY_OP = 11, LAZY_RES = 12, LAZY_A = 13, LAZY_B = 14,
  /** Which arithmetic flag bits of EFLAGS are stale and must come from LAZY_*. */
  LAZY_MASK = 15,
  CPL = 16,
  /** Start of the instruction being executed (faults restart here). */
  EIP_START = 17,
  /** Bit set of MODE_* flags, recomputed on CR0/EFLAGS.VM/CS changes. */
  MODE = 18,
  /** Pending hardware interrupt request from the PIC/APIC (1) or none (0). */
  IRQ_PENDING = 19,
  /** Instruction that set up an interrupt shadow (STI, MOV SS). */
  INT_SHADOW = 20,
  HALTED = 21,
  A20_MASK = 22,
  /** Segment registers: selector, base, limit, and access rights (descriptor bytes 5–6). */
  SEG_SEL = 32, SEG_BASE = 40, SEG_LIMIT = 48, SEG_ACCESS = 56,
  /** CR0..CR7 (CR1, CR5–7 unused). */
  CR = 64,
  /** DR0..DR7. */
  DR = 72,
  GDTR_BASE = 80, GDTR_LIMIT = 81, IDTR_BASE = 82, IDTR_LIMIT = 83,
  /** PAE page-directory-pointer entries, loaded on CR3 writes (4 × 64-bit). */
  PDPTE = 84,
  /** Time-stamp counter offset and MSRs (64-bit values as lo/hi word pairs). */
  TSC_OFFSET_LO = 96, TSC_OFFSET_HI = 97,
  SYSENTER_CS = 98, SYSENTER_ESP = 99, SYSENTER_EIP = 100,
  APIC_BASE_LO = 101, APIC_BASE_HI = 102,
  PAT_LO = 103, PAT_HI = 104,
  EFER = 105,
  MTRR_DEF_TYPE = 106,
  /** Fixed and variable MTRRs, 11 fixed + 16 variable halves, as lo/hi pairs. */
  MTRR = 108,
  MISC_ENABLE = 170,
  /** Instructions executed, as a 64-bit count split in two words. */
  ICOUNT_LO = 176, ICOUNT_HI = 177,
  /** Exception being delivered (for double-fault detection); -1 when none. */
  EXC_VECTOR = 178,
  CR2_SHADOW = 179,
  /** Set by code that must stop the current decoded block after this instruction. */
  BLOCK_EXIT = 180,
  /** Last page-fault / exception error code, for diagnostics. */
  LAST_ERROR = 181,
  WORDS = 256,
}

/** MODE bits. */
export const MODE_PROT = 1;      // CR0.PE
export const MODE_V86 = 2;       // EFLAGS.VM
export const MODE_CS32 = 4;      // CS.D: default operand/address size 32
export const MODE_SS32 = 8;      // SS.B: stack uses ESP
export const MODE_PAGING = 16;   // CR0.PG

/** CR0 bits. */
export const CR0_PE = 1, CR0_MP = 2, CR0_EM = 4, CR0_TS = 8, CR0_ET = 0x10, CR0_NE = 0x20,
  CR0_WP = 0x1_0000, CR0_AM = 0x4_0000, CR0_NW = 0x2000_0000, CR0_CD = 0x4000_0000, CR0_PG = 0x8000_0000 | 0;

/** CR4 bits. */
export const CR4_VME = 1, CR4_PVI = 2, CR4_TSD = 4, CR4_DE = 8, CR4_PSE = 0x10, CR4_PAE = 0x20,
  CR4_MCE = 0x40, CR4_PGE = 0x80, CR4_PCE = 0x100, CR4_OSFXSR = 0x200, CR4_OSXMMEXCPT = 0x400;

/** EFLAGS bits. */
export const FLAG_CF = 1, FLAG_1 = 2, FLAG_PF = 4, FLAG_AF = 0x10, FLAG_ZF = 0x40, FLAG_SF = 0x80,
  FLAG_TF = 0x100, FLAG_IF = 0x200, FLAG_DF = 0x400, FLAG_OF = 0x800, FLAG_IOPL = 0x3000,
  FLAG_NT = 0x4000, FLAG_RF = 0x1_0000, FLAG_VM = 0x2_0000, FLAG_AC = 0x4_0000, FLAG_VIF = 0x8_0000,
  FLAG_VIP = 0x10_0000, FLAG_ID = 0x20_0000;
export const FLAGS_ARITH = FLAG_CF | FLAG_PF | FLAG_AF | FLAG_ZF | FLAG_SF | FLAG_OF;

/** TLB entry bits (low 12 bits; the high 20 hold the physical page). */
export const TLB_READ = 1, TLB_WRITE = 2, TLB_USER_READ = 4, TLB_USER_WRITE = 8, TLB_GLOBAL = 16,
  TLB_NOEXEC = 32, TLB_VALID = 64;

/** Views onto the shared memory that every part of the machine uses. */
export interface MachineViews {
  memory: WebAssembly.Memory;
  /** CPU state words. */
  state: Int32Array;
  tlb: Int32Array;
  /** Guest RAM, guest physical address 0 at index 0. */
  ram8: Uint8Array;
  ram16: Uint16Array;
  ram32: Int32Array;
  ramBytes: number;
}

export function createViews(memory: WebAssembly.Memory, ramBytes: number): MachineViews {
  const buf = memory.buffer;
  return {
    memory,
    state: new Int32Array(buf, STATE_OFFSET, STATE_BYTES >> 2),
    tlb: new Int32Array(buf, TLB_OFFSET, TLB_ENTRIES),
    ram8: new Uint8Array(buf, RAM_OFFSET, ramBytes),
    ram16: new Uint16Array(buf, RAM_OFFSET, ramBytes >> 1),
    ram32: new Int32Array(buf, RAM_OFFSET, ramBytes >> 2),
    ramBytes,
  };
}
