// Integer arithmetic and logic: ADD OR ADC SBB AND SUB XOR CMP in all their
// encodings, TEST, INC, DEC, NOT, NEG. Flags are left lazy (flags.ts).
import type { InsnDef, ExecFn } from '../table/types.ts';
import { Fl } from '../table/types.ts';
import { sized } from '../table/builders.ts';
import type { Cpu } from '../cpu.ts';
import { S, FLAG_CF } from '../state.ts';
import { setLazy, setLazyPartial, getCF, LZ_ADD, LZ_ADC, LZ_SUB, LZ_SBB, LZ_LOGIC, SZ8, SZ16, SZ32 } from '../flags.ts';
import {
  getE8, getE16, getE32, getG8, getG16, getG32, setG8, setG16, setG32, rmwE8, rmwE16, rmwE32,
} from '../operands.ts';

type AluFn = (cpu: Cpu, a: number, b: number) => number;

const MASKS = [0xff, 0xffff, -1];

function makeAlu(kind: number, sz: number): AluFn {
  const m = MASKS[sz];
  switch (kind) {
    case 0: return (cpu, a, b) => { const r = (a + b) & m; setLazy(cpu.st, LZ_ADD | sz, a, b, r); return r; };
    case 1: return (cpu, a, b) => { const r = (a | b) & m; setLazy(cpu.st, LZ_LOGIC | sz, a, b, r); return r; };
    case 2: return (cpu, a, b) => { const r = (a + b + getCF(cpu.st)) & m; setLazy(cpu.st, LZ_ADC | sz, a, b, r); return r; };
    case 3: return (cpu, a, b) => { const r = (a - b - getCF(cpu.st)) & m; setLazy(cpu.st, LZ_SBB | sz, a, b, r); return r; };
    case 4: return (cpu, a, b) => { const r = (a & b) & m; setLazy(cpu.st, LZ_LOGIC | sz, a, b, r); return r; };
    case 5: case 7: return (cpu, a, b) => { const r = (a - b) & m; setLazy(cpu.st, LZ_SUB | sz, a, b, r); return r; };
    default: return (cpu, a, b) => { const r = (a ^ b) & m; setLazy(cpu.st, LZ_LOGIC | sz, a, b, r); return r; };
  }
}

/** ALU functions by [kind][size]; kind is the ModRM.reg / opcode bits 3–5 order: ADD OR ADC SBB AND SUB XOR CMP. */
export const ALU: AluFn[][] = Array.from({ length: 8 }, (_, k) => [makeAlu(k, SZ8), makeAlu(k, SZ16), makeAlu(k, SZ32)]);
const NAMES = ['add', 'or', 'adc', 'sbb', 'and', 'sub', 'xor', 'cmp'];

function flagsOf(kind: number): Pick<InsnDef, 'flagsRead' | 'flagsWritten' | 'flagsUndefined'> {
  const logic = kind === 1 || kind === 4 || kind === 6;
  return {
    flagsRead: kind === 2 || kind === 3 ? Fl.CF : 0,
    flagsWritten: Fl.ARITH,
    flagsUndefined: logic ? Fl.AF : 0,
  };
}

function aluEntries(kind: number): InsnDef[] {
  const f = ALU[kind];
  const [f8, f16, f32] = f;
  const cmp = kind === 7;
  const base = kind << 3;
  const mnemonic = NAMES[kind];
  const fl = flagsOf(kind);
  const lock = !cmp;
  const out: InsnDef[] = [];
  // E,G forms.
  out.push({
    opcode: base, mnemonic, operands: 'Eb,Gb', lockable: lock, ...fl,
    exec: cmp ? (cpu, i) => { f8(cpu, getE8(cpu, i), getG8(cpu, i)); } : (cpu, i) => rmwE8(cpu, i, getG8(cpu, i), f8),
  });
  out.push(...sized({ opcode: base + 1, mnemonic, operands: 'Ev,Gv', lockable: lock, ...fl },
    cmp ? (cpu, i) => { f16(cpu, getE16(cpu, i), getG16(cpu, i)); } : (cpu, i) => rmwE16(cpu, i, getG16(cpu, i), f16),
    cmp ? (cpu, i) => { f32(cpu, getE32(cpu, i), getG32(cpu, i)); } : (cpu, i) => rmwE32(cpu, i, getG32(cpu, i), f32)));
  // G,E forms.
  out.push({
    opcode: base + 2, mnemonic, operands: 'Gb,Eb', ...fl,
    exec: cmp ? (cpu, i) => { f8(cpu, getG8(cpu, i), getE8(cpu, i)); } : (cpu, i) => setG8(cpu, i, f8(cpu, getG8(cpu, i), getE8(cpu, i))),
  });
  out.push(...sized({ opcode: base + 3, mnemonic, operands: 'Gv,Ev', ...fl },
    cmp ? (cpu, i) => { f16(cpu, getG16(cpu, i), getE16(cpu, i)); } : (cpu, i) => setG16(cpu, i, f16(cpu, getG16(cpu, i), getE16(cpu, i))),
    cmp ? (cpu, i) => { f32(cpu, getG32(cpu, i), getE32(cpu, i)); } : (cpu, i) => setG32(cpu, i, f32(cpu, getG32(cpu, i), getE32(cpu, i)))));
  // Accumulator, immediate.
  out.push({
    opcode: base + 4, mnemonic, operands: 'AL,Ib', ...fl,
    exec: (cpu, i) => { const r = f8(cpu, cpu.st8[0], cpu.pool.imm[i] & 0xff); if (!cmp) cpu.st8[0] = r; },
  });
  out.push(...sized({ opcode: base + 5, mnemonic, operands: 'eAX,Iz', ...fl },
    (cpu, i) => { const r = f16(cpu, cpu.st16[0], cpu.pool.imm[i] & 0xffff); if (!cmp) cpu.st16[0] = r; },
    (cpu, i) => { const r = f32(cpu, cpu.st[S.EAX], cpu.pool.imm[i]); if (!cmp) cpu.st[S.EAX] = r; }));
  // Group 1: 80 /k Eb,Ib; 81 /k Ev,Iz; 82 /k Eb,Ib (alias); 83 /k Ev,Ib (sign-extended).
  const e8imm: ExecFn = cmp
    ? (cpu, i) => { f8(cpu, getE8(cpu, i), cpu.pool.imm[i] & 0xff); }
    : (cpu, i) => rmwE8(cpu, i, cpu.pool.imm[i] & 0xff, f8);
  const e16imm: ExecFn = cmp
    ? (cpu, i) => { f16(cpu, getE16(cpu, i), cpu.pool.imm[i] & 0xffff); }
    : (cpu, i) => rmwE16(cpu, i, cpu.pool.imm[i] & 0xffff, f16);
  const e32imm: ExecFn = cmp
    ? (cpu, i) => { f32(cpu, getE32(cpu, i), cpu.pool.imm[i]); }
    : (cpu, i) => rmwE32(cpu, i, cpu.pool.imm[i], f32);
  out.push({ opcode: 0x80, ext: kind, mnemonic, operands: 'Eb,Ib', lockable: lock, ...fl, exec: e8imm });
  out.push(...sized({ opcode: 0x81, ext: kind, mnemonic, operands: 'Ev,Iz', lockable: lock, ...fl }, e16imm, e32imm));
  out.push({ opcode: 0x82, ext: kind, mnemonic, operands: 'Eb,Ib', lockable: lock, ...fl, exec: e8imm });
  out.push(...sized({ opcode: 0x83, ext: kind, mnemonic, operands: 'Ev,Ib', lockable: lock, ...fl }, e16imm, e32imm));
  return out;
}

// TEST: AND without storing.
const [and8, and16, and32] = ALU[4];
const testEntries: InsnDef[] = [
  { opcode: 0x84, mnemonic: 'test', operands: 'Eb,Gb', ...flagsOf(4), exec: (cpu, i) => { and8(cpu, getE8(cpu, i), getG8(cpu, i)); } },
  ...sized({ opcode: 0x85, mnemonic: 'test', operands: 'Ev,Gv', ...flagsOf(4) },
    (cpu, i) => { and16(cpu, getE16(cpu, i), getG16(cpu, i)); },
    (cpu, i) => { and32(cpu, getE32(cpu, i), getG32(cpu, i)); }),
  { opcode: 0xa8, mnemonic: 'test', operands: 'AL,Ib', ...flagsOf(4), exec: (cpu, i) => { and8(cpu, cpu.st8[0], cpu.pool.imm[i] & 0xff); } },
  ...sized({ opcode: 0xa9, mnemonic: 'test', operands: 'eAX,Iz', ...flagsOf(4) },
    (cpu, i) => { and16(cpu, cpu.st16[0], cpu.pool.imm[i] & 0xffff); },
    (cpu, i) => { and32(cpu, cpu.st[S.EAX], cpu.pool.imm[i]); }),
  // F6/F7 /0 and the undocumented alias /1.
  ...[0, 1].flatMap((ext): InsnDef[] => [
    { opcode: 0xf6, ext, mnemonic: 'test', operands: 'Eb,Ib', ...flagsOf(4), exec: (cpu, i) => { and8(cpu, getE8(cpu, i), cpu.pool.imm[i] & 0xff); } },
    ...sized({ opcode: 0xf7, ext, mnemonic: 'test', operands: 'Ev,Iz', ...flagsOf(4) },
      (cpu, i) => { and16(cpu, getE16(cpu, i), cpu.pool.imm[i] & 0xffff); },
      (cpu, i) => { and32(cpu, getE32(cpu, i), cpu.pool.imm[i]); }),
  ]),
];

// INC/DEC leave CF alone: only the other five flags become lazy.
const NOT_CF = Fl.ARITH & ~FLAG_CF;
function makeIncDec(dec: boolean, sz: number): AluFn {
  const m = MASKS[sz];
  const kind = dec ? LZ_SUB : LZ_ADD;
  return (cpu, a) => {
    const r = (dec ? a - 1 : a + 1) & m;
    setLazyPartial(cpu.st, kind | sz, a, 1, r, NOT_CF);
    return r;
  };
}
const INC = [makeIncDec(false, SZ8), makeIncDec(false, SZ16), makeIncDec(false, SZ32)];
const DEC = [makeIncDec(true, SZ8), makeIncDec(true, SZ16), makeIncDec(true, SZ32)];
const incDecFlags = { flagsWritten: NOT_CF };

function incDecEntries(dec: boolean): InsnDef[] {
  const f = dec ? DEC : INC;
  const mnemonic = dec ? 'dec' : 'inc';
  const out: InsnDef[] = [];
  for (let r = 0; r < 8; r++) {
    out.push(...sized({ opcode: (dec ? 0x48 : 0x40) + r, mnemonic, operands: 'Zv', ...incDecFlags },
      (cpu, i) => { const o = cpu.pool.reg[i] << 1; cpu.st16[o] = f[SZ16](cpu, cpu.st16[o], 0); },
      (cpu, i) => { const g = cpu.pool.reg[i]; cpu.st[g] = f[SZ32](cpu, cpu.st[g], 0); }));
  }
  const ext = dec ? 1 : 0;
  out.push({ opcode: 0xfe, ext, mnemonic, operands: 'Eb', lockable: true, ...incDecFlags, exec: (cpu, i) => rmwE8(cpu, i, 0, f[SZ8]) });
  out.push(...sized({ opcode: 0xff, ext, mnemonic, operands: 'Ev', lockable: true, ...incDecFlags },
    (cpu, i) => rmwE16(cpu, i, 0, f[SZ16]), (cpu, i) => rmwE32(cpu, i, 0, f[SZ32])));
  return out;
}

// NOT changes no flags; NEG is SUB from zero.
const NOT: AluFn[] = MASKS.map((m) => ((_cpu: Cpu, a: number) => ~a & m));
const NEG: AluFn[] = [SZ8, SZ16, SZ32].map((sz) => {
  const m = MASKS[sz];
  return (cpu: Cpu, a: number) => { const r = -a & m; setLazy(cpu.st, LZ_SUB | sz, 0, a, r); return r; };
});
const notNegEntries: InsnDef[] = [
  { opcode: 0xf6, ext: 2, mnemonic: 'not', operands: 'Eb', lockable: true, exec: (cpu, i) => rmwE8(cpu, i, 0, NOT[SZ8]) },
  ...sized({ opcode: 0xf7, ext: 2, mnemonic: 'not', operands: 'Ev', lockable: true },
    (cpu, i) => rmwE16(cpu, i, 0, NOT[SZ16]), (cpu, i) => rmwE32(cpu, i, 0, NOT[SZ32])),
  { opcode: 0xf6, ext: 3, mnemonic: 'neg', operands: 'Eb', lockable: true, flagsWritten: Fl.ARITH, exec: (cpu, i) => rmwE8(cpu, i, 0, NEG[SZ8]) },
  ...sized({ opcode: 0xf7, ext: 3, mnemonic: 'neg', operands: 'Ev', lockable: true, flagsWritten: Fl.ARITH },
    (cpu, i) => rmwE16(cpu, i, 0, NEG[SZ16]), (cpu, i) => rmwE32(cpu, i, 0, NEG[SZ32])),
];

export const aluOps: InsnDef[] = [
  ...[0, 1, 2, 3, 4, 5, 6, 7].flatMap(aluEntries),
  ...testEntries,
  ...incDecEntries(false),
  ...incDecEntries(true),
  ...notNegEntries,
];
