// The instruction table: every family's entries, in one list. Entry 0 is the
// invalid-opcode entry the decoder uses for encodings no entry claims.
import type { InsnDef } from './types.ts';
import { movOps } from '../ops/mov.ts';
import { aluOps } from '../ops/alu.ts';
import { stackOps } from '../ops/stack.ts';
import { controlOps } from '../ops/control.ts';
import { miscOps } from '../ops/misc.ts';
import { ioOps } from '../ops/io.ts';
import { systemOps } from '../ops/system.ts';
import { stringOps } from '../ops/string.ts';
import { shiftOps } from '../ops/shift.ts';
import { muldivOps } from '../ops/muldiv.ts';
import { bcdOps } from '../ops/bcd.ts';
import { bitopsOps } from '../ops/bitops.ts';
import { condOps } from '../ops/cond.ts';
import { atomicOps } from '../ops/atomic.ts';
import { segmentOps } from '../ops/segment.ts';
import { descriptor_opsOps } from '../ops/descriptor-ops.ts';
import { cpuid_msrOps } from '../ops/cpuid-msr.ts';
import { x87Ops } from '../ops/x87.ts';

export const INVALID_OPCODE: InsnDef = {
  opcode: -1, mnemonic: '(bad)', operands: '',
  exec: (cpu) => cpu.ud(),
};

export const INSTRUCTION_TOO_LONG: InsnDef = {
  opcode: -1, mnemonic: '(too long)', operands: '',
  exec: (cpu) => cpu.gp(0),
};

export const INSTRUCTIONS: readonly InsnDef[] = [
  INVALID_OPCODE, INSTRUCTION_TOO_LONG,
  ...movOps, ...aluOps, ...stackOps, ...controlOps, ...miscOps, ...ioOps, ...systemOps,
  ...stringOps, ...shiftOps, ...muldivOps, ...bcdOps, ...bitopsOps, ...condOps, ...atomicOps,
  ...segmentOps, ...descriptor_opsOps, ...cpuid_msrOps, ...x87Ops,
];

/** Interpreter dispatch: the exec function of each entry, by entry index. */
export const EXEC = INSTRUCTIONS.map((d) => d.exec);
