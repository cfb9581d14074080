// Port I/O: IN and OUT with immediate or DX port. In protected mode with
// CPL > IOPL, and always in V86 mode, the TSS I/O permission bitmap decides.
import type { InsnDef } from '../table/types.ts';
import { sized } from '../table/builders.ts';
import type { Cpu } from '../cpu.ts';
import { S, MODE_PROT, MODE_V86, FLAG_IOPL } from '../state.ts';
import { Vec } from '../faults.ts';
import { ioPermitted } from '../tss.ts';

/** Raises #GP(0) unless the current privilege may access `size` bytes at `port`. */
export function checkIo(cpu: Cpu, port: number, size: number): void {
  const st = cpu.st;
  const mode = st[S.MODE];
  if (!(mode & MODE_PROT)) return;
  if (!(mode & MODE_V86) && st[S.CPL] <= ((st[S.EFLAGS] & FLAG_IOPL) >>> 12)) return;
  if (!ioPermitted(cpu, port, size)) cpu.raise(Vec.GP, 0);
}

function dx(cpu: Cpu): number {
  return cpu.st16[S.EDX << 1];
}

function in8(cpu: Cpu, port: number): void { checkIo(cpu, port, 1); cpu.st8[0] = cpu.bus.in8(port); }
function in16(cpu: Cpu, port: number): void { checkIo(cpu, port, 2); cpu.st16[0] = cpu.bus.in16(port); }
function in32(cpu: Cpu, port: number): void { checkIo(cpu, port, 4); cpu.st[S.EAX] = cpu.bus.in32(port); }
function out8(cpu: Cpu, port: number): void { checkIo(cpu, port, 1); cpu.bus.out8(port, cpu.st8[0]); }
function out16(cpu: Cpu, port: number): void { checkIo(cpu, port, 2); cpu.bus.out16(port, cpu.st16[0]); }
function out32(cpu: Cpu, port: number): void { checkIo(cpu, port, 4); cpu.bus.out32(port, cpu.st[S.EAX]); }

// Port writes can change the machine under the CPU (reset, A20, interrupts): end the block.
const io = { privileged: true, endsBlock: true };
export const ioOps: InsnDef[] = [
  { opcode: 0xe4, mnemonic: 'in', operands: 'AL,Ib', ...io, exec: (cpu, i) => in8(cpu, cpu.pool.imm[i] & 0xff) },
  ...sized({ opcode: 0xe5, mnemonic: 'in', operands: 'eAX,Ib', ...io },
    (cpu, i) => in16(cpu, cpu.pool.imm[i] & 0xff), (cpu, i) => in32(cpu, cpu.pool.imm[i] & 0xff)),
  { opcode: 0xe6, mnemonic: 'out', operands: 'Ib,AL', ...io, exec: (cpu, i) => out8(cpu, cpu.pool.imm[i] & 0xff) },
  ...sized({ opcode: 0xe7, mnemonic: 'out', operands: 'Ib,eAX', ...io },
    (cpu, i) => out16(cpu, cpu.pool.imm[i] & 0xff), (cpu, i) => out32(cpu, cpu.pool.imm[i] & 0xff)),
  { opcode: 0xec, mnemonic: 'in', operands: 'AL,DX', ...io, exec: (cpu) => in8(cpu, dx(cpu)) },
  ...sized({ opcode: 0xed, mnemonic: 'in', operands: 'eAX,DX', ...io }, (cpu) => in16(cpu, dx(cpu)), (cpu) => in32(cpu, dx(cpu))),
  { opcode: 0xee, mnemonic: 'out', operands: 'DX,AL', ...io, exec: (cpu) => out8(cpu, dx(cpu)) },
  ...sized({ opcode: 0xef, mnemonic: 'out', operands: 'DX,eAX', ...io }, (cpu) => out16(cpu, dx(cpu)), (cpu) => out32(cpu, dx(cpu))),
];
