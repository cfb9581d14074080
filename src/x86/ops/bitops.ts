// Bit test and scan: BT BTS BTR BTC (register bit offset, 0F A3/AB/B3/BB,
// and immediate, 0F BA /4-/7), BSF, BSR.
//
// With a register bit offset and a memory operand the offset is a signed bit
// index relative to the operand's address, so it can reach far beyond the
// operand. BT* change only CF (the other flags are undefined; a P6 leaves
// them, as we do). BSF/BSR with a zero source set ZF and leave the
// destination unchanged, as a P6 does; otherwise ZF=0 and SF/PF follow the
// index with CF OF AF clear (Bochs' P6 model).
import type { InsnDef, ExecFn } from '../table/types.ts';
import { Fl } from '../table/types.ts';
import { sized } from '../table/builders.ts';
import type { Cpu } from '../cpu.ts';
import { FLAG_CF, FLAG_ZF } from '../state.ts';
import { A_A32, A_REG } from '../decoded.ts';
import { SZ16, SZ32, setFlagBits, setResultFlags } from '../flags.ts';
import { effectiveAddress, getE16, getE32, getG16, getG32, setG16, setG32 } from '../operands.ts';

const enum Op { BT = 0, BTS = 1, BTR = 2, BTC = 3 }

/** The new value of the word for each operation; BT returns it unchanged. */
function applyBit(op: number, v: number, mask: number): number {
  switch (op) {
    case Op.BTS: return v | mask;
    case Op.BTR: return v & ~mask;
    case Op.BTC: return v ^ mask;
    default: return v;
  }
}

/**
 * BT* on operand size `bytes` (2 or 4) with bit index `bit` (already reduced
 * for register operands). For memory, `byteOffset` moves the operand first.
 */
function bitOp(cpu: Cpu, i: number, op: number, bytes: number, bit: number, byteOffset: number): void {
  const p = cpu.pool;
  const mask = 1 << bit;
  let v: number;
  if (p.attrs[i] & A_REG) {
    const r = p.rm[i];
    if (bytes === 2) {
      v = cpu.st16[r << 1];
      if (op !== Op.BT) cpu.st16[r << 1] = applyBit(op, v, mask);
    } else {
      v = cpu.st[r];
      if (op !== Op.BT) cpu.st[r] = applyBit(op, v, mask);
    }
  } else {
    // The displacement is added in address-size arithmetic, so 16-bit addressing wraps at 64 KiB.
    let off = effectiveAddress(cpu, i) + byteOffset;
    off = p.attrs[i] & A_A32 ? off | 0 : off & 0xffff;
    const lin = cpu.lin(p.seg[i], off, bytes);
    if (op !== Op.BT) cpu.probeWrite(lin, bytes);
    v = bytes === 2 ? cpu.readLin16(lin) : cpu.readLin32(lin);
    if (op !== Op.BT) {
      if (bytes === 2) cpu.writeLin16(lin, applyBit(op, v, mask));
      else cpu.writeLin32(lin, applyBit(op, v, mask));
    }
  }
  setFlagBits(cpu.st, FLAG_CF, (v >>> bit) & 1);
}

/** Register bit offset (Gv): for memory the signed offset selects the word at ea + size * (offset >> log2(bits)). */
function btByReg16(cpu: Cpu, i: number, op: number): void {
  const off = (getG16(cpu, i) << 16) >> 16;
  const mem = !(cpu.pool.attrs[i] & A_REG);
  bitOp(cpu, i, op, 2, off & 15, mem ? (off >> 4) * 2 : 0);
}
function btByReg32(cpu: Cpu, i: number, op: number): void {
  const off = getG32(cpu, i);
  const mem = !(cpu.pool.attrs[i] & A_REG);
  bitOp(cpu, i, op, 4, off & 31, mem ? (off >> 5) * 4 : 0);
}

const NAMES = ['bt', 'bts', 'btr', 'btc'];
const REG_OPCODES = [0x0fa3, 0x0fab, 0x0fb3, 0x0fbb];
const btFlags = { flagsWritten: Fl.CF, flagsUndefined: Fl.OF | Fl.SF | Fl.AF | Fl.PF };

function btEntries(op: number): InsnDef[] {
  const mnemonic = NAMES[op];
  const lockable = op !== Op.BT;
  const byImm16: ExecFn = (cpu, i) => bitOp(cpu, i, op, 2, cpu.pool.imm[i] & 15, 0);
  const byImm32: ExecFn = (cpu, i) => bitOp(cpu, i, op, 4, cpu.pool.imm[i] & 31, 0);
  return [
    ...sized({ opcode: REG_OPCODES[op], mnemonic, operands: 'Ev,Gv', lockable, ...btFlags },
      (cpu, i) => btByReg16(cpu, i, op), (cpu, i) => btByReg32(cpu, i, op)),
    ...sized({ opcode: 0x0fba, ext: 4 + op, mnemonic, operands: 'Ev,Ib', lockable, ...btFlags }, byImm16, byImm32),
  ];
}

// ---------------------------------------------------------------- BSF / BSR

/** Index of the lowest (forward) or highest set bit of a non-zero value. */
function bitScan(v: number, forward: boolean): number {
  return forward ? 31 - Math.clz32(v & -v) : 31 - Math.clz32(v);
}

/** Returns the new destination: unchanged (`dst`) for a zero source. */
function scan(cpu: Cpu, sz: number, dst: number, src: number, forward: boolean): number {
  if (src === 0) {
    setFlagBits(cpu.st, FLAG_ZF, FLAG_ZF);
    return dst;
  }
  const r = bitScan(src, forward);
  // SF and PF come lazily from the index; ZF must be 0 even for index 0, so it is explicit.
  setResultFlags(cpu.st, sz, r, 0);
  setFlagBits(cpu.st, FLAG_ZF, 0);
  return r;
}

function scanEntries(opcode: number, mnemonic: string, forward: boolean): InsnDef[] {
  return sized({ opcode, mnemonic, operands: 'Gv,Ev', flagsWritten: Fl.ARITH, flagsUndefined: Fl.ARITH & ~Fl.ZF },
    (cpu, i) => setG16(cpu, i, scan(cpu, SZ16, getG16(cpu, i), getE16(cpu, i), forward)),
    (cpu, i) => setG32(cpu, i, scan(cpu, SZ32, getG32(cpu, i), getE32(cpu, i), forward)));
}

export const bitopsOps: InsnDef[] = [
  ...[Op.BT, Op.BTS, Op.BTR, Op.BTC].flatMap(btEntries),
  ...scanEntries(0x0fbc, 'bsf', true),
  ...scanEntries(0x0fbd, 'bsr', false),
];
