// Segment-related instructions: LDS/LES/LFS/LGS/LSS (far pointer loads),
// ARPL and BOUND.
import type { InsnDef } from '../table/types.ts';
import { Fl } from '../table/types.ts';
import { sized } from '../table/builders.ts';
import type { Cpu } from '../cpu.ts';
import { S, Seg, MODE_PROT, MODE_V86, FLAG_ZF } from '../state.ts';
import { Vec } from '../faults.ts';
import { A_REG } from '../decoded.ts';
import { effectiveAddress, getG16, setG16, setG32 } from '../operands.ts';
import { setFlagBits } from '../flags.ts';
import { loadSegment } from '../segments.ts';

/**
 * LxS r, m16:16 / m16:32. The segment load (with all its checks) comes
 * before the register write, so a faulting load leaves the register alone.
 */
function loadFarPointer(cpu: Cpu, i: number, seg: number, o32: boolean): void {
  const p = cpu.pool;
  const ea = effectiveAddress(cpu, i);
  const off = o32 ? cpu.read32(p.seg[i], ea) : cpu.read16(p.seg[i], ea);
  const sel = cpu.read16(p.seg[i], (ea + (o32 ? 4 : 2)) | 0);
  loadSegment(cpu, seg, sel);
  if (o32) setG32(cpu, i, off); else setG16(cpu, i, off);
  // Like MOV SS, loading SS holds off interrupts for one instruction (QEMU does the same for LSS).
  if (seg === Seg.SS) cpu.st[S.INT_SHADOW] = 1;
}

const farLoads: InsnDef[] = [];
for (const [opcode, seg, mnemonic] of [
  [0xc5, Seg.DS, 'lds'], [0xc4, Seg.ES, 'les'], [0x0fb2, Seg.SS, 'lss'], [0x0fb4, Seg.FS, 'lfs'], [0x0fb5, Seg.GS, 'lgs'],
] as const) {
  farLoads.push(...sized({ opcode, mnemonic, operands: 'Gv,Mp', mod: 'mem', endsBlock: seg === Seg.SS },
    (cpu, i) => loadFarPointer(cpu, i, seg, false), (cpu, i) => loadFarPointer(cpu, i, seg, true)));
}

/** Real-address and V86 mode do not recognise the protected-mode-only instructions. */
export function requireProtectedMode(cpu: Cpu): void {
  const mode = cpu.st[S.MODE];
  if (!(mode & MODE_PROT) || (mode & MODE_V86)) cpu.ud();
}

/** ARPL r/m16, r16: raise the destination selector's RPL to the source's; ZF says whether it changed. */
function arpl(cpu: Cpu, i: number): void {
  requireProtectedMode(cpu);
  const p = cpu.pool;
  const src = getG16(cpu, i) & 3;
  let lin = 0;
  let dst: number;
  if (p.attrs[i] & A_REG) {
    dst = cpu.st16[p.rm[i] << 1];
  } else {
    // ARPL reads first and writes only when the RPL changes (the host faults as a read otherwise).
    lin = cpu.lin(p.seg[i], effectiveAddress(cpu, i), 2);
    dst = cpu.readLin16(lin);
  }
  if ((dst & 3) < src) {
    dst = (dst & ~3) | src;
    if (p.attrs[i] & A_REG) cpu.st16[p.rm[i] << 1] = dst; else cpu.writeLin16(lin, dst);
    setFlagBits(cpu.st, FLAG_ZF, FLAG_ZF);
  } else {
    setFlagBits(cpu.st, FLAG_ZF, 0);
  }
}

/** BOUND r, m: #BR unless lower <= index <= upper (signed, at the operand size). */
function bound(cpu: Cpu, i: number, o32: boolean): void {
  const p = cpu.pool;
  const ea = effectiveAddress(cpu, i);
  let index: number, lower: number, upper: number;
  if (o32) {
    index = cpu.st[p.reg[i]];
    lower = cpu.read32(p.seg[i], ea);
    upper = cpu.read32(p.seg[i], (ea + 4) | 0);
  } else {
    index = (getG16(cpu, i) << 16) >> 16;
    lower = (cpu.read16(p.seg[i], ea) << 16) >> 16;
    upper = (cpu.read16(p.seg[i], (ea + 2) | 0) << 16) >> 16;
  }
  if (index < lower || index > upper) cpu.raise(Vec.BR);
}

export const segmentOps: InsnDef[] = [
  ...farLoads,
  { opcode: 0x63, mnemonic: 'arpl', operands: 'Ew,Gw', flagsWritten: Fl.ZF, exec: arpl },
  ...sized({ opcode: 0x62, mnemonic: 'bound', operands: 'Gv,Ma', mod: 'mem' },
    (cpu, i) => bound(cpu, i, false), (cpu, i) => bound(cpu, i, true)),
];
