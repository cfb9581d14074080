// Data movement: MOV in all forms (including segment registers and moffs),
// MOVZX, MOVSX, LEA, XCHG, and the accumulator conversions CBW/CWDE/CWD/CDQ.
import type { InsnDef } from '../table/types.ts';
import { sized } from '../table/builders.ts';
import { S, Seg } from '../state.ts';
import {
  getE8, getE16, getE32, setE8, setE16, setE32, getG8, getG16, getG32, setG8, setG16, setG32,
  effectiveAddress, rmwLinear, REG8_OFFSET,
} from '../operands.ts';
import { A_REG } from '../decoded.ts';
import { loadSegment } from '../segments.ts';

const movBasic: InsnDef[] = [
  { opcode: 0x88, mnemonic: 'mov', operands: 'Eb,Gb', exec: (cpu, i) => setE8(cpu, i, getG8(cpu, i)) },
  ...sized({ opcode: 0x89, mnemonic: 'mov', operands: 'Ev,Gv' },
    (cpu, i) => setE16(cpu, i, getG16(cpu, i)), (cpu, i) => setE32(cpu, i, getG32(cpu, i))),
  { opcode: 0x8a, mnemonic: 'mov', operands: 'Gb,Eb', exec: (cpu, i) => setG8(cpu, i, getE8(cpu, i)) },
  ...sized({ opcode: 0x8b, mnemonic: 'mov', operands: 'Gv,Ev' },
    (cpu, i) => setG16(cpu, i, getE16(cpu, i)), (cpu, i) => setG32(cpu, i, getE32(cpu, i))),
  { opcode: 0xa0, mnemonic: 'mov', operands: 'AL,Ob', exec: (cpu, i) => { cpu.st8[0] = getE8(cpu, i); } },
  ...sized({ opcode: 0xa1, mnemonic: 'mov', operands: 'eAX,Ov' },
    (cpu, i) => { cpu.st16[0] = getE16(cpu, i); }, (cpu, i) => { cpu.st[S.EAX] = getE32(cpu, i); }),
  { opcode: 0xa2, mnemonic: 'mov', operands: 'Ob,AL', exec: (cpu, i) => setE8(cpu, i, cpu.st8[0]) },
  ...sized({ opcode: 0xa3, mnemonic: 'mov', operands: 'Ov,eAX' },
    (cpu, i) => setE16(cpu, i, cpu.st16[0]), (cpu, i) => setE32(cpu, i, cpu.st[S.EAX])),
  { opcode: 0xc6, ext: 0, mnemonic: 'mov', operands: 'Eb,Ib', exec: (cpu, i) => setE8(cpu, i, cpu.pool.imm[i]) },
  ...sized({ opcode: 0xc7, ext: 0, mnemonic: 'mov', operands: 'Ev,Iz' },
    (cpu, i) => setE16(cpu, i, cpu.pool.imm[i]), (cpu, i) => setE32(cpu, i, cpu.pool.imm[i])),
];

const movImmReg: InsnDef[] = [];
for (let r = 0; r < 8; r++) {
  movImmReg.push({
    opcode: 0xb0 + r, mnemonic: 'mov', operands: 'Zb,Ib',
    exec: (cpu, i) => { cpu.st8[REG8_OFFSET[cpu.pool.reg[i]]] = cpu.pool.imm[i]; },
  });
  movImmReg.push(...sized({ opcode: 0xb8 + r, mnemonic: 'mov', operands: 'Zv,Iz' },
    (cpu, i) => { cpu.st16[cpu.pool.reg[i] << 1] = cpu.pool.imm[i]; },
    (cpu, i) => { cpu.st[cpu.pool.reg[i]] = cpu.pool.imm[i]; }));
}

const movSeg: InsnDef[] = [
  // MOV r/m, Sreg: a register destination gets the selector zero-extended (P6 behaviour); memory takes 16 bits.
  ...sized({ opcode: 0x8c, mnemonic: 'mov', operands: 'Ev,Sw' },
    (cpu, i) => {
      if (cpu.pool.reg[i] > 5) cpu.ud();
      setE16(cpu, i, cpu.st[S.SEG_SEL + cpu.pool.reg[i]]);
    },
    (cpu, i) => {
      if (cpu.pool.reg[i] > 5) cpu.ud();
      const sel = cpu.st[S.SEG_SEL + cpu.pool.reg[i]] & 0xffff;
      if (cpu.pool.attrs[i] & A_REG) cpu.st[cpu.pool.rm[i]] = sel; else setE16(cpu, i, sel);
    }),
  {
    opcode: 0x8e, mnemonic: 'mov', operands: 'Sw,Ew', endsBlock: true,
    exec: (cpu, i) => {
      const seg = cpu.pool.reg[i];
      if (seg === Seg.CS || seg > 5) cpu.ud();
      loadSegment(cpu, seg, getE16(cpu, i));
      // MOV SS inhibits interrupts until after the next instruction (so SS:ESP can be set in a pair).
      if (seg === Seg.SS) cpu.st[S.INT_SHADOW] = 1;
    },
  },
];

const movExtend: InsnDef[] = [
  ...sized({ opcode: 0x0fb6, mnemonic: 'movzx', operands: 'Gv,Eb' },
    (cpu, i) => setG16(cpu, i, getE8(cpu, i)), (cpu, i) => setG32(cpu, i, getE8(cpu, i))),
  ...sized({ opcode: 0x0fb7, mnemonic: 'movzx', operands: 'Gv,Ew' },
    (cpu, i) => setG16(cpu, i, getE16(cpu, i)), (cpu, i) => setG32(cpu, i, getE16(cpu, i))),
  ...sized({ opcode: 0x0fbe, mnemonic: 'movsx', operands: 'Gv,Eb' },
    (cpu, i) => setG16(cpu, i, (getE8(cpu, i) << 24) >> 24), (cpu, i) => setG32(cpu, i, (getE8(cpu, i) << 24) >> 24)),
  ...sized({ opcode: 0x0fbf, mnemonic: 'movsx', operands: 'Gv,Ew' },
    (cpu, i) => setG16(cpu, i, getE16(cpu, i)), (cpu, i) => setG32(cpu, i, (getE16(cpu, i) << 16) >> 16)),
];

const lea: InsnDef[] = sized({ opcode: 0x8d, mnemonic: 'lea', operands: 'Gv,M', mod: 'mem' },
  (cpu, i) => setG16(cpu, i, effectiveAddress(cpu, i)), (cpu, i) => setG32(cpu, i, effectiveAddress(cpu, i)));

// XCHG with memory is always locked on x86; the write check comes before either store.
const xchg: InsnDef[] = [
  {
    opcode: 0x86, mnemonic: 'xchg', operands: 'Eb,Gb', lockable: true,
    exec: (cpu, i) => {
      const g = getG8(cpu, i);
      if (cpu.pool.attrs[i] & A_REG) {
        setG8(cpu, i, getE8(cpu, i));
        setE8(cpu, i, g);
      } else {
        const lin = rmwLinear(cpu, i, 1);
        setG8(cpu, i, cpu.readLin8(lin));
        cpu.writeLin8(lin, g);
      }
    },
  },
  ...sized({ opcode: 0x87, mnemonic: 'xchg', operands: 'Ev,Gv', lockable: true },
    (cpu, i) => {
      const g = getG16(cpu, i);
      if (cpu.pool.attrs[i] & A_REG) {
        setG16(cpu, i, getE16(cpu, i));
        setE16(cpu, i, g);
      } else {
        const lin = rmwLinear(cpu, i, 2);
        setG16(cpu, i, cpu.readLin16(lin));
        cpu.writeLin16(lin, g);
      }
    },
    (cpu, i) => {
      const g = getG32(cpu, i);
      if (cpu.pool.attrs[i] & A_REG) {
        setG32(cpu, i, getE32(cpu, i));
        setE32(cpu, i, g);
      } else {
        const lin = rmwLinear(cpu, i, 4);
        setG32(cpu, i, cpu.readLin32(lin));
        cpu.writeLin32(lin, g);
      }
    }),
];
// 90+r: XCHG eAX, reg (90 itself is NOP, in misc.ts).
for (let r = 1; r < 8; r++) {
  xchg.push(...sized({ opcode: 0x90 + r, mnemonic: 'xchg', operands: 'Zv,eAX' },
    (cpu, i) => { const o = cpu.pool.reg[i] << 1; const t = cpu.st16[o]; cpu.st16[o] = cpu.st16[0]; cpu.st16[0] = t; },
    (cpu, i) => { const g = cpu.pool.reg[i]; const t = cpu.st[g]; cpu.st[g] = cpu.st[S.EAX]; cpu.st[S.EAX] = t; }));
}

const convert: InsnDef[] = [
  ...sized({ opcode: 0x98, mnemonic: 'cbw', operands: '' },
    (cpu) => { cpu.st16[0] = (cpu.st8[0] << 24) >> 24; },
    (cpu) => { cpu.st[S.EAX] = (cpu.st16[0] << 16) >> 16; }),
  ...sized({ opcode: 0x99, mnemonic: 'cwd', operands: '' },
    (cpu) => { cpu.st16[S.EDX << 1] = (cpu.st16[0] & 0x8000) ? 0xffff : 0; },
    (cpu) => { cpu.st[S.EDX] = cpu.st[S.EAX] >> 31; }),
];
// nasm spells the 32-bit forms differently.
convert[1].mnemonic = 'cwde';
convert[3].mnemonic = 'cdq';

export const movOps: InsnDef[] = [...movBasic, ...movImmReg, ...movSeg, ...movExtend, ...lea, ...xchg, ...convert];
