// Public surface of the x87 FPU for the CPU core, the disassembler and tests.
export { Fpu } from './fpu.ts';
export type { FpuHost } from './host.ts';
export { ENV_PROT16, ENV_PROT32, ENV_REAL16, ENV_REAL32 } from './host.ts';
export { FPU_STATE_SIZE } from './layout.ts';
export * as fpuLayout from './layout.ts';
export {
  decodeFpu, disassembleFpu, opFlags, opName, OP_UD,
  F_CONTROL, F_ENV, F_MEM, F_NOWAIT, F_READS_EFLAGS, F_SSE3, F_WRITES_AX, F_WRITES_EFLAGS,
} from './decode.ts';
export { EFLAGS_FCOMI_MASK } from './bits.ts';
