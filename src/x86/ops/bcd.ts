// Decimal adjustment: DAA DAS AAA AAS AAM AAD.
//
// Defined flags follow the SDM. The undefined ones get the P6 values Bochs
// documents ("validated against Intel Pentium family hardware", "seems to
// match the P6"): OF = 0 for DAA/DAS/AAA/AAS; SF ZF PF from the final AL for
// AAA/AAS; OF AF CF = 0 for AAM/AAD. (The AMD host used by the tests differs
// here: it sets OF as the signed overflow of the correction for DAA/DAS and
// takes PF from the intermediate AL±6 for AAA/AAS.)
import type { InsnDef } from '../table/types.ts';
import { Fl } from '../table/types.ts';
import type { Cpu } from '../cpu.ts';
import { FLAG_CF, FLAG_AF } from '../state.ts';
import { Vec } from '../faults.ts';
import { getAF, getCF, SZ8 } from '../flags.ts';
import { setResultFlags } from '../flags.ts';

/** AL's adjustment condition shared by all four add/subtract adjusts. */
function lowNibbleNeedsAdjust(cpu: Cpu): boolean {
  return (cpu.st8[0] & 0x0f) > 9 || getAF(cpu.st) !== 0;
}

/** DAA (sign +1) and DAS (sign -1): packed BCD adjust after ADD / SUB. */
function decimalAdjust(cpu: Cpu, sign: number): void {
  const old = cpu.st8[0];
  const oldCf = getCF(cpu.st);
  let al = old, cf = 0, af = 0;
  if (lowNibbleNeedsAdjust(cpu)) {
    // The low-digit correction can itself carry (DAA) or borrow (DAS) out of AL.
    cf = oldCf | (sign > 0 ? +(old > 0xf9) : +(old < 6));
    al = (al + 6 * sign) & 0xff;
    af = FLAG_AF;
  }
  if (old > 0x99 || oldCf) {
    al = (al + 0x60 * sign) & 0xff;
    cf = FLAG_CF;
  }
  cpu.st8[0] = al;
  setResultFlags(cpu.st, SZ8, al, cf | af);
}

/** AAA (sign +1) and AAS (sign -1): unpacked BCD adjust; AX moves by ±0x106 as a word (P6). */
function asciiAdjust(cpu: Cpu, sign: number): void {
  let f = 0;
  if (lowNibbleNeedsAdjust(cpu)) {
    cpu.st16[0] += 0x106 * sign;
    f = FLAG_CF | FLAG_AF;
  }
  const al = (cpu.st8[0] &= 0x0f);
  setResultFlags(cpu.st, SZ8, al, f);
}

function aam(cpu: Cpu, base: number): void {
  if (base === 0) cpu.raise(Vec.DE);
  const al = cpu.st8[0];
  cpu.st8[1] = Math.floor(al / base);
  cpu.st8[0] = al % base;
  setResultFlags(cpu.st, SZ8, cpu.st8[0], 0);
}

function aad(cpu: Cpu, base: number): void {
  const al = (cpu.st8[0] + cpu.st8[1] * base) & 0xff;
  cpu.st16[0] = al;
  setResultFlags(cpu.st, SZ8, al, 0);
}

const AC = Fl.AF | Fl.CF;
export const bcdOps: InsnDef[] = [
  { opcode: 0x27, mnemonic: 'daa', operands: '', flagsRead: AC, flagsWritten: Fl.ARITH, flagsUndefined: Fl.OF, exec: (cpu) => decimalAdjust(cpu, 1) },
  { opcode: 0x2f, mnemonic: 'das', operands: '', flagsRead: AC, flagsWritten: Fl.ARITH, flagsUndefined: Fl.OF, exec: (cpu) => decimalAdjust(cpu, -1) },
  {
    opcode: 0x37, mnemonic: 'aaa', operands: '', flagsRead: Fl.AF, flagsWritten: Fl.ARITH,
    flagsUndefined: Fl.OF | Fl.SF | Fl.ZF | Fl.PF, exec: (cpu) => asciiAdjust(cpu, 1),
  },
  {
    opcode: 0x3f, mnemonic: 'aas', operands: '', flagsRead: Fl.AF, flagsWritten: Fl.ARITH,
    flagsUndefined: Fl.OF | Fl.SF | Fl.ZF | Fl.PF, exec: (cpu) => asciiAdjust(cpu, -1),
  },
  // nasm spells AAM/AAD with a base other than 10 as "aam imm8".
  {
    opcode: 0xd4, mnemonic: 'aam', operands: 'Ib', flagsWritten: Fl.ARITH, flagsUndefined: Fl.OF | AC,
    exec: (cpu, i) => aam(cpu, cpu.pool.imm[i] & 0xff),
  },
  {
    opcode: 0xd5, mnemonic: 'aad', operands: 'Ib', flagsWritten: Fl.ARITH, flagsUndefined: Fl.OF | AC,
    exec: (cpu, i) => aad(cpu, cpu.pool.imm[i] & 0xff),
  },
];
