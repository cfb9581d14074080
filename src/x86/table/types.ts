// The shape of one entry in the instruction table. The table is the single
// source of truth: the decoder, interpreter dispatch, the disassembler and
// the differential test generator all read these entries.
import type { Cpu } from '../cpu.ts';

/** Executes one decoded instruction; `i` is its slot in the decoded-instruction pool. */
export type ExecFn = (cpu: Cpu, i: number) => void;

/**
 * Operand forms follow the Intel SDM opcode-map notation:
 *  E (ModRM r/m: reg or mem), G (ModRM reg), M (ModRM memory only), R (ModRM r/m register only),
 *  I (immediate), J (relative branch), O (moffs), A (far pointer), S (segment reg in ModRM reg),
 *  C/D/T (control/debug/test reg in ModRM reg), fixed registers (AL, CL, DX, eAX, ES, ...) and '1'.
 * Size suffixes: b 8, w 16, d 32, q 64, v 16/32 by operand size, z imm 16/32 by operand size,
 *  p far pointer 32/48, a bound pair, s pseudo-descriptor (6 bytes).
 */
export type OperandForm = string;

/** Flag bits an instruction reads or writes (EFLAGS positions). */
export const enum Fl {
  CF = 1 << 0, PF = 1 << 2, AF = 1 << 4, ZF = 1 << 6, SF = 1 << 7, TF = 1 << 8, IF = 1 << 9,
  DF = 1 << 10, OF = 1 << 11,
  ARITH = CF | PF | AF | ZF | SF | OF,
}

export interface InsnDef {
  /** 0x00–0xff for one-byte opcodes, 0x0f00 | b for two-byte opcodes. */
  opcode: number;
  /** ModRM.reg selector for group opcodes (0–7). */
  ext?: number;
  /** ModRM.rm selector for opcodes that are fully distinguished by the ModRM byte (e.g. 0F 01 /7 mod=3 rm=0 = SWAPGS-like forms). */
  rm?: number;
  /** Restrict to ModRM.mod == 3 ('reg') or != 3 ('mem'). */
  mod?: 'reg' | 'mem';
  /** The mandatory prefix for the entry (0xf3 / 0xf2 / 0x66), if any. */
  prefix?: number;
  /** nasm mnemonic, lower case. */
  mnemonic: string;
  /** Operand forms, comma separated, destination first (Intel order), e.g. 'Ev,Gv'. Empty for none. */
  operands: OperandForm;
  /** Operand size this entry is for when it differs by size: 16 or 32 (omitted: both). */
  osize?: 16 | 32;
  /** Flags read and written (Fl bits); `undef` are written with undefined values. */
  flagsRead?: number;
  flagsWritten?: number;
  flagsUndefined?: number;
  /** Ends a decoded block: branches, far transfers, mode and interrupt-shadow changes. */
  endsBlock?: boolean;
  /** LOCK prefix is allowed (memory-destination forms only). */
  lockable?: boolean;
  /** REP/REPNE prefixes give a repeated string instruction. */
  rep?: boolean;
  /**
   * The handler reads or writes EIP / EIP_START other than by faulting. The
   * interpreter only keeps EIP current in the state for such entries (and for
   * block-ending and REP entries); a fault always gets the right EIP anyway.
   */
  readsEip?: boolean;
  /** Privileged (CPL 0 only), for documentation and test generation. */
  privileged?: boolean;
  exec: ExecFn;
}
