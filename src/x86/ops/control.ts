// Control transfers: JMP, Jcc, CALL, RET (near and far), LOOP/LOOPcc/JCXZ,
// INT n/INT3/INTO, IRET.
import type { InsnDef } from '../table/types.ts';
import { Fl } from '../table/types.ts';
import { sized } from '../table/builders.ts';
import type { Cpu } from '../cpu.ts';
import { S } from '../state.ts';
import { A_A32 } from '../decoded.ts';
import { Vec } from '../faults.ts';
import { testCondition, getZF, getOF } from '../flags.ts';
import { getE16, getE32, effectiveAddress } from '../operands.ts';
import { jumpNear, farJumpOrCall, farReturn, FarKind } from '../transfer.ts';
import { deliverInterrupt, interruptReturn, IntKind } from '../interrupts.ts';

const CC = ['o', 'no', 'b', 'nb', 'z', 'nz', 'be', 'nbe', 's', 'ns', 'p', 'np', 'l', 'nl', 'le', 'nle'];
const branch = { endsBlock: true };

function relTarget(cpu: Cpu, i: number): number {
  return cpu.st[S.EIP] + cpu.pool.imm[i];
}

const jumps: InsnDef[] = [
  ...sized({ opcode: 0xeb, mnemonic: 'jmp', operands: 'Jb', ...branch },
    (cpu, i) => jumpNear(cpu, relTarget(cpu, i), false), (cpu, i) => jumpNear(cpu, relTarget(cpu, i), true)),
  ...sized({ opcode: 0xe9, mnemonic: 'jmp', operands: 'Jz', ...branch },
    (cpu, i) => jumpNear(cpu, relTarget(cpu, i), false), (cpu, i) => jumpNear(cpu, relTarget(cpu, i), true)),
  ...sized({ opcode: 0xff, ext: 4, mnemonic: 'jmp', operands: 'Ev', ...branch },
    (cpu, i) => jumpNear(cpu, getE16(cpu, i), false), (cpu, i) => jumpNear(cpu, getE32(cpu, i), true)),
];
for (let cc = 0; cc < 16; cc++) {
  const fl = { flagsRead: Fl.ARITH, ...branch };
  const j16 = (cpu: Cpu, i: number): void => { if (testCondition(cpu.st, cc)) jumpNear(cpu, relTarget(cpu, i), false); };
  const j32 = (cpu: Cpu, i: number): void => { if (testCondition(cpu.st, cc)) jumpNear(cpu, relTarget(cpu, i), true); };
  jumps.push(...sized({ opcode: 0x70 + cc, mnemonic: 'j' + CC[cc], operands: 'Jb', ...fl }, j16, j32));
  jumps.push(...sized({ opcode: 0x0f80 + cc, mnemonic: 'j' + CC[cc], operands: 'Jz', ...fl }, j16, j32));
}

// LOOP/LOOPE/LOOPNE/JCXZ count with CX or ECX by address size.
function counter(cpu: Cpu, i: number): number {
  return cpu.pool.attrs[i] & A_A32 ? cpu.st[S.ECX] : cpu.st16[S.ECX << 1];
}
function decCounter(cpu: Cpu, i: number): number {
  if (cpu.pool.attrs[i] & A_A32) return (cpu.st[S.ECX] = cpu.st[S.ECX] - 1);
  return (cpu.st16[S.ECX << 1] = cpu.st16[S.ECX << 1] - 1);
}
type LoopCond = (cpu: Cpu, i: number) => boolean;
const loopConds: [number, string, LoopCond, number][] = [
  [0xe0, 'loopne', (cpu, i) => decCounter(cpu, i) !== 0 && !getZF(cpu.st), Fl.ZF],
  [0xe1, 'loope', (cpu, i) => decCounter(cpu, i) !== 0 && getZF(cpu.st) !== 0, Fl.ZF],
  [0xe2, 'loop', (cpu, i) => decCounter(cpu, i) !== 0, 0],
  [0xe3, 'jcxz', (cpu, i) => counter(cpu, i) === 0, 0],
];
const loops: InsnDef[] = loopConds.flatMap(([op, mnemonic, cond, read]) => sized({ opcode: op, mnemonic, operands: 'Jb', flagsRead: read, ...branch },
  (cpu, i) => { if (cond(cpu, i)) jumpNear(cpu, relTarget(cpu, i), false); },
  (cpu, i) => { if (cond(cpu, i)) jumpNear(cpu, relTarget(cpu, i), true); }));

function callNear(cpu: Cpu, target: number, o32: boolean): void {
  const ret = cpu.st[S.EIP];
  const esp = cpu.st[S.ESP];
  if (o32) cpu.push32(ret); else cpu.push16(ret);
  try { jumpNear(cpu, target, o32); } catch (e) { cpu.st[S.ESP] = esp; throw e; }
}

const calls: InsnDef[] = [
  ...sized({ opcode: 0xe8, mnemonic: 'call', operands: 'Jz', ...branch },
    (cpu, i) => callNear(cpu, relTarget(cpu, i), false), (cpu, i) => callNear(cpu, relTarget(cpu, i), true)),
  ...sized({ opcode: 0xff, ext: 2, mnemonic: 'call', operands: 'Ev', ...branch },
    (cpu, i) => callNear(cpu, getE16(cpu, i), false), (cpu, i) => callNear(cpu, getE32(cpu, i), true)),
  ...sized({ opcode: 0xc3, mnemonic: 'ret', operands: '', ...branch },
    (cpu) => { const t = cpu.peek16(0); jumpNear(cpu, t, false); cpu.pop16(); },
    (cpu) => { const t = cpu.peek32(0); jumpNear(cpu, t, true); cpu.pop32(); }),
  ...sized({ opcode: 0xc2, mnemonic: 'ret', operands: 'Iw', ...branch },
    (cpu, i) => { const t = cpu.peek16(0); jumpNear(cpu, t, false); cpu.setStackPointer(cpu.stackPointer + 2 + cpu.pool.imm[i]); },
    (cpu, i) => { const t = cpu.peek32(0); jumpNear(cpu, t, true); cpu.setStackPointer(cpu.stackPointer + 4 + cpu.pool.imm[i]); }),
];

/** Reads a far pointer (offset, then selector) from the memory operand. */
function farPointer(cpu: Cpu, i: number, o32: boolean): [number, number] {
  const seg = cpu.pool.seg[i];
  const ea = effectiveAddress(cpu, i);
  const off = o32 ? cpu.read32(seg, ea) : cpu.read16(seg, ea);
  const sel = cpu.read16(seg, (ea + (o32 ? 4 : 2)) | 0);
  return [off, sel];
}

const far: InsnDef[] = [
  ...sized({ opcode: 0xea, mnemonic: 'jmp', operands: 'Ap', ...branch },
    (cpu, i) => farJumpOrCall(cpu, FarKind.JMP, cpu.pool.imm2[i], cpu.pool.imm[i], false),
    (cpu, i) => farJumpOrCall(cpu, FarKind.JMP, cpu.pool.imm2[i], cpu.pool.imm[i], true)),
  ...sized({ opcode: 0x9a, mnemonic: 'call', operands: 'Ap', ...branch },
    (cpu, i) => farJumpOrCall(cpu, FarKind.CALL, cpu.pool.imm2[i], cpu.pool.imm[i], false),
    (cpu, i) => farJumpOrCall(cpu, FarKind.CALL, cpu.pool.imm2[i], cpu.pool.imm[i], true)),
  ...sized({ opcode: 0xff, ext: 5, mod: 'mem', mnemonic: 'jmp', operands: 'Mp', ...branch },
    (cpu, i) => { const [o, s] = farPointer(cpu, i, false); farJumpOrCall(cpu, FarKind.JMP, s, o, false); },
    (cpu, i) => { const [o, s] = farPointer(cpu, i, true); farJumpOrCall(cpu, FarKind.JMP, s, o, true); }),
  ...sized({ opcode: 0xff, ext: 3, mod: 'mem', mnemonic: 'call', operands: 'Mp', ...branch },
    (cpu, i) => { const [o, s] = farPointer(cpu, i, false); farJumpOrCall(cpu, FarKind.CALL, s, o, false); },
    (cpu, i) => { const [o, s] = farPointer(cpu, i, true); farJumpOrCall(cpu, FarKind.CALL, s, o, true); }),
  ...sized({ opcode: 0xcb, mnemonic: 'retf', operands: '', ...branch },
    (cpu) => farReturn(cpu, false, 0), (cpu) => farReturn(cpu, true, 0)),
  ...sized({ opcode: 0xca, mnemonic: 'retf', operands: 'Iw', ...branch },
    (cpu, i) => farReturn(cpu, false, cpu.pool.imm[i]), (cpu, i) => farReturn(cpu, true, cpu.pool.imm[i])),
];

const ints: InsnDef[] = [
  { opcode: 0xcc, mnemonic: 'int3', operands: '', ...branch, exec: (cpu) => deliverInterrupt(cpu, Vec.BP, IntKind.SOFTWARE, -1) },
  // INT n alone is IOPL-sensitive (and VME-redirectable) in V86 mode; INT3 and INTO are not.
  { opcode: 0xcd, mnemonic: 'int', operands: 'Ib', ...branch, exec: (cpu, i) => deliverInterrupt(cpu, cpu.pool.imm[i] & 0xff, IntKind.INTN, -1) },
  {
    opcode: 0xce, mnemonic: 'into', operands: '', flagsRead: Fl.OF, ...branch,
    exec: (cpu) => { if (getOF(cpu.st)) deliverInterrupt(cpu, Vec.OF, IntKind.SOFTWARE, -1); },
  },
  // INT1/ICEBP: a #DB trap that ignores the gate DPL.
  { opcode: 0xf1, mnemonic: 'int1', operands: '', ...branch, exec: (cpu) => deliverInterrupt(cpu, Vec.DB, IntKind.HARDWARE, -1) },
  ...sized({ opcode: 0xcf, mnemonic: 'iret', operands: '', ...branch },
    (cpu) => interruptReturn(cpu, false), (cpu) => interruptReturn(cpu, true)),
];
ints[ints.length - 1].mnemonic = 'iretd';
ints[ints.length - 2].mnemonic = 'iret';

export const controlOps: InsnDef[] = [...jumps, ...loops, ...calls, ...far, ...ints];
