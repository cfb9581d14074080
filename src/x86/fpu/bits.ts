// Status-word, control-word and tag constants shared by the whole FPU.

// Status word.
export const SW_IE = 0x0001; // invalid operation
export const SW_DE = 0x0002; // denormal operand
export const SW_ZE = 0x0004; // zero divide
export const SW_OE = 0x0008; // overflow
export const SW_UE = 0x0010; // underflow
export const SW_PE = 0x0020; // precision (inexact)
export const SW_SF = 0x0040; // stack fault (with IE; C1 = 1 overflow, 0 underflow)
export const SW_ES = 0x0080; // error summary: some unmasked exception is pending
export const SW_C0 = 0x0100;
export const SW_C1 = 0x0200;
export const SW_C2 = 0x0400;
export const SW_TOP = 0x3800;
export const SW_C3 = 0x4000;
export const SW_B = 0x8000; // busy: mirrors ES on 387+
export const SW_EXC = 0x003f; // the six exception flags
export const SW_CC = SW_C0 | SW_C1 | SW_C2 | SW_C3;

// Control word.
export const CW_EXC_MASKS = 0x003f; // IM DM ZM OM UM PM, same bit positions as the flags
export const CW_PC = 0x0300; // 00 = 24 bits, 10 = 53 bits, 11 = 64 bits (reserved 01 acts as 64)
export const CW_RC = 0x0c00;
export const CW_DEFAULT = 0x037f; // after FINIT

// Rounding control values (CW bits 10..11).
export const RC_NEAREST = 0;
export const RC_DOWN = 1;
export const RC_UP = 2;
export const RC_ZERO = 3;

// Tags.
export const TAG_VALID = 0;
export const TAG_ZERO = 1;
export const TAG_SPECIAL = 2;
export const TAG_EMPTY = 3;

/** Bias adjust applied to the exponent of a wrapped result when OE/UE is unmasked. */
export const WRAP_BIAS = 0x6000;

/** EFLAGS bits produced by FCOMI and friends. */
export const EFLAGS_CF = 0x0001;
export const EFLAGS_PF = 0x0004;
export const EFLAGS_ZF = 0x0040;
/** The flags FCOMI writes: ZF/PF/CF set from the comparison, OF/SF/AF cleared. */
export const EFLAGS_FCOMI_MASK = 0x08d5;
