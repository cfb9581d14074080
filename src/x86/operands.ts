// Operand access for instruction handlers: the effective address of a
// decoded memory operand, and reads/writes of ModRM r/m and reg operands at
// 8/16/32 bits. Handlers call these instead of touching the pool directly.
import { A_A32, A_REG, A_O32 } from './decoded.ts';
import type { Cpu } from './cpu.ts';

/** Byte offsets of the 8-bit registers AL CL DL BL AH CH DH BH inside the state area. */
export const REG8_OFFSET = new Uint8Array([0, 4, 8, 12, 1, 5, 9, 13]);

/** The offset part (not yet segment-relocated) of slot i's memory operand. */
export function effectiveAddress(cpu: Cpu, i: number): number {
  const p = cpu.pool;
  const r = cpu.st;
  const ea = r[p.eaBase[i]] + (r[p.eaIndex[i]] << p.eaScale[i]) + p.disp[i];
  return p.attrs[i] & A_A32 ? ea | 0 : ea & 0xffff;
}

export function isO32(cpu: Cpu, i: number): boolean {
  return (cpu.pool.attrs[i] & A_O32) !== 0;
}

export function isRegForm(cpu: Cpu, i: number): boolean {
  return (cpu.pool.attrs[i] & A_REG) !== 0;
}

// ---- registers by number

export function getReg8(cpu: Cpu, r: number): number {
  return cpu.st8[REG8_OFFSET[r]];
}
export function setReg8(cpu: Cpu, r: number, v: number): void {
  cpu.st8[REG8_OFFSET[r]] = v;
}
export function getReg16(cpu: Cpu, r: number): number {
  return cpu.st16[r << 1];
}
export function setReg16(cpu: Cpu, r: number, v: number): void {
  cpu.st16[r << 1] = v;
}

// ---- ModRM.reg operand (G)

export function getG8(cpu: Cpu, i: number): number {
  return cpu.st8[REG8_OFFSET[cpu.pool.reg[i]]];
}
export function setG8(cpu: Cpu, i: number, v: number): void {
  cpu.st8[REG8_OFFSET[cpu.pool.reg[i]]] = v;
}
export function getG16(cpu: Cpu, i: number): number {
  return cpu.st16[cpu.pool.reg[i] << 1];
}
export function setG16(cpu: Cpu, i: number, v: number): void {
  cpu.st16[cpu.pool.reg[i] << 1] = v;
}
export function getG32(cpu: Cpu, i: number): number {
  return cpu.st[cpu.pool.reg[i]];
}
export function setG32(cpu: Cpu, i: number, v: number): void {
  cpu.st[cpu.pool.reg[i]] = v;
}

// ---- ModRM r/m operand (E): register or memory

export function getE8(cpu: Cpu, i: number): number {
  const p = cpu.pool;
  if (p.attrs[i] & A_REG) return cpu.st8[REG8_OFFSET[p.rm[i]]];
  return cpu.read8(p.seg[i], effectiveAddress(cpu, i));
}
export function setE8(cpu: Cpu, i: number, v: number): void {
  const p = cpu.pool;
  if (p.attrs[i] & A_REG) cpu.st8[REG8_OFFSET[p.rm[i]]] = v;
  else cpu.write8(p.seg[i], effectiveAddress(cpu, i), v);
}
export function getE16(cpu: Cpu, i: number): number {
  const p = cpu.pool;
  if (p.attrs[i] & A_REG) return cpu.st16[p.rm[i] << 1];
  return cpu.read16(p.seg[i], effectiveAddress(cpu, i));
}
export function setE16(cpu: Cpu, i: number, v: number): void {
  const p = cpu.pool;
  if (p.attrs[i] & A_REG) cpu.st16[p.rm[i] << 1] = v;
  else cpu.write16(p.seg[i], effectiveAddress(cpu, i), v);
}
export function getE32(cpu: Cpu, i: number): number {
  const p = cpu.pool;
  if (p.attrs[i] & A_REG) return cpu.st[p.rm[i]];
  return cpu.read32(p.seg[i], effectiveAddress(cpu, i));
}
export function setE32(cpu: Cpu, i: number, v: number): void {
  const p = cpu.pool;
  if (p.attrs[i] & A_REG) cpu.st[p.rm[i]] = v;
  else cpu.write32(p.seg[i], effectiveAddress(cpu, i), v);
}

// ---- read-modify-write on the E operand: the memory form checks write
// permission before reading (as hardware does for RMW), and the later store
// reuses the same linear address.

/** Linear address of the E memory operand for a read-modify-write of `size` bytes (write-checked). */
export function rmwLinear(cpu: Cpu, i: number, size: number): number {
  const lin = cpu.lin(cpu.pool.seg[i], effectiveAddress(cpu, i), size);
  cpu.probeWrite(lin, size);
  return lin;
}

/**
 * Applies `op(dst, src)` to E (8-bit) and stores the result. `op` must be a
 * module-level function so no closure is allocated per instruction.
 */
export function rmwE8(cpu: Cpu, i: number, src: number, op: (cpu: Cpu, a: number, b: number) => number): void {
  const p = cpu.pool;
  if (p.attrs[i] & A_REG) {
    const o = REG8_OFFSET[p.rm[i]];
    cpu.st8[o] = op(cpu, cpu.st8[o], src);
  } else {
    const lin = rmwLinear(cpu, i, 1);
    cpu.writeLin8(lin, op(cpu, cpu.readLin8(lin), src));
  }
}
export function rmwE16(cpu: Cpu, i: number, src: number, op: (cpu: Cpu, a: number, b: number) => number): void {
  const p = cpu.pool;
  if (p.attrs[i] & A_REG) {
    const o = p.rm[i] << 1;
    cpu.st16[o] = op(cpu, cpu.st16[o], src);
  } else {
    const lin = rmwLinear(cpu, i, 2);
    cpu.writeLin16(lin, op(cpu, cpu.readLin16(lin), src));
  }
}
export function rmwE32(cpu: Cpu, i: number, src: number, op: (cpu: Cpu, a: number, b: number) => number): void {
  const p = cpu.pool;
  if (p.attrs[i] & A_REG) {
    const r = p.rm[i];
    cpu.st[r] = op(cpu, cpu.st[r], src);
  } else {
    const lin = rmwLinear(cpu, i, 4);
    cpu.writeLin32(lin, op(cpu, cpu.readLin32(lin), src));
  }
}
