// Atomic read-modify-write instructions: XADD, CMPXCHG, CMPXCHG8B, and BSWAP;
// also the prefetch hints (0F 0D, 0F 18), which only touch the memory system.
// There is one CPU, so LOCK needs no extra work: each instruction already
// checks write access before its read and finishes its stores before anyone
// else runs. The decoder rejects LOCK on register destinations (#UD).
import type { InsnDef } from '../table/types.ts';
import { Fl } from '../table/types.ts';
import { sized } from '../table/builders.ts';
import type { Cpu } from '../cpu.ts';
import { S, FLAG_ZF } from '../state.ts';
import { A_REG } from '../decoded.ts';
import { setLazy, LZ_ADD, LZ_SUB, SZ8, SZ16, SZ32, setFlagBits, SIZE_MASK as MASK } from '../flags.ts';
import { effectiveAddress, getG8, getG16, getG32, setG8, setG16, setG32, rmwLinear, REG8_OFFSET } from '../operands.ts';

// ---------------------------------------------------------------- E-operand access by size

/**
 * Register or memory E operand for one instruction: `ePrepare` resolves it
 * (for memory: the write-checked linear address, as a locked RMW checks
 * before reading), then `eRead`/`eWrite` use it. The location lives in
 * module state rather than an object so nothing is allocated.
 */
let eLin = 0;
let eReg = -1;

function ePrepare(cpu: Cpu, i: number, bytes: number): void {
  const p = cpu.pool;
  if (p.attrs[i] & A_REG) {
    eReg = p.rm[i];
  } else {
    eReg = -1;
    eLin = rmwLinear(cpu, i, bytes);
  }
}

function eRead(cpu: Cpu, sz: number): number {
  if (eReg >= 0) return sz === SZ8 ? cpu.st8[REG8_OFFSET[eReg]] : sz === SZ16 ? cpu.st16[eReg << 1] : cpu.st[eReg];
  return sz === SZ8 ? cpu.readLin8(eLin) : sz === SZ16 ? cpu.readLin16(eLin) : cpu.readLin32(eLin);
}

function eWrite(cpu: Cpu, sz: number, v: number): void {
  if (eReg >= 0) {
    if (sz === SZ8) cpu.st8[REG8_OFFSET[eReg]] = v;
    else if (sz === SZ16) cpu.st16[eReg << 1] = v;
    else cpu.st[eReg] = v;
  } else if (sz === SZ8) cpu.writeLin8(eLin, v);
  else if (sz === SZ16) cpu.writeLin16(eLin, v);
  else cpu.writeLin32(eLin, v);
}

const BYTES = [1, 2, 4];
const getG = [getG8, getG16, getG32];
const setG = [setG8, setG16, setG32];

// ---------------------------------------------------------------- XADD

/** TEMP = DEST + SRC; SRC = DEST; DEST = TEMP (the destination is written last, so XADD r,r with r=r gives the sum). */
function xadd(cpu: Cpu, i: number, sz: number): void {
  ePrepare(cpu, i, BYTES[sz]);
  const dst = eRead(cpu, sz);
  const src = getG[sz](cpu, i);
  const sum = (dst + src) & MASK[sz];
  setG[sz](cpu, i, dst);
  eWrite(cpu, sz, sum);
  setLazy(cpu.st, LZ_ADD | sz, dst, src, sum);
}

// ---------------------------------------------------------------- CMPXCHG

/**
 * Compares the accumulator with DEST (flags as CMP acc, DEST). Equal: DEST =
 * SRC. Not equal: acc = DEST, and DEST is written back unchanged, since the
 * processor always performs the write cycle.
 */
function cmpxchg(cpu: Cpu, i: number, sz: number): void {
  const st = cpu.st;
  ePrepare(cpu, i, BYTES[sz]);
  const dst = eRead(cpu, sz);
  const m = MASK[sz];
  const acc = sz === SZ8 ? cpu.st8[0] : sz === SZ16 ? cpu.st16[0] : st[S.EAX];
  setLazy(st, LZ_SUB | sz, acc, dst, (acc - dst) & m);
  if (acc === dst) {
    eWrite(cpu, sz, getG[sz](cpu, i));
  } else {
    eWrite(cpu, sz, dst);
    if (sz === SZ8) cpu.st8[0] = dst;
    else if (sz === SZ16) cpu.st16[0] = dst;
    else st[S.EAX] = dst;
  }
}

/** CMPXCHG8B m64: compares EDX:EAX with m64; only ZF changes. */
function cmpxchg8b(cpu: Cpu, i: number): void {
  const st = cpu.st;
  const p = cpu.pool;
  const lin = cpu.lin(p.seg[i], effectiveAddress(cpu, i), 8);
  cpu.probeWrite(lin, 8);
  const hiLin = (lin + 4) | 0;
  const lo = cpu.readLin32(lin), hi = cpu.readLin32(hiLin);
  if (lo === st[S.EAX] && hi === st[S.EDX]) {
    cpu.writeLin32(lin, st[S.EBX]);
    cpu.writeLin32(hiLin, st[S.ECX]);
    setFlagBits(st, FLAG_ZF, FLAG_ZF);
  } else {
    cpu.writeLin32(lin, lo);
    cpu.writeLin32(hiLin, hi);
    st[S.EAX] = lo;
    st[S.EDX] = hi;
    setFlagBits(st, FLAG_ZF, 0);
  }
}

// ---------------------------------------------------------------- BSWAP

function bswap32(v: number): number {
  return (v << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24);
}

const bswap: InsnDef[] = [];
for (let r = 0; r < 8; r++) {
  bswap.push(...sized({ opcode: 0x0fc8 + r, mnemonic: 'bswap', operands: 'Zv' },
    // 16-bit BSWAP is undefined; P6-family parts (and the AMD host) clear the low word.
    (cpu, i) => { cpu.st16[cpu.pool.reg[i] << 1] = 0; },
    (cpu, i) => { const g = cpu.pool.reg[i]; cpu.st[g] = bswap32(cpu.st[g]); }));
}

// ---------------------------------------------------------------- prefetch hints

// Prefetches never fault and have no architectural effect. 0F 18 is in the
// hint-NOP space (all forms execute); 0F 0D (PREFETCH/PREFETCHW) is #UD on a
// Pentium Pro but a hint on every later CPU (and the AMD host) and harmless
// to accept; its register forms stay #UD, as on the host.
const hint = (): void => {};
const prefetchHints: InsnDef[] = [
  { opcode: 0x0f0d, mod: 'mem', mnemonic: 'prefetch', operands: 'Mb', exec: hint },
  { opcode: 0x0f0d, ext: 1, mod: 'mem', mnemonic: 'prefetchw', operands: 'Mb', exec: hint },
  ...['prefetchnta', 'prefetcht0', 'prefetcht1', 'prefetcht2'].map((mnemonic, ext): InsnDef => ({
    opcode: 0x0f18, ext, mod: 'mem', mnemonic, operands: 'Mb', exec: hint,
  })),
  { opcode: 0x0f18, mnemonic: 'nop', operands: 'Ev', exec: hint },
];

// ---------------------------------------------------------------- table

const addFlags = { flagsWritten: Fl.ARITH };
export const atomicOps: InsnDef[] = [
  { opcode: 0x0fc0, mnemonic: 'xadd', operands: 'Eb,Gb', lockable: true, ...addFlags, exec: (cpu, i) => xadd(cpu, i, SZ8) },
  ...sized({ opcode: 0x0fc1, mnemonic: 'xadd', operands: 'Ev,Gv', lockable: true, ...addFlags },
    (cpu, i) => xadd(cpu, i, SZ16), (cpu, i) => xadd(cpu, i, SZ32)),
  { opcode: 0x0fb0, mnemonic: 'cmpxchg', operands: 'Eb,Gb', lockable: true, ...addFlags, exec: (cpu, i) => cmpxchg(cpu, i, SZ8) },
  ...sized({ opcode: 0x0fb1, mnemonic: 'cmpxchg', operands: 'Ev,Gv', lockable: true, ...addFlags },
    (cpu, i) => cmpxchg(cpu, i, SZ16), (cpu, i) => cmpxchg(cpu, i, SZ32)),
  // Register forms (mod = 3) have no entry, so they decode as invalid: #UD.
  { opcode: 0x0fc7, ext: 1, mod: 'mem', mnemonic: 'cmpxchg8b', operands: 'Mq', lockable: true, flagsWritten: Fl.ZF, exec: cmpxchg8b },
  ...bswap,
  ...prefetchHints,
];
