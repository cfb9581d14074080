// Flag-control and miscellaneous instructions: NOP and hint NOPs, CLC/STC/
// CMC/CLD/STD, CLI/STI, LAHF/SAHF, XLAT, HLT, UD2, SALC.
import type { InsnDef } from '../table/types.ts';
import { Fl } from '../table/types.ts';
import type { Cpu } from '../cpu.ts';
import { S, MODE_PROT, MODE_V86, FLAG_CF, FLAG_DF, FLAG_IF, FLAG_IOPL, FLAG_VIF, FLAG_VIP, CR4_PVI, CR4_VME } from '../state.ts';
import { Vec } from '../faults.ts';
import { A_A32 } from '../decoded.ts';
import { getCF, materializeFlags, setFlagBits } from '../flags.ts';

function iopl(cpu: Cpu): number {
  return (cpu.st[S.EFLAGS] & FLAG_IOPL) >>> 12;
}

/**
 * CLI/STI: IOPL-sensitive; with VME (V86) or PVI (CPL 3) they change VIF
 * instead, except that STI with an interrupt pending (VIP) traps so the
 * monitor can deliver it.
 */
function setInterruptFlag(cpu: Cpu, on: boolean): void {
  const st = cpu.st;
  const mode = st[S.MODE];
  let bit = FLAG_IF;
  if (mode & MODE_V86) {
    if (iopl(cpu) < 3) {
      if (!(st[S.CR + 4] & CR4_VME)) cpu.raise(Vec.GP, 0);
      bit = FLAG_VIF;
    }
  } else if ((mode & MODE_PROT) && st[S.CPL] > iopl(cpu)) {
    if (!(st[S.CR + 4] & CR4_PVI) || st[S.CPL] !== 3) cpu.raise(Vec.GP, 0);
    bit = FLAG_VIF;
  }
  if (bit === FLAG_VIF && on && (st[S.EFLAGS] & FLAG_VIP)) cpu.raise(Vec.GP, 0);
  if (on) {
    // STI holds off interrupts until after the next instruction, so "sti; hlt" cannot miss a wakeup.
    if (bit === FLAG_IF && !(st[S.EFLAGS] & FLAG_IF)) st[S.INT_SHADOW] = 1;
    st[S.EFLAGS] |= bit;
  } else {
    st[S.EFLAGS] &= ~bit;
  }
}

const flagOps: InsnDef[] = [
  { opcode: 0xf8, mnemonic: 'clc', operands: '', flagsWritten: Fl.CF, exec: (cpu) => setFlagBits(cpu.st, FLAG_CF, 0) },
  { opcode: 0xf9, mnemonic: 'stc', operands: '', flagsWritten: Fl.CF, exec: (cpu) => setFlagBits(cpu.st, FLAG_CF, FLAG_CF) },
  { opcode: 0xf5, mnemonic: 'cmc', operands: '', flagsRead: Fl.CF, flagsWritten: Fl.CF, exec: (cpu) => setFlagBits(cpu.st, FLAG_CF, getCF(cpu.st) ? 0 : FLAG_CF) },
  { opcode: 0xfc, mnemonic: 'cld', operands: '', flagsWritten: Fl.DF, exec: (cpu) => { cpu.st[S.EFLAGS] &= ~FLAG_DF; } },
  { opcode: 0xfd, mnemonic: 'std', operands: '', flagsWritten: Fl.DF, exec: (cpu) => { cpu.st[S.EFLAGS] |= FLAG_DF; } },
  { opcode: 0xfa, mnemonic: 'cli', operands: '', flagsWritten: Fl.IF, exec: (cpu) => setInterruptFlag(cpu, false) },
  { opcode: 0xfb, mnemonic: 'sti', operands: '', flagsWritten: Fl.IF, endsBlock: true, exec: (cpu) => setInterruptFlag(cpu, true) },
  {
    opcode: 0x9f, mnemonic: 'lahf', operands: '', flagsRead: Fl.ARITH & ~Fl.OF,
    exec: (cpu) => { cpu.st8[1] = (materializeFlags(cpu.st) & 0xd5) | 0x02; },
  },
  {
    opcode: 0x9e, mnemonic: 'sahf', operands: '', flagsWritten: Fl.ARITH & ~Fl.OF,
    exec: (cpu) => setFlagBits(cpu.st, 0xd5, cpu.st8[1]),
  },
];

const misc: InsnDef[] = [
  { opcode: 0x90, mnemonic: 'nop', operands: '', exec: () => {} },
  // Multi-byte NOP (0F 1F /0) and the 0F 19–1F hint space, which P6-class CPUs execute as NOPs.
  ...[0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f].map((b): InsnDef => ({
    opcode: 0x0f00 | b, mnemonic: 'nop', operands: 'Ev', exec: () => {},
  })),
  {
    opcode: 0xd7, mnemonic: 'xlatb', operands: '',
    exec: (cpu, i) => {
      const p = cpu.pool;
      const base = p.attrs[i] & A_A32 ? cpu.st[S.EBX] : cpu.st16[S.EBX << 1];
      const off = p.attrs[i] & A_A32 ? (base + cpu.st8[0]) | 0 : (base + cpu.st8[0]) & 0xffff;
      cpu.st8[0] = cpu.read8(p.seg[i], off);
    },
  },
  // SALC: undocumented but present on every P6 (AL = CF ? 0xFF : 0).
  { opcode: 0xd6, mnemonic: 'salc', operands: '', flagsRead: Fl.CF, exec: (cpu) => { cpu.st8[0] = getCF(cpu.st) ? 0xff : 0; } },
  {
    opcode: 0xf4, mnemonic: 'hlt', operands: '', privileged: true, endsBlock: true,
    exec: (cpu) => {
      if ((cpu.st[S.MODE] & MODE_PROT) && cpu.st[S.CPL] !== 0) cpu.raise(Vec.GP, 0);
      cpu.st[S.HALTED] = 1;
      cpu.st[S.BLOCK_EXIT] = 1;
    },
  },
  { opcode: 0x0f0b, mnemonic: 'ud2', operands: '', endsBlock: true, exec: (cpu) => cpu.ud() },
];

export const miscOps: InsnDef[] = [...flagOps, ...misc];
