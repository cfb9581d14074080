// System registers: LGDT/LIDT/SGDT/SIDT, SMSW/LMSW, INVLPG, MOV to and from
// control and debug registers, CLTS, INVD/WBINVD.
import type { InsnDef } from '../table/types.ts';
import type { Cpu } from '../cpu.ts';
import {
  S, MODE_PROT, MODE_V86, CR0_PE, CR0_PG, CR0_TS, CR0_WP, CR0_ET, CR0_MP, CR0_EM, CR0_NW, CR0_CD, CR4_VME, CR4_PVI,
  CR4_TSD, CR4_DE, CR4_PSE, CR4_PAE, CR4_PGE, CR4_PCE, CR4_OSFXSR,
} from '../state.ts';
import { loadCr3, loadPdptes, invalidatePageMapping } from '../paging.ts';
import { Vec } from '../faults.ts';
import { A_O32, A_REG } from '../decoded.ts';
import { effectiveAddress, setE16 } from '../operands.ts';

/** Privileged instructions need CPL 0 (and are not allowed in V86 mode). */
export function requireCpl0(cpu: Cpu): void {
  const mode = cpu.st[S.MODE];
  if ((mode & MODE_V86) || ((mode & MODE_PROT) && cpu.st[S.CPL] !== 0)) cpu.raise(Vec.GP, 0);
}

/**
 * CR4 bits this CPU implements: VME PVI TSD DE PSE PAE PGE PCE, and OSFXSR
 * for the FPU's FXSAVE. MCE is reserved: machine checks are not modelled
 * (and not advertised by CPUID).
 */
export const CR4_SUPPORTED = CR4_VME | CR4_PVI | CR4_TSD | CR4_DE | CR4_PSE | CR4_PAE | CR4_PGE | CR4_PCE | CR4_OSFXSR;

export function writeCr0(cpu: Cpu, v: number): void {
  const st = cpu.st;
  if ((v & CR0_PG) && !(v & CR0_PE)) cpu.raise(Vec.GP, 0);
  if ((v & CR0_NW) && !(v & CR0_CD)) cpu.raise(Vec.GP, 0);
  const old = st[S.CR];
  v = (v | CR0_ET) & (0xe005_003f | 0);
  // Entering PAE paging (or changing its cache control) reloads the PDPTEs first; they may #GP.
  if ((v & CR0_PG) && (st[S.CR + 4] & CR4_PAE) && ((old ^ v) & (CR0_PG | CR0_CD | CR0_NW))) {
    loadPdptes(cpu, st[S.CR + 3]);
  }
  st[S.CR] = v;
  if ((old ^ v) & (CR0_PG | CR0_WP | CR0_PE)) {
    cpu.flushTlb(true);
  }
  cpu.updateMode();
  st[S.BLOCK_EXIT] = 1;
}

export function writeCr3(cpu: Cpu, v: number): void {
  loadCr3(cpu, v);
}

export function writeCr4(cpu: Cpu, v: number): void {
  const st = cpu.st;
  if (v & ~CR4_SUPPORTED) cpu.raise(Vec.GP, 0);
  const old = st[S.CR + 4];
  const pagingBits = CR4_PAE | CR4_PSE | CR4_PGE;
  if ((st[S.CR] & CR0_PG) && (v & CR4_PAE) && ((old ^ v) & pagingBits)) loadPdptes(cpu, st[S.CR + 3]);
  st[S.CR + 4] = v;
  if ((old ^ v) & pagingBits) cpu.flushTlb(true);
  cpu.updateMode();
}

function movToCr(cpu: Cpu, cr: number, v: number): void {
  requireCpl0(cpu);
  switch (cr) {
    case 0: writeCr0(cpu, v); break;
    case 2: cpu.st[S.CR + 2] = v; break;
    case 3: writeCr3(cpu, v); break;
    case 4: writeCr4(cpu, v); break;
    default: cpu.ud();
  }
}

function movFromCr(cpu: Cpu, cr: number): number {
  requireCpl0(cpu);
  if (cr !== 0 && cr !== 2 && cr !== 3 && cr !== 4) cpu.ud();
  return cpu.st[S.CR + cr];
}

/**
 * The debug register a MOV names (DR4/DR5 alias DR6/DR7 unless CR4.DE),
 * after the general-detect check: with DR7.GD set any debug-register access
 * is a #DB fault with DR6.BD set, and GD clears for the handler (SDM 17.2.4).
 */
function debugIndex(cpu: Cpu, dr: number): number {
  const st = cpu.st;
  if (dr === 4 || dr === 5) {
    if (st[S.CR + 4] & CR4_DE) cpu.ud();
    dr += 2;
  }
  if (st[S.DR + 7] & DR7_GD) {
    st[S.DR + 6] |= DR6_BD;
    st[S.DR + 7] &= ~DR7_GD;
    cpu.raise(Vec.DB);
  }
  return dr;
}

const DR7_GD = 0x2000, DR6_BD = 0x2000;

function loadTableRegister(cpu: Cpu, i: number, baseWord: number, limitWord: number): void {
  requireCpl0(cpu);
  const seg = cpu.pool.seg[i];
  const ea = effectiveAddress(cpu, i);
  const limit = cpu.read16(seg, ea);
  let base = cpu.read32(seg, (ea + 2) | 0);
  if (!(cpu.pool.attrs[i] & A_O32)) base &= 0xffffff;
  cpu.st[limitWord] = limit;
  cpu.st[baseWord] = base;
}

function storeTableRegister(cpu: Cpu, i: number, baseWord: number, limitWord: number): void {
  const seg = cpu.pool.seg[i];
  const ea = effectiveAddress(cpu, i);
  cpu.probeWrite(cpu.lin(seg, ea, 6), 6);
  cpu.write16(seg, ea, cpu.st[limitWord]);
  const base = cpu.st[baseWord];
  cpu.write32(seg, (ea + 2) | 0, cpu.pool.attrs[i] & A_O32 ? base : base & 0xffffff);
}

const priv = { privileged: true };
export const systemOps: InsnDef[] = [
  { opcode: 0x0f01, ext: 0, mod: 'mem', mnemonic: 'sgdt', operands: 'Ms', exec: (cpu, i) => storeTableRegister(cpu, i, S.GDTR_BASE, S.GDTR_LIMIT) },
  { opcode: 0x0f01, ext: 1, mod: 'mem', mnemonic: 'sidt', operands: 'Ms', exec: (cpu, i) => storeTableRegister(cpu, i, S.IDTR_BASE, S.IDTR_LIMIT) },
  { opcode: 0x0f01, ext: 2, mod: 'mem', mnemonic: 'lgdt', operands: 'Ms', ...priv, exec: (cpu, i) => loadTableRegister(cpu, i, S.GDTR_BASE, S.GDTR_LIMIT) },
  { opcode: 0x0f01, ext: 3, mod: 'mem', mnemonic: 'lidt', operands: 'Ms', ...priv, exec: (cpu, i) => loadTableRegister(cpu, i, S.IDTR_BASE, S.IDTR_LIMIT) },
  {
    opcode: 0x0f01, ext: 4, mnemonic: 'smsw', operands: 'Ew',
    exec: (cpu, i) => {
      // A register destination with 32-bit operand size receives all of CR0 (P6 behaviour).
      if ((cpu.pool.attrs[i] & A_REG) && (cpu.pool.attrs[i] & A_O32)) cpu.st[cpu.pool.rm[i]] = cpu.st[S.CR];
      else setE16(cpu, i, cpu.st[S.CR]);
    },
  },
  {
    opcode: 0x0f01, ext: 6, mnemonic: 'lmsw', operands: 'Ew', ...priv, endsBlock: true,
    exec: (cpu, i) => {
      requireCpl0(cpu);
      const p = cpu.pool;
      const v = p.attrs[i] & A_REG ? cpu.st16[p.rm[i] << 1] : cpu.read16(p.seg[i], effectiveAddress(cpu, i));
      const cr0 = cpu.st[S.CR];
      // LMSW sets PE but never clears it, and touches only MP, EM, TS.
      writeCr0(cpu, (cr0 & ~(CR0_MP | CR0_EM | CR0_TS)) | (v & (CR0_MP | CR0_EM | CR0_TS)) | (cr0 & CR0_PE) | (v & CR0_PE));
    },
  },
  {
    opcode: 0x0f01, ext: 7, mod: 'mem', mnemonic: 'invlpg', operands: 'M', ...priv,
    exec: (cpu, i) => {
      requireCpl0(cpu);
      const p = cpu.pool;
      invalidatePageMapping(cpu, (cpu.st[S.SEG_BASE + p.seg[i]] + effectiveAddress(cpu, i)) | 0);
    },
  },
  // MOV to/from CRn and DRn: ModRM.mod is ignored, r/m is always a register.
  { opcode: 0x0f20, mnemonic: 'mov', operands: 'Rd,Cd', ...priv, exec: (cpu, i) => { cpu.st[cpu.pool.rm[i]] = movFromCr(cpu, cpu.pool.reg[i]); } },
  { opcode: 0x0f22, mnemonic: 'mov', operands: 'Cd,Rd', ...priv, endsBlock: true, exec: (cpu, i) => movToCr(cpu, cpu.pool.reg[i], cpu.st[cpu.pool.rm[i]]) },
  {
    opcode: 0x0f21, mnemonic: 'mov', operands: 'Rd,Dd', ...priv,
    exec: (cpu, i) => { requireCpl0(cpu); cpu.st[cpu.pool.rm[i]] = cpu.st[S.DR + debugIndex(cpu, cpu.pool.reg[i])]; },
  },
  {
    opcode: 0x0f23, mnemonic: 'mov', operands: 'Dd,Rd', ...priv,
    exec: (cpu, i) => {
      requireCpl0(cpu);
      const dr = debugIndex(cpu, cpu.pool.reg[i]);
      let v = cpu.st[cpu.pool.rm[i]];
      if (dr === 6) v = (v & 0xe00f) | (0xffff0ff0 | 0);
      // DR7 bits 11, 12, 14 and 15 are reserved and read 0 on P6; bit 10 reads 1.
      if (dr === 7) v = (v & ~0xd800) | 0x400;
      cpu.st[S.DR + dr] = v;
    },
  },
  { opcode: 0x0f06, mnemonic: 'clts', operands: '', ...priv, exec: (cpu) => { requireCpl0(cpu); cpu.st[S.CR] &= ~CR0_TS; } },
  { opcode: 0x0f08, mnemonic: 'invd', operands: '', ...priv, exec: (cpu) => requireCpl0(cpu) },
  { opcode: 0x0f09, mnemonic: 'wbinvd', operands: '', ...priv, exec: (cpu) => requireCpl0(cpu) },
];

