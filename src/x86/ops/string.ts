// String instructions: MOVS CMPS STOS LODS SCAS INS OUTS (byte, word, dword)
// with REP / REPE / REPNE.
//
// Operands: the source is seg:eSI with seg = DS or the override (the
// decoder's slot segment); the destination is always ES:eDI. The address size
// picks SI/DI/CX (16-bit, wrapping at 64 KiB, high halves kept) or
// ESI/EDI/ECX. DF picks the direction.
//
// Repeats run at most a bounded amount of work per execution; when the count
// is not exhausted the instruction rewinds EIP to itself and ends the block,
// so the interpreter can take interrupts and then re-enter it. Registers are
// updated after every element, so a fault part-way leaves them describing the
// completed iterations, as on hardware. REP MOVS and REP STOS copy or fill
// whole runs inside one RAM page at a time directly in guest RAM.
import type { InsnDef, ExecFn } from '../table/types.ts';
import { Fl } from '../table/types.ts';
import { sized } from '../table/builders.ts';
import type { Cpu } from '../cpu.ts';
import { S, Seg, FLAG_DF, FLAG_TF } from '../state.ts';
import { A_A32, A_REP, A_REPNE } from '../decoded.ts';
import { getZF, setLazy, LZ_SUB, SZ8, SZ16, SZ32, SIZE_MASK as MASK } from '../flags.ts';
import { checkIo } from './io.ts';

/** One element of a string instruction: sz is SZ8/16/32, a32 the address size. */
type ElemFn = (cpu: Cpu, i: number, sz: number, a32: boolean) => void;
/** A bulk run of a repeated instruction: returns the elements done (0: take the per-element path). */
type FastFn = (cpu: Cpu, i: number, sz: number, a32: boolean, count: number, down: boolean) => number;

// ---------------------------------------------------------------- registers and memory by size

function getIndex(cpu: Cpu, a32: boolean, r: number): number {
  return a32 ? cpu.st[r] : cpu.st16[r << 1];
}

function addIndex(cpu: Cpu, a32: boolean, r: number, delta: number): void {
  if (a32) cpu.st[r] = cpu.st[r] + delta;
  else cpu.st16[r << 1] = cpu.st16[r << 1] + delta;
}

/** The per-element step: ±element size by DF. */
function delta(cpu: Cpu, sz: number): number {
  return cpu.st[S.EFLAGS] & FLAG_DF ? -(1 << sz) : 1 << sz;
}

function readMem(cpu: Cpu, sz: number, seg: number, off: number): number {
  return sz === SZ8 ? cpu.read8(seg, off) : sz === SZ16 ? cpu.read16(seg, off) : cpu.read32(seg, off);
}

function writeMem(cpu: Cpu, sz: number, seg: number, off: number, v: number): void {
  if (sz === SZ8) cpu.write8(seg, off, v);
  else if (sz === SZ16) cpu.write16(seg, off, v);
  else cpu.write32(seg, off, v);
}

function getAcc(cpu: Cpu, sz: number): number {
  return sz === SZ8 ? cpu.st8[0] : sz === SZ16 ? cpu.st16[0] : cpu.st[S.EAX];
}

function setAcc(cpu: Cpu, sz: number, v: number): void {
  if (sz === SZ8) cpu.st8[0] = v;
  else if (sz === SZ16) cpu.st16[0] = v;
  else cpu.st[S.EAX] = v;
}

// ---------------------------------------------------------------- single elements

const movsOnce: ElemFn = (cpu, i, sz, a32) => {
  const v = readMem(cpu, sz, cpu.pool.seg[i], getIndex(cpu, a32, S.ESI));
  writeMem(cpu, sz, Seg.ES, getIndex(cpu, a32, S.EDI), v);
  const d = delta(cpu, sz);
  addIndex(cpu, a32, S.ESI, d);
  addIndex(cpu, a32, S.EDI, d);
};

/** CMPS compares source minus destination: flags as CMP [eSI], [eDI]. */
const cmpsOnce: ElemFn = (cpu, i, sz, a32) => {
  const a = readMem(cpu, sz, cpu.pool.seg[i], getIndex(cpu, a32, S.ESI));
  const b = readMem(cpu, sz, Seg.ES, getIndex(cpu, a32, S.EDI));
  setLazy(cpu.st, LZ_SUB | sz, a, b, (a - b) & MASK[sz]);
  const d = delta(cpu, sz);
  addIndex(cpu, a32, S.ESI, d);
  addIndex(cpu, a32, S.EDI, d);
};

const stosOnce: ElemFn = (cpu, _i, sz, a32) => {
  writeMem(cpu, sz, Seg.ES, getIndex(cpu, a32, S.EDI), getAcc(cpu, sz));
  addIndex(cpu, a32, S.EDI, delta(cpu, sz));
};

const lodsOnce: ElemFn = (cpu, i, sz, a32) => {
  setAcc(cpu, sz, readMem(cpu, sz, cpu.pool.seg[i], getIndex(cpu, a32, S.ESI)));
  addIndex(cpu, a32, S.ESI, delta(cpu, sz));
};

const scasOnce: ElemFn = (cpu, _i, sz, a32) => {
  const a = getAcc(cpu, sz);
  const b = readMem(cpu, sz, Seg.ES, getIndex(cpu, a32, S.EDI));
  setLazy(cpu.st, LZ_SUB | sz, a, b, (a - b) & MASK[sz]);
  addIndex(cpu, a32, S.EDI, delta(cpu, sz));
};

const insOnce: ElemFn = (cpu, _i, sz, a32) => {
  const port = cpu.st16[S.EDX << 1];
  const bytes = 1 << sz;
  checkIo(cpu, port, bytes);
  // Check the destination before reading the port, so a faulting INS (which is
  // restarted) does not consume device data.
  const lin = cpu.lin(Seg.ES, getIndex(cpu, a32, S.EDI), bytes);
  cpu.probeWrite(lin, bytes);
  if (sz === SZ8) cpu.writeLin8(lin, cpu.bus.in8(port));
  else if (sz === SZ16) cpu.writeLin16(lin, cpu.bus.in16(port));
  else cpu.writeLin32(lin, cpu.bus.in32(port));
  addIndex(cpu, a32, S.EDI, delta(cpu, sz));
};

const outsOnce: ElemFn = (cpu, i, sz, a32) => {
  const port = cpu.st16[S.EDX << 1];
  checkIo(cpu, port, 1 << sz);
  const v = readMem(cpu, sz, cpu.pool.seg[i], getIndex(cpu, a32, S.ESI));
  if (sz === SZ8) cpu.bus.out8(port, v);
  else if (sz === SZ16) cpu.bus.out16(port, v);
  else cpu.bus.out32(port, v);
  addIndex(cpu, a32, S.ESI, delta(cpu, sz));
};

// ---------------------------------------------------------------- bulk runs in RAM

/**
 * Bytes a bulk run may cover, starting with the element at seg:off and going
 * in the direction of travel, in plain RAM accesses: bounded by the segment
 * limit, the 16-bit offset wrap (or offset 0 going down) and the page that
 * holds the first element. 0 when the first element straddles a page or
 * lies past the limit, and for segments this check does not cover
 * (expand-down, unusable): the per-element path handles those, faults included.
 */
function runRoom(cpu: Cpu, seg: number, off: number, a32: boolean, bytes: number, down: boolean): number {
  const st = cpu.st;
  const acc = st[S.SEG_ACCESS + seg];
  if ((acc & 0x10004) !== 0 && (acc & 0x8) === 0) return 0;
  const o = off >>> 0;
  const limit = st[S.SEG_LIMIT + seg] >>> 0;
  const page = (st[S.SEG_BASE + seg] + o) & 0xfff;
  if (o + bytes - 1 > limit || page + bytes > 4096) return 0;
  if (down) return Math.min(o, page) + bytes;
  return Math.min(limit - o + 1, a32 ? 0x1_0000_0000 : 0x1_0000 - o, 4096 - page);
}

/** `phys` if the run [phys, phys+len) is plain RAM, else -1. */
function ramRun(cpu: Cpu, phys: number, len: number): number {
  return phys >= 0 && phys + len <= cpu.ramBytes && cpu.bus.mmioPages[phys >>> 12] === 0 ? phys : -1;
}

/** The destination run as plain RAM (or -1), with any decoded code in it dropped. */
function writableRun(cpu: Cpu, phys: number, len: number): number {
  const pd = ramRun(cpu, phys, len);
  if (pd >= 0 && cpu.codePages[pd >>> 12]) cpu.blocks.invalidateRange(pd, len);
  return pd;
}

/**
 * Copies RAM [ps, ps+len) to [pd, pd+len) as consecutive element moves in the
 * direction of travel would. When the destination lies ahead of the source,
 * moves re-read bytes written earlier (the classic "rep movsb" pattern fill),
 * which memmove does not do; a byte loop in travel order does, provided no
 * single element overlaps itself. Returns false in that last case.
 */
function copyRun(ram: Uint8Array, ps: number, pd: number, len: number, bytes: number, down: boolean): boolean {
  const ahead = down ? ps - pd : pd - ps;
  if (ahead <= 0 || ahead >= len) {
    ram.copyWithin(pd, ps, ps + len);
  } else if (ahead < bytes) {
    return false;
  } else if (down) {
    for (let k = len - 1; k >= 0; k--) ram[pd + k] = ram[ps + k];
  } else {
    for (let k = 0; k < len; k++) ram[pd + k] = ram[ps + k];
  }
  return true;
}

const fastMovs: FastFn = (cpu, i, sz, a32, count, down) => {
  const st = cpu.st;
  const bytes = 1 << sz;
  const seg = cpu.pool.seg[i];
  const si = getIndex(cpu, a32, S.ESI), di = getIndex(cpu, a32, S.EDI);
  const room = Math.min(runRoom(cpu, seg, si, a32, bytes, down), runRoom(cpu, Seg.ES, di, a32, bytes, down));
  const n = Math.min(count, room >>> sz);
  if (n === 0) return 0;
  const len = n << sz;
  // Runs are translated at their first element (same page as the whole run),
  // source before destination: the fault order of the per-element path.
  const back = down ? len - bytes : 0;
  const ps = ramRun(cpu, cpu.translateRead((st[S.SEG_BASE + seg] + si) | 0) - back, len);
  if (ps < 0) return 0;
  const pd = writableRun(cpu, cpu.translateWrite((st[S.SEG_BASE + Seg.ES] + di) | 0) - back, len);
  if (pd < 0 || !copyRun(cpu.ram8, ps, pd, len, bytes, down)) return 0;
  addIndex(cpu, a32, S.ESI, down ? -len : len);
  addIndex(cpu, a32, S.EDI, down ? -len : len);
  return n;
};

const fastStos: FastFn = (cpu, _i, sz, a32, count, down) => {
  const st = cpu.st;
  const bytes = 1 << sz;
  const di = getIndex(cpu, a32, S.EDI);
  const n = Math.min(count, runRoom(cpu, Seg.ES, di, a32, bytes, down) >>> sz);
  if (n === 0) return 0;
  const len = n << sz;
  const pd = writableRun(cpu, cpu.translateWrite((st[S.SEG_BASE + Seg.ES] + di) | 0) - (down ? len - bytes : 0), len);
  if (pd < 0) return 0;
  // Elements are contiguous either way, so the run is one pattern from its low end.
  fillPattern(cpu, pd, len, sz, getAcc(cpu, sz));
  addIndex(cpu, a32, S.EDI, down ? -len : len);
  return n;
};

/** Fills RAM [pd, pd+len) with the little-endian element v of size 1 << sz. */
function fillPattern(cpu: Cpu, pd: number, len: number, sz: number, v: number): void {
  const bytes = 1 << sz;
  if (sz === SZ8) cpu.ram8.fill(v, pd, pd + len);
  else if ((pd & (bytes - 1)) === 0) {
    if (sz === SZ16) cpu.ram16.fill(v, pd >>> 1, (pd + len) >>> 1);
    else cpu.ram32.fill(v, pd >>> 2, (pd + len) >>> 2);
  } else {
    // Unaligned: write one element, then double the filled prefix.
    const ram = cpu.ram8;
    for (let k = 0; k < bytes; k++) ram[pd + k] = v >>> (8 * k);
    for (let done = bytes; done < len; done *= 2) ram.copyWithin(pd + done, pd, pd + Math.min(done, len - done));
  }
}

// ---------------------------------------------------------------- the repeat loop

/** Work allowed per execution: a per-element iteration costs 16 units, a bulk run 1 unit per 4 bytes. */
const WORK_BUDGET = 4096 * 16;
const ELEMENT_COST = 16;

function setCount(cpu: Cpu, a32: boolean, count: number): void {
  if (a32) cpu.st[S.ECX] = count;
  else cpu.st16[S.ECX << 1] = count;
}

/** Stops after this execution without finishing: the instruction runs again from its start. */
function yieldRepeat(cpu: Cpu): void {
  cpu.st[S.EIP] = cpu.st[S.EIP_START];
  cpu.st[S.BLOCK_EXIT] = 1;
}

function repeat(cpu: Cpu, i: number, sz: number, elem: ElemFn, fast: FastFn | null, compare: boolean): void {
  const st = cpu.st;
  const attrs = cpu.pool.attrs[i];
  const a32 = (attrs & A_A32) !== 0;
  let count = a32 ? st[S.ECX] >>> 0 : cpu.st16[S.ECX << 1];
  if (count === 0) return;
  // REPE stops when ZF=0, REPNE when ZF=1 (only CMPS and SCAS test it).
  const stopZf = attrs & A_REPNE ? 1 : 0;
  // Under single-step, each iteration traps (the rewound instruction then continues).
  let budget = st[S.EFLAGS] & FLAG_TF ? 1 : WORK_BUDGET;
  const bulk = fast !== null && budget > 1;
  const down = (st[S.EFLAGS] & FLAG_DF) !== 0;
  for (;;) {
    const n = bulk ? fast(cpu, i, sz, a32, count, down) : 0;
    if (n > 0) {
      count -= n;
      budget -= Math.max(1, (n << sz) >>> 2);
    } else {
      elem(cpu, i, sz, a32);
      count--;
      budget -= ELEMENT_COST;
    }
    setCount(cpu, a32, count);
    if (count === 0 || (compare && getZF(st) === stopZf)) return;
    if (budget <= 0 || cpu.stopRequested) {
      yieldRepeat(cpu);
      return;
    }
  }
}

// ---------------------------------------------------------------- table

function stringExec(sz: number, elem: ElemFn, fast: FastFn | null, compare: boolean): ExecFn {
  return (cpu, i) => {
    const attrs = cpu.pool.attrs[i];
    // F2 on a non-comparing string instruction repeats like F3, as on Intel hardware.
    if (attrs & (A_REP | A_REPNE)) repeat(cpu, i, sz, elem, fast, compare);
    else elem(cpu, i, sz, (attrs & A_A32) !== 0);
  };
}

interface StringForm {
  opcode: number;
  base: string;
  /** Operand forms for the byte and the word/dword entries. */
  forms: [string, string];
  elem: ElemFn;
  fast?: FastFn;
  compare?: boolean;
  io?: boolean;
}

const FORMS: StringForm[] = [
  { opcode: 0xa4, base: 'movs', forms: ['Yb,Xb', 'Yv,Xv'], elem: movsOnce, fast: fastMovs },
  { opcode: 0xa6, base: 'cmps', forms: ['Xb,Yb', 'Xv,Yv'], elem: cmpsOnce, compare: true },
  { opcode: 0xaa, base: 'stos', forms: ['Yb,AL', 'Yv,eAX'], elem: stosOnce, fast: fastStos },
  { opcode: 0xac, base: 'lods', forms: ['AL,Xb', 'eAX,Xv'], elem: lodsOnce },
  { opcode: 0xae, base: 'scas', forms: ['AL,Yb', 'eAX,Yv'], elem: scasOnce, compare: true },
  { opcode: 0x6c, base: 'ins', forms: ['Yb,DX', 'Yz,DX'], elem: insOnce, io: true },
  { opcode: 0x6e, base: 'outs', forms: ['DX,Xb', 'DX,Xz'], elem: outsOnce, io: true },
];

function stringEntries(f: StringForm): InsnDef[] {
  const compare = f.compare === true;
  const fast = f.fast ?? null;
  const meta = {
    rep: true,
    flagsRead: Fl.DF,
    flagsWritten: compare ? Fl.ARITH : 0,
    // Port I/O is IOPL/bitmap-checked and can change the machine under the CPU (like IN/OUT).
    ...(f.io ? { privileged: true, endsBlock: true } : {}),
  };
  const [w, d] = sized({ opcode: f.opcode + 1, mnemonic: f.base + 'w', operands: f.forms[1], ...meta },
    stringExec(SZ16, f.elem, fast, compare), stringExec(SZ32, f.elem, fast, compare));
  d.mnemonic = f.base + 'd';
  return [
    { opcode: f.opcode, mnemonic: f.base + 'b', operands: f.forms[0], ...meta, exec: stringExec(SZ8, f.elem, fast, compare) },
    w, d,
  ];
}

export const stringOps: InsnDef[] = FORMS.flatMap(stringEntries);
