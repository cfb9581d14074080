// Conditional set and move: SETcc Eb (0F 90-9F) and CMOVcc Gv,Ev (0F 40-4F).
// CMOVcc reads its source even when the condition is false, so a bad memory
// operand faults either way (as on hardware); the destination is written
// only when the condition holds.
import type { InsnDef } from '../table/types.ts';
import { Fl } from '../table/types.ts';
import { sized } from '../table/builders.ts';
import { testCondition } from '../flags.ts';
import { getE16, getE32, setE8, setG16, setG32 } from '../operands.ts';

const CC = ['o', 'no', 'b', 'nb', 'z', 'nz', 'be', 'nbe', 's', 'ns', 'p', 'np', 'l', 'nl', 'le', 'nle'];

/** The flags each condition pair reads (cc >> 1: O, B, Z, BE, S, P, L, LE). */
const CC_FLAGS = [Fl.OF, Fl.CF, Fl.ZF, Fl.CF | Fl.ZF, Fl.SF, Fl.PF, Fl.SF | Fl.OF, Fl.SF | Fl.OF | Fl.ZF];

function condEntries(cc: number): InsnDef[] {
  const flagsRead = CC_FLAGS[cc >> 1];
  return [
    // ModRM.reg is ignored by SETcc.
    {
      opcode: 0x0f90 + cc, mnemonic: 'set' + CC[cc], operands: 'Eb', flagsRead,
      exec: (cpu, i) => setE8(cpu, i, testCondition(cpu.st, cc) ? 1 : 0),
    },
    ...sized({ opcode: 0x0f40 + cc, mnemonic: 'cmov' + CC[cc], operands: 'Gv,Ev', flagsRead },
      (cpu, i) => { const v = getE16(cpu, i); if (testCondition(cpu.st, cc)) setG16(cpu, i, v); },
      (cpu, i) => { const v = getE32(cpu, i); if (testCondition(cpu.st, cc)) setG32(cpu, i, v); }),
  ];
}

export const condOps: InsnDef[] = Array.from({ length: 16 }, (_, cc) => condEntries(cc)).flat();
