// Stack instructions: PUSH/POP of registers, immediates, memory and segment
// registers, PUSHA/POPA, PUSHF/POPF, ENTER and LEAVE.
import type { InsnDef, ExecFn } from '../table/types.ts';
import { Fl } from '../table/types.ts';
import { sized } from '../table/builders.ts';
import type { Cpu } from '../cpu.ts';
import {
  S, Seg, MODE_PROT, MODE_V86, MODE_SS32, FLAG_IOPL, FLAG_IF, FLAG_RF, FLAG_VM, FLAG_VIF, FLAG_VIP, FLAG_TF, CR4_VME,
} from '../state.ts';
import { Vec } from '../faults.ts';
import { getE16, getE32, setE16, setE32 } from '../operands.ts';
import { loadSegment } from '../segments.ts';
import { readEflags, writeEflags } from '../interrupts.ts';

const pushPopReg: InsnDef[] = [];
for (let r = 0; r < 8; r++) {
  pushPopReg.push(...sized({ opcode: 0x50 + r, mnemonic: 'push', operands: 'Zv' },
    (cpu, i) => cpu.push16(cpu.st16[cpu.pool.reg[i] << 1]),
    (cpu, i) => cpu.push32(cpu.st[cpu.pool.reg[i]])));
  pushPopReg.push(...sized({ opcode: 0x58 + r, mnemonic: 'pop', operands: 'Zv' },
    (cpu, i) => { const v = cpu.pop16(); cpu.st16[cpu.pool.reg[i] << 1] = v; },
    (cpu, i) => { const v = cpu.pop32(); cpu.st[cpu.pool.reg[i]] = v; }));
}

const pushImm: InsnDef[] = [
  ...sized({ opcode: 0x68, mnemonic: 'push', operands: 'Iz' },
    (cpu, i) => cpu.push16(cpu.pool.imm[i]), (cpu, i) => cpu.push32(cpu.pool.imm[i])),
  ...sized({ opcode: 0x6a, mnemonic: 'push', operands: 'Ib' },
    (cpu, i) => cpu.push16(cpu.pool.imm[i]), (cpu, i) => cpu.push32(cpu.pool.imm[i])),
];

// POP r/m: ESP is incremented before the destination address is computed (SDM POP).
const pushPopMem: InsnDef[] = [
  ...sized({ opcode: 0xff, ext: 6, mnemonic: 'push', operands: 'Ev' },
    (cpu, i) => cpu.push16(getE16(cpu, i)), (cpu, i) => cpu.push32(getE32(cpu, i))),
  ...sized({ opcode: 0x8f, ext: 0, mnemonic: 'pop', operands: 'Ev' },
    (cpu, i) => {
      const esp = cpu.st[S.ESP];
      const v = cpu.pop16();
      try { setE16(cpu, i, v); } catch (e) { cpu.st[S.ESP] = esp; throw e; }
    },
    (cpu, i) => {
      const esp = cpu.st[S.ESP];
      const v = cpu.pop32();
      try { setE32(cpu, i, v); } catch (e) { cpu.st[S.ESP] = esp; throw e; }
    }),
];

const pusha: InsnDef[] = [
  ...sized({ opcode: 0x60, mnemonic: 'pusha', operands: '' }, (cpu) => pushAll(cpu, 2), (cpu) => pushAll(cpu, 4)),
  ...sized({ opcode: 0x61, mnemonic: 'popa', operands: '' }, (cpu) => popAll(cpu, 2), (cpu) => popAll(cpu, 4)),
];
pusha[1].mnemonic = 'pushad';
pusha[3].mnemonic = 'popad';

/**
 * PUSHA/PUSHAD store the registers one by one below the stack top and move
 * ESP only at the end: a fault part-way leaves the stores already made in
 * memory and ESP unchanged, as the host CPU does.
 */
function pushAll(cpu: Cpu, size: 2 | 4): void {
  const st = cpu.st;
  const ss32 = (st[S.MODE] & MODE_SS32) !== 0;
  const sp = cpu.stackPointer;
  for (let r = 0; r < 8; r++) {
    const slot = (sp - size * (r + 1)) | 0;
    const off = ss32 ? slot : slot & 0xffff;
    if (size === 4) cpu.write32(Seg.SS, off, st[r]);
    else cpu.write16(Seg.SS, off, cpu.st16[r << 1]);
  }
  cpu.setStackPointer(sp - 8 * size);
}

/**
 * POPA/POPAD load the registers one by one and move ESP only at the end:
 * a fault part-way (e.g. the stack runs into an unmapped page) leaves the
 * registers already loaded changed and ESP unchanged, as the host CPU does.
 */
function popAll(cpu: Cpu, size: 2 | 4): void {
  for (let r = 7, off = 0; r >= 0; r--, off += size) {
    if (r === S.ESP) continue;
    if (size === 4) cpu.st[r] = cpu.peek32(off);
    else cpu.st16[r << 1] = cpu.peek16(off);
  }
  cpu.setStackPointer(cpu.stackPointer + 8 * size);
}

function iopl(cpu: Cpu): number {
  return (cpu.st[S.EFLAGS] & FLAG_IOPL) >>> 12;
}

/** V86 mode at IOPL < 3 with CR4.VME: 16-bit PUSHF/POPF work on VIF instead of trapping (SDM 20.3). */
function virtualFlags(cpu: Cpu, o32: boolean): boolean {
  if (!(cpu.st[S.MODE] & MODE_V86) || iopl(cpu) === 3) return false;
  if (o32 || !(cpu.st[S.CR + 4] & CR4_VME)) cpu.raise(Vec.GP, 0);
  return true;
}

/** PUSHF: V86 mode needs IOPL 3 (or VME); the pushed image has VM and RF clear. */
function pushfImage(cpu: Cpu, o32: boolean): number {
  const flags = readEflags(cpu) & ~(FLAG_VM | FLAG_RF);
  if (!virtualFlags(cpu, o32)) return flags;
  // VME: the V86 program sees VIF as IF and IOPL 3.
  return (flags & ~FLAG_IF) | (flags & FLAG_VIF ? FLAG_IF : 0) | FLAG_IOPL;
}

/** POPF: which bits may change depends on mode, CPL and IOPL (SDM POPF). */
function popfApply(cpu: Cpu, value: number, o32: boolean): void {
  const st = cpu.st;
  const mode = st[S.MODE];
  if (virtualFlags(cpu, o32)) {
    // VME: IF and IOPL stay, the popped IF goes to VIF; setting IF with an interrupt pending (VIP), or TF, traps.
    if (((value & FLAG_IF) && (st[S.EFLAGS] & FLAG_VIP)) || (value & FLAG_TF)) cpu.raise(Vec.GP, 0);
    const keep = ~0xffff | FLAG_IF | FLAG_IOPL;
    const cur = readEflags(cpu);
    writeEflags(cpu, (cur & keep & ~FLAG_VIF) | (value & ~keep) | (value & FLAG_IF ? FLAG_VIF : 0));
    return;
  }
  let changeable = 0x1 | 0x4 | 0x10 | 0x40 | 0x80 | 0x100 | 0x400 | 0x800 | 0x4000 | 0x40000 | 0x200000;
  const cpl = (mode & MODE_PROT) ? st[S.CPL] : 0;
  if (!(mode & MODE_PROT) || cpl === 0) changeable |= FLAG_IOPL;
  if (!(mode & MODE_PROT) || cpl <= iopl(cpu)) changeable |= FLAG_IF;
  if (mode & MODE_V86) changeable &= ~FLAG_IOPL;
  if (!o32) changeable &= 0xffff;
  const cur = readEflags(cpu);
  writeEflags(cpu, ((cur & ~changeable) | (value & changeable)) & ~FLAG_RF);
}

const flagsFl = { flagsRead: Fl.ARITH | Fl.DF, flagsWritten: 0 };
const pushfPopf: InsnDef[] = [
  ...sized({ opcode: 0x9c, mnemonic: 'pushf', operands: '', ...flagsFl },
    (cpu) => cpu.push16(pushfImage(cpu, false)), (cpu) => cpu.push32(pushfImage(cpu, true))),
  ...sized({ opcode: 0x9d, mnemonic: 'popf', operands: '', flagsWritten: Fl.ARITH | Fl.DF, endsBlock: true },
    (cpu) => { const v = cpu.peek16(0); popfApply(cpu, v, false); cpu.pop16(); },
    (cpu) => { const v = cpu.peek32(0); popfApply(cpu, v, true); cpu.pop32(); }),
];
pushfPopf[1].mnemonic = 'pushfd';
pushfPopf[3].mnemonic = 'popfd';

function enter(cpu: Cpu, i: number, o32: boolean): void {
  const st = cpu.st;
  const size = cpu.pool.imm[i] & 0xffff;
  const level = cpu.pool.imm2[i] & 31;
  const ss32 = (st[S.MODE] & MODE_SS32) !== 0;
  const esp0 = st[S.ESP];
  try {
    if (o32) cpu.push32(st[S.EBP]); else cpu.push16(st[S.EBP]);
    const frame = cpu.stackPointer;
    let bp = ss32 ? st[S.EBP] : st[S.EBP] & 0xffff;
    for (let l = 1; l < level; l++) {
      bp = ss32 ? bp - (o32 ? 4 : 2) : (bp - (o32 ? 4 : 2)) & 0xffff;
      if (o32) cpu.push32(cpu.read32(Seg.SS, bp)); else cpu.push16(cpu.read16(Seg.SS, bp));
    }
    if (level > 0) { if (o32) cpu.push32(frame); else cpu.push16(frame); }
    const newSp = (cpu.stackPointer - size) | 0;
    // After the pushes, the bottom of the new frame must be writable (the host
    // faults here with the pushed bytes already in memory and ESP unchanged).
    if (size > 0) cpu.probeWrite(cpu.lin(Seg.SS, ss32 ? newSp : newSp & 0xffff, 1), 1);
    if (o32) st[S.EBP] = frame; else cpu.st16[S.EBP << 1] = frame;
    cpu.setStackPointer(newSp);
  } catch (e) {
    st[S.ESP] = esp0;
    throw e;
  }
}

function leave(cpu: Cpu, o32: boolean): void {
  const st = cpu.st;
  const ss32 = (st[S.MODE] & MODE_SS32) !== 0;
  const bp = ss32 ? st[S.EBP] : st[S.EBP] & 0xffff;
  const v = o32 ? cpu.read32(Seg.SS, bp) : cpu.read16(Seg.SS, bp);
  cpu.setStackPointer(bp + (o32 ? 4 : 2));
  if (o32) st[S.EBP] = v; else cpu.st16[S.EBP << 1] = v;
}

const enterLeave: InsnDef[] = [
  ...sized({ opcode: 0xc8, mnemonic: 'enter', operands: 'Iw,Ib' }, (cpu, i) => enter(cpu, i, false), (cpu, i) => enter(cpu, i, true)),
  ...sized({ opcode: 0xc9, mnemonic: 'leave', operands: '' }, (cpu) => leave(cpu, false), (cpu) => leave(cpu, true)),
];

// Segment register pushes and pops. A 32-bit push of a selector moves 16 bits into a 4-byte slot.
function pushSeg(seg: number): [ExecFn, ExecFn] {
  return [
    (cpu) => cpu.push16(cpu.st[S.SEG_SEL + seg]),
    (cpu) => {
      const sp = (cpu.stackPointer - 4) | 0;
      const off = cpu.st[S.MODE] & MODE_SS32 ? sp : sp & 0xffff;
      cpu.probeWrite(cpu.lin(Seg.SS, off, 4), 4);
      cpu.write16(Seg.SS, off, cpu.st[S.SEG_SEL + seg]);
      cpu.setStackPointer(sp);
    },
  ];
}
function popSeg(seg: number): [ExecFn, ExecFn] {
  const after = (cpu: Cpu): void => { if (seg === Seg.SS) cpu.st[S.INT_SHADOW] = 1; };
  return [
    (cpu) => { loadSegment(cpu, seg, cpu.peek16(0)); cpu.pop16(); after(cpu); },
    (cpu) => { loadSegment(cpu, seg, cpu.peek32(0)); cpu.pop32(); after(cpu); },
  ];
}
const SEG_NAMES = ['ES', 'CS', 'SS', 'DS', 'FS', 'GS'];
const segStack: InsnDef[] = [];
for (const [seg, pushOp, popOp] of [[Seg.ES, 0x06, 0x07], [Seg.CS, 0x0e, -1], [Seg.SS, 0x16, 0x17], [Seg.DS, 0x1e, 0x1f], [Seg.FS, 0x0fa0, 0x0fa1], [Seg.GS, 0x0fa8, 0x0fa9]]) {
  segStack.push(...sized({ opcode: pushOp, mnemonic: 'push', operands: SEG_NAMES[seg] }, ...pushSeg(seg)));
  if (popOp >= 0) segStack.push(...sized({ opcode: popOp, mnemonic: 'pop', operands: SEG_NAMES[seg], endsBlock: true }, ...popSeg(seg)));
}

export const stackOps: InsnDef[] = [...pushPopReg, ...pushImm, ...pushPopMem, ...pusha, ...pushfPopf, ...enterLeave, ...segStack];

export { FLAG_IF };
