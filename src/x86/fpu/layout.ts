// Byte layout of the x87 state inside the shared machine memory. The FPU
// module owns [base, base + FPU_STATE_SIZE); everything the FPU remembers
// between instructions lives here (nothing in JS objects), so a snapshot of
// guest memory captures it completely.

export const FPU_STATE_SIZE = 512;

/** Control word (u16). */
export const OFF_FCW = 0;
/** Status word (u16). TOP lives only here, in bits 11..13, as on hardware. */
export const OFF_FSW = 2;
/** Full tag word (u16), 2 bits per PHYSICAL register: 00 valid, 01 zero, 10 special, 11 empty. */
export const OFF_FTW = 4;
/** Last non-control opcode (u16, 11 bits: low 3 bits of the escape byte << 8 | ModRM). */
export const OFF_FOP = 6;
/** Last instruction pointer offset (u32) and code selector (u16). */
export const OFF_FIP = 8;
export const OFF_FCS = 12;
/** Last data (memory operand) pointer offset (u32) and selector (u16). */
export const OFF_FDP = 16;
export const OFF_FDS = 20;

/**
 * The 8 physical registers R0..R7, 16 bytes apart (the FXSAVE spacing):
 * bytes 0..7 the 64-bit significand (little-endian, bit 63 = explicit integer
 * bit), bytes 8..9 sign (bit 15) and 15-bit biased exponent. ST(i) is
 * physical register (TOP + i) & 7.
 */
export const OFF_REGS = 32;
export const REG_STRIDE = 16;

/** Bytes [OFF_REGS + 8 * REG_STRIDE, FPU_STATE_SIZE) are reserved (zero). */
export const OFF_RESERVED = OFF_REGS + 8 * REG_STRIDE;
