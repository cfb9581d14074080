// The JS block compiler: turns a few hot decoded blocks of one 4 KiB code
// page into one JavaScript function (a "region"), generated as source text
// and compiled with `new Function`, so that the JS engine optimises each
// guest instruction in place instead of dispatching through the handler table.
//
// Inside a region:
//  - the commonest instruction forms (MOV/ALU/TEST/INC/DEC/NEG/NOT/LEA/PUSH/
//    POP/XCHG/MOVZX/MOVSX/SETcc/CMOVcc/shifts/IMUL/MUL/Jcc/JMP/CALL/RET/LOOP)
//    become specialised JS with register numbers, immediates and
//    displacements as constants; registers are written through to the state
//    at once but read from JS locals within a block;
//  - memory operands take an inline TLB fast path (flat or based segments
//    with 4 GiB limits, RAM pages, no page crossing; DataView for 16/32 bits);
//  - every other instruction is a direct (monomorphic, inlinable) call to its
//    table handler with the slot index as a constant;
//  - lazy flags are kept in JS locals while no one can observe them and are
//    stored (exactly as the handlers would store them) before anything that
//    may call out or leave the block; a Jcc/SETcc/CMOVcc after CMP/SUB/TEST/
//    AND/ADD/INC/DEC tests its condition on the operands directly;
//  - branches to blocks of the same region continue in a `for (;;) switch`
//    loop after the checks the interpreter makes between blocks (instruction
//    budget, pending interrupt, stop request).
//
// Exactness: a region executes exactly the instructions the interpreter
// would, with the same state at every block boundary, fault and exit:
//  - a memory access off the fast path (TLB miss, MMIO, a page holding
//    decoded code, page crossing, segment end) leaves the region *before*
//    the instruction, and the interpreter runs it and the rest of its block
//    (EXIT_SLOW). So the only stores a region makes itself go to RAM pages
//    without code, and self-modifying code is always seen by the
//    interpreter's slow path, which drops the page's blocks and regions;
//  - a handler that may fault runs after the region records a site number
//    (`f`); the catch hands it to the interpreter, which maps it to the
//    instruction's EIP and the count of instructions completed;
//  - BLOCK_EXIT (mode changes, REP yields, code invalidation) is honoured
//    after every handler call, and a block-ending handler leaves the region.
//
// The JS engine speculates on what it has seen run: a path it compiled
// without ever running costs a deoptimisation the first time it runs. So
// every exit only assigns locals and breaks out of the loop, and the one
// epilogue that stores them runs on every exit; branch checks are branch-free.
//
// A region is only entered in flat 32-bit code (CS base 0, limit 4 GiB, 32-bit
// code and stack, not V86) with the segments it inlines as they were when it
// was compiled; the guard is checked at every entry and the interpreter runs
// the block otherwise.
import { INSTRUCTIONS, EXEC } from '../table/index.ts';
import type { InsnDef } from '../table/types.ts';
import { NEEDS_EIP, ENDS_BLOCK } from '../decoder.ts';
import { A_A32, A_REG, A_MODRM, NO_REG, type DecodedPool } from '../decoded.ts';
import { S, Seg, FLAGS_ARITH, FLAG_CF } from '../state.ts';
import { PARITY, getCF, setLazyPartial, testCondition, LZ_ADD, LZ_ADC, LZ_SUB, LZ_SBB, LZ_LOGIC } from '../flags.ts';
import { REG8_OFFSET } from '../operands.ts';
import { systemOps } from '../ops/system.ts';
import { segmentOps } from '../ops/segment.ts';
import { descriptor_opsOps } from '../ops/descriptor-ops.ts';
import { ioOps } from '../ops/io.ts';
import { cpuid_msrOps } from '../ops/cpuid-msr.ts';
import { mulHighU, mulHighS } from '../ops/muldiv.ts';
import type { Cpu } from '../cpu.ts';
import type { RegionRuntime } from './runtime.ts';

// ------------------------------------------------------------------ classification

/** Inline forms. Everything else is a handler call. */
const enum K {
  NONE = 0,
  ALU_EG, ALU_GE, ALU_AI, ALU_EI,
  TEST_EG, TEST_AI, TEST_EI,
  INCDEC_Z, INCDEC_E, NOT_E, NEG_E,
  MOV_EG, MOV_GE, MOV_ZI, MOV_EI, MOV_AO, MOV_OA, MOVZX, MOVSX, LEA,
  PUSH_Z, POP_Z, PUSH_I, PUSH_E,
  JCC, JMP_REL, CALL_REL, RET, RET_I, JMP_E, CALL_E, LOOP, JECXZ,
  SETCC, CMOV, XCHG_Z, XCHG_EG, NOP, CLC, STC, CLD, STD, CWDE, CDQ,
  SHIFT, IMUL2, IMUL3, MUL1,
}

interface Info {
  k: K;
  /** Operand size index: 0 = 8, 1 = 16, 2 = 32. */
  sz: number;
  /** ALU kind (ADD OR ADC SBB AND SUB XOR CMP), condition code, inc(0)/dec(1), shift kind... */
  op: number;
  /** Source size index for MOVZX/MOVSX; shift count form (0 imm, 1 one, 2 CL). */
  x: number;
}

const NONE: Info = { k: K.NONE, sz: 0, op: 0, x: 0 };

function szOf(d: InsnDef, byteForm: boolean): number {
  if (byteForm) return 0;
  return d.osize === 16 ? 1 : 2;
}

function classify(d: InsnDef): Info {
  const o = d.opcode;
  const info = (k: K, sz: number, op = 0, x = 0): Info => ({ k, sz, op, x });
  if (o < 0) return NONE;
  if (o < 0x40 && (o & 7) < 6) {
    const kind = o >> 3, form = o & 7;
    const byte = (form & 1) === 0;
    const sz = szOf(d, byte);
    if (form < 2) return info(K.ALU_EG, sz, kind);
    if (form < 4) return info(K.ALU_GE, sz, kind);
    return info(K.ALU_AI, form === 4 ? 0 : sz, kind);
  }
  if (o >= 0x80 && o <= 0x83 && d.ext !== undefined) return info(K.ALU_EI, szOf(d, o !== 0x81 && o !== 0x83), d.ext);
  if (o === 0x84 || o === 0x85) return info(K.TEST_EG, szOf(d, o === 0x84), 4);
  if (o === 0xa8 || o === 0xa9) return info(K.TEST_AI, szOf(d, o === 0xa8), 4);
  if ((o === 0xf6 || o === 0xf7) && d.ext !== undefined) {
    const sz = szOf(d, o === 0xf6);
    if (d.ext <= 1) return info(K.TEST_EI, sz, 4);
    if (d.ext === 2) return info(K.NOT_E, sz);
    if (d.ext === 3) return info(K.NEG_E, sz);
    return NONE;
  }
  if (o >= 0x40 && o <= 0x4f) return info(K.INCDEC_Z, szOf(d, false), o >= 0x48 ? 1 : 0);
  if ((o === 0xfe || o === 0xff) && (d.ext === 0 || d.ext === 1)) return info(K.INCDEC_E, szOf(d, o === 0xfe), d.ext);
  if (o === 0xff && d.ext === 2 && d.osize === 32) return info(K.CALL_E, 2);
  if (o === 0xff && d.ext === 4 && d.osize === 32) return info(K.JMP_E, 2);
  if (o === 0xff && d.ext === 6 && d.osize === 32) return info(K.PUSH_E, 2);
  if (o === 0x88 || o === 0x89) return info(K.MOV_EG, szOf(d, o === 0x88));
  if (o === 0x8a || o === 0x8b) return info(K.MOV_GE, szOf(d, o === 0x8a));
  if (o === 0x8d) return info(K.LEA, szOf(d, false));
  if (o >= 0xb0 && o <= 0xbf) return info(K.MOV_ZI, szOf(d, o < 0xb8));
  if ((o === 0xc6 || o === 0xc7) && d.ext === 0) return info(K.MOV_EI, szOf(d, o === 0xc6));
  if (o === 0xa0 || o === 0xa1) return info(K.MOV_AO, szOf(d, o === 0xa0));
  if (o === 0xa2 || o === 0xa3) return info(K.MOV_OA, szOf(d, o === 0xa2));
  if (o === 0x0fb6 || o === 0x0fb7) return info(K.MOVZX, szOf(d, false), 0, o === 0x0fb6 ? 0 : 1);
  if (o === 0x0fbe || o === 0x0fbf) return info(K.MOVSX, szOf(d, false), 0, o === 0x0fbe ? 0 : 1);
  if (o >= 0x50 && o <= 0x57 && d.osize === 32) return info(K.PUSH_Z, 2);
  if (o >= 0x58 && o <= 0x5f && d.osize === 32) return info(K.POP_Z, 2);
  if ((o === 0x68 || o === 0x6a) && d.osize === 32) return info(K.PUSH_I, 2);
  if ((o >= 0x70 && o <= 0x7f) || (o >= 0x0f80 && o <= 0x0f8f)) return d.osize === 32 ? info(K.JCC, 2, o & 15) : NONE;
  if ((o === 0xeb || o === 0xe9) && d.osize === 32) return info(K.JMP_REL, 2);
  if (o === 0xe8 && d.osize === 32) return info(K.CALL_REL, 2);
  if (o === 0xc3 && d.osize === 32) return info(K.RET, 2);
  if (o === 0xc2 && d.osize === 32) return info(K.RET_I, 2);
  if (o === 0xe2 && d.osize === 32) return info(K.LOOP, 2);
  if (o === 0xe3 && d.osize === 32) return info(K.JECXZ, 2);
  if (o >= 0x0f90 && o <= 0x0f9f) return info(K.SETCC, 0, o & 15);
  if (o >= 0x0f40 && o <= 0x0f4f) return info(K.CMOV, szOf(d, false), o & 15);
  if (o >= 0x91 && o <= 0x97) return info(K.XCHG_Z, szOf(d, false));
  if (o === 0x86 || o === 0x87) return info(K.XCHG_EG, szOf(d, o === 0x86));
  if (o === 0x90 || (o >= 0x0f19 && o <= 0x0f1f)) return info(K.NOP, 0);
  if (o === 0xf8) return info(K.CLC, 0);
  if (o === 0xf9) return info(K.STC, 0);
  if (o === 0xfc) return info(K.CLD, 0);
  if (o === 0xfd) return info(K.STD, 0);
  if (o === 0x98 && d.osize === 32) return info(K.CWDE, 2);
  if (o === 0x99 && d.osize === 32) return info(K.CDQ, 2);
  // ROL/ROR/SHL/SAL/SHR/SAR by an immediate, by 1 or by CL (RCL/RCR go to the handler).
  if ((o === 0xc0 || o === 0xc1 || o === 0xd0 || o === 0xd1 || o === 0xd2 || o === 0xd3) &&
      d.ext !== undefined && d.ext !== 2 && d.ext !== 3) {
    const x = o <= 0xc1 ? 0 : o <= 0xd1 ? 1 : 2;
    return info(K.SHIFT, szOf(d, (o & 1) === 0), d.ext === 6 ? 4 : d.ext, x);
  }
  if (o === 0x0faf) return info(K.IMUL2, szOf(d, false));
  if (o === 0x69 || o === 0x6b) return info(K.IMUL3, szOf(d, false));
  if (o === 0xf7 && (d.ext === 4 || d.ext === 5) && d.osize === 32) return info(K.MUL1, 2, d.ext);
  return NONE;
}

const INFO: Info[] = INSTRUCTIONS.map(classify);

/**
 * Handlers that may change segment registers, CPL, paging or the TLB without
 * ending the block: after one, the rest of the block uses the generic memory
 * paths and the block does not continue inside the region.
 */
const UNSAFE = new Uint8Array(INSTRUCTIONS.length);
{
  const families = new Set<InsnDef>([...systemOps, ...segmentOps, ...descriptor_opsOps, ...ioOps, ...cpuid_msrOps]);
  INSTRUCTIONS.forEach((d, i) => { if (families.has(d)) UNSAFE[i] = 1; });
}

/** The EIPs a block may continue at by a direct branch or falling through (indirect branches excluded). */
export function blockSuccessors(pool: DecodedPool, first: number, blockEip: number): number[] {
  const n = pool.blockLen[first];
  const i = first + n - 1;
  const next = (blockEip + pool.eipOff[i] + pool.len[i]) | 0;
  const info = INFO[pool.def[i]];
  switch (info.k) {
    case K.JCC: case K.LOOP: case K.JECXZ: return [(next + pool.imm[i]) | 0, next];
    case K.JMP_REL: return [(next + pool.imm[i]) | 0];
    // A call's return address usually follows soon.
    case K.CALL_REL: return [(next + pool.imm[i]) | 0, next];
    case K.CALL_E: return [next];
    case K.RET: case K.RET_I: case K.JMP_E: return [];
    default: return ENDS_BLOCK[pool.def[i]] ? [] : [next];
  }
}

// ------------------------------------------------------------------ region description

export interface RegionBlockIn {
  /** First pool slot of the block. */
  slot: number;
  /** Linear address (= EIP: regions run with CS base 0) of its first instruction. */
  eip: number;
}

export interface Region {
  /** Runs from block `entry` with at most `budget` instructions; returns the count executed, or -1 if the guard failed. */
  fn: (entry: number, budget: number) => number;
  physPage: number;
  linPage: number;
  /** First pool slots of the blocks, by entry index. */
  slots: number[];
  /** Fault sites: pool slot, EIP, index within its block, and whether the handler keeps EIP_START. */
  siteSlot: Int32Array;
  siteEip: Int32Array;
  siteK: Int32Array;
  siteKeep: Uint8Array;
  instructions: number;
  /** Generated source (kept for debugging when requested). */
  source?: string;
}

const SIZE_MASK = ['255', '65535', '-1'];
const SIGN_SHIFT = [7, 15, 31];
const NOT_CF = FLAGS_ARITH & ~FLAG_CF;

/** Compile-time view of the lazy-flag state: which JS locals hold the last flag-setting operation. */
interface Pend {
  op: number;
  a: string;
  b: string;
  r: string;
  mask: number;
  /** For mask NOT_CF: the CF value as a JS expression, or null when EFLAGS.CF in the state is current. */
  cf: string | null;
  /** Whether the state words already hold this (then flushing stores nothing). */
  stored: boolean;
}

/** 1 when an interrupt would be taken at a block boundary (IRQ pending and IF set), else 0; branch-free. */
const IRQ_NOW = `(((st[${S.IRQ_PENDING}] | -st[${S.IRQ_PENDING}]) >>> 31) & (st[${S.EFLAGS}] >>> 9))`;

/** Exit kinds a region reports in cpu.jitExit. */
export const EXIT_BRANCH = 0, EXIT_SLOW = 1, EXIT_HANDLER = 2;

/** How a segment's memory operands are addressed inside a region. */
const enum SegMode { GENERIC = 0, FLAT = 1, BASED = 2 }

class BlockGen {
  out: string[] = [];
  pend: Pend | null = null;
  /** A handler that may change segments/paging ran in this block. */
  unsafe = false;
  tmpN = 0;
  /** The instruction being generated: index in block, EIP, block length (for exits). */
  k = 0;
  eip = 0;
  n = 0;

  constructor(private readonly rc: RegionCompiler) {}

  t(): string {
    return `t${this.tmpN++}`;
  }
  emit(s: string): void {
    this.out.push(s);
  }

  // ---- lazy flags

  flushCode(): string {
    const p = this.pend;
    if (p === null || p.stored) return '';
    let s = '';
    if (p.mask === NOT_CF && p.cf !== null) s += `st[${S.EFLAGS}] = (st[${S.EFLAGS}] & -2) | ${p.cf}; `;
    s += `st[${S.LAZY_OP}] = ${p.op}; st[${S.LAZY_A}] = ${p.a}; st[${S.LAZY_B}] = ${p.b}; st[${S.LAZY_RES}] = ${p.r}; st[${S.LAZY_MASK}] = ${p.mask};`;
    return s;
  }
  flush(): void {
    const c = this.flushCode();
    if (c) this.emit(c);
    if (this.pend) this.pend.stored = true;
  }
  setPend(op: number, a: string, b: string, r: string): void {
    this.pend = { op, a, b, r, mask: FLAGS_ARITH, cf: null, stored: false };
  }

  /** flags.ts setResultFlags: SF ZF PF lazy from r, CF OF AF explicit (the previous record is stored first, as the handlers leave it). */
  resultFlags(sz: number, r: string, coa: string): void {
    this.flush();
    this.emit(`st[${S.EFLAGS}] = (st[${S.EFLAGS}] & ${~0x811}) | ${coa}; st[${S.LAZY_OP}] = ${LZ_LOGIC | sz}; st[${S.LAZY_RES}] = ${r}; st[${S.LAZY_MASK}] = ${0xc4};`);
    this.pend = null;
  }

  /**
   * Leaves the region before the current instruction, which the interpreter
   * then runs with the rest of its block (a memory access off the fast path:
   * not RAM, not in the TLB, crossing a page, or near a segment's end). Only
   * local assignments here: the region's epilogue does the stores, so a path
   * the JS engine has never run costs no deoptimisation.
   */
  slowExit(): string {
    const p = this.pend;
    let s = `nx = ${this.eip}; why = ${EXIT_SLOW}; dk = ${this.k}; rest = ${this.n - this.k};`;
    if (p !== null && !p.stored) {
      s += ` fo = ${p.op}; fa = ${p.a}; fb = ${p.b}; fr = ${p.r}; fm = ${p.mask};`;
      if (p.mask === NOT_CF && p.cf !== null) s += ` fcm = -2; fcv = ${p.cf};`;
    }
    return `{ ${s} break L; }`;
  }

  /** CF of a known lazy operation as a 0/1 expression (flags.ts carryOf). */
  carryOf(p: Pend): string | null {
    const sz = p.op & 3;
    const m = SIZE_MASK[sz];
    const u = (x: string): string => (sz === 2 ? `(${x} >>> 0)` : `(${x} & ${m})`);
    switch (p.op & ~3) {
      case LZ_ADD: return `(${u(p.r)} < ${u(p.a)} ? 1 : 0)`;
      case LZ_SUB: return `(${u(p.a)} < ${u(p.b)} ? 1 : 0)`;
      case LZ_LOGIC: return '0';
      default: return null;
    }
  }

  /** The current CF as a 0/1 expression (may flush). */
  cfNow(): string {
    const p = this.pend;
    if (p === null) return `getCF(st)`;
    if (p.mask === NOT_CF) return p.cf ?? `(st[${S.EFLAGS}] & 1)`;
    const c = this.carryOf(p);
    if (c !== null) return c;
    this.flush();
    return `getCF(st)`;
  }

  /** A condition (Jcc/SETcc/CMOVcc cc) as a boolean JS expression; may flush. */
  cond(cc: number): string {
    const p = this.pend;
    const neg = (cc & 1) === 1;
    const e = p === null ? null : this.condKnown(p, cc >> 1);
    if (e === null) {
      this.flush();
      return `${neg ? '!' : ''}testCondition(st, ${cc & ~1})`;
    }
    return neg ? `!(${e})` : `(${e})`;
  }

  private condKnown(p: Pend, c: number): string | null {
    const sz = p.op & 3;
    const kind = p.op & ~3;
    const sh = SIGN_SHIFT[sz];
    const m = SIZE_MASK[sz];
    const zf = `${p.r} === 0`;
    const sf = sz === 2 ? `${p.r} < 0` : `(${p.r} & ${1 << sh}) !== 0`;
    const sext = (x: string): string => (sz === 2 ? x : `((${x} << ${32 - 8 * (1 << sz)}) >> ${32 - 8 * (1 << sz)})`);
    const u = (x: string): string => (sz === 2 ? `(${x} >>> 0)` : `(${x} & ${m})`);
    let of: string;
    if (kind === LZ_ADD) of = `((((${p.a} ^ ${p.r}) & (${p.b} ^ ${p.r})) >>> ${sh}) & 1) !== 0`;
    else if (kind === LZ_SUB) of = `((((${p.a} ^ ${p.b}) & (${p.a} ^ ${p.r})) >>> ${sh}) & 1) !== 0`;
    else if (kind === LZ_LOGIC) of = 'false';
    else return null;
    if (c === 2) return zf;
    if (c === 4) return sf;
    if (c === 5) return `PARITY[${p.r} & 255] !== 0`;
    if (c === 0) return of;
    // CF-based and signed conditions.
    if (p.mask === FLAGS_ARITH) {
      if (kind === LZ_SUB) {
        switch (c) {
          case 1: return `${u(p.a)} < ${u(p.b)}`;
          case 3: return `${u(p.a)} <= ${u(p.b)}`;
          case 6: return `${sext(p.a)} < ${sext(p.b)}`;
          case 7: return `${sext(p.a)} <= ${sext(p.b)}`;
        }
      }
      if (kind === LZ_LOGIC) {
        switch (c) {
          case 1: return 'false';
          case 3: return zf;
          case 6: return sf;
          case 7: return sz === 2 ? `${p.r} <= 0` : `(${zf} || ${sf})`;
        }
      }
      const cf = `${this.carryOf(p)} !== 0`;
      switch (c) {
        case 1: return cf;
        case 3: return `(${cf} || ${zf})`;
        case 6: return `((${sf}) !== (${of}))`;
        default: return `(${zf} || ((${sf}) !== (${of})))`;
      }
    }
    if (p.mask === NOT_CF) {
      const cf = `(${p.cf ?? `(st[${S.EFLAGS}] & 1)`}) !== 0`;
      switch (c) {
        case 1: return cf;
        case 3: return `(${cf} || ${zf})`;
        case 6: return `((${sf}) !== (${of}))`;
        default: return `(${zf} || ((${sf}) !== (${of})))`;
      }
    }
    return null;
  }

  // ---- registers
  //
  // Register writes go to the state at once (write-through), but the block
  // remembers which local holds each 32-bit register, so later reads in the
  // same block need no load. Anything that may change registers behind the
  // block's back (a handler call) forgets them.

  /** By register: the local holding its current 32-bit value, if known. */
  private readonly regs: (string | null)[] = [null, null, null, null, null, null, null, null];

  static R(sz: number, r: number): string {
    if (sz === 2) return `st[${r}]`;
    if (sz === 1) return `st16[${r << 1}]`;
    return `st8[${REG8_OFFSET[r]}]`;
  }

  /** A local holding register r at size sz (8-bit: r in ModRM order, AL..BH). */
  rd(sz: number, r: number): string {
    const v = this.t();
    if (sz === 2) {
      const c = this.regs[r];
      if (c !== null) return c;
      this.emit(`const ${v} = st[${r}];`);
      this.regs[r] = v;
      return v;
    }
    const c = this.regs[sz === 0 ? r & 3 : r];
    if (c === null) this.emit(`const ${v} = ${BlockGen.R(sz, r)};`);
    else if (sz === 1) this.emit(`const ${v} = ${c} & 65535;`);
    else this.emit(`const ${v} = ${r < 4 ? `${c} & 255` : `(${c} >>> 8) & 255`};`);
    return v;
  }

  /** Writes expression `v` to register r at size sz. */
  wr(sz: number, r: number, v: string): void {
    if (sz === 2) {
      let l = v;
      if (!/^t\d+$/.test(v)) { l = this.t(); this.emit(`const ${l} = ${v};`); }
      this.emit(`st[${r}] = ${l};`);
      this.regs[r] = l;
      return;
    }
    this.emit(`${BlockGen.R(sz, r)} = ${v};`);
    this.regs[sz === 0 ? r & 3 : r] = null;
  }

  /** Forgets register r (or all) after code that may have changed it. */
  forget(r = -1): void {
    if (r >= 0) this.regs[r] = null;
    else this.regs.fill(null);
  }

  // ---- memory

  /** The offset (effective address) of slot i's memory operand, as a const local. A32 only. */
  ea(pool: DecodedPool, i: number): string {
    const terms: string[] = [];
    const b = pool.eaBase[i], x = pool.eaIndex[i], s = pool.eaScale[i], d = pool.disp[i];
    if (b !== NO_REG) terms.push(this.rd(2, b));
    if (x !== NO_REG) { const xv = this.rd(2, x); terms.push(s ? `(${xv} << ${s})` : xv); }
    const v = this.t();
    if (terms.length === 0) this.emit(`const ${v} = ${d};`);
    else {
      if (d !== 0) terms.push(`${d}`);
      this.emit(`const ${v} = (${terms.join(' + ')}) | 0;`);
    }
    return v;
  }

  /**
   * The linear address of an access of 2^sz bytes at seg:o, as a local, and
   * the extra fast-path condition it needs (the segment-limit check for a
   * segment with a base; flat segments need none beyond the page-crossing test).
   */
  private linear(sz: number, seg: number, o: string, site: number): [string, string] {
    const mode = this.unsafe ? SegMode.GENERIC : this.rc.segMode(seg);
    if (mode === SegMode.FLAT) return [o, ''];
    const l = this.t();
    if (mode === SegMode.BASED) {
      this.emit(`const ${l} = (sb${seg} + ${o}) | 0;`);
      return [l, `(${o} >>> 0) <= ${0xffffffff - ((1 << sz) - 1)} && `];
    }
    // Segment state not known at compile time: the full check (may fault, so the flags are stored first).
    this.flush();
    this.emit(`f = ${site}; const ${l} = cpu.lin(${seg}, ${o}, ${1 << sz});`);
    return [l, ''];
  }

  private static crossCheck(sz: number, l: string): string {
    return sz === 0 ? '' : `(${l} & 4095) <= ${sz === 1 ? 4094 : 4092} && `;
  }

  static readP(sz: number, p: string): string {
    if (sz === 0) return `ram8[${p}]`;
    if (sz === 1) return `dv.getUint16(${p}, true)`;
    return `dv.getInt32(${p}, true)`;
  }
  static writeP(sz: number, p: string, v: string): string {
    if (sz === 0) return `ram8[${p}] = ${v};`;
    if (sz === 1) return `dv.setUint16(${p}, ${v}, true);`;
    return `dv.setInt32(${p}, ${v}, true);`;
  }

  /** Reads 2^sz bytes at seg:o (o a local); returns the local holding the value. */
  read(sz: number, seg: number, o: string, site: number): string {
    const [l, segCheck] = this.linear(sz, seg, o, site);
    const v = this.t(), e = this.t();
    this.emit(`const ${e} = tlb[${l} >>> 12];`);
    this.emit(`if (!(${segCheck}${BlockGen.crossCheck(sz, l)}(${e} & rm) !== 0)) ${this.slowExit()}`);
    this.emit(`const ${v} = ${BlockGen.readP(sz, `((${e} & -4096) | (${l} & 4095))`)};`);
    return v;
  }

  /** Writes local `v` (2^sz bytes) to seg:o. */
  write(sz: number, seg: number, o: string, v: string, site: number): void {
    const [l, segCheck] = this.linear(sz, seg, o, site);
    const e = this.t();
    this.emit(`const ${e} = tlb[${l} >>> 12];`);
    this.emit(`if (!(${segCheck}${BlockGen.crossCheck(sz, l)}(${e} & wm) !== 0)) ${this.slowExit()}`);
    this.emit(BlockGen.writeP(sz, `((${e} & -4096) | (${l} & 4095))`, v));
  }

  /** Starts a read-modify-write of 2^sz bytes at seg:o: returns [value, physical address]. */
  rmwRead(sz: number, seg: number, o: string, site: number): [string, string] {
    const [l, segCheck] = this.linear(sz, seg, o, site);
    const v = this.t(), e = this.t(), p = this.t();
    this.emit(`const ${e} = tlb[${l} >>> 12];`);
    this.emit(`if (!(${segCheck}${BlockGen.crossCheck(sz, l)}(${e} & wm) !== 0)) ${this.slowExit()}`);
    this.emit(`const ${p} = (${e} & -4096) | (${l} & 4095); const ${v} = ${BlockGen.readP(sz, p)};`);
    return [v, p];
  }
  rmwWrite(sz: number, p: string, v: string): void {
    this.emit(BlockGen.writeP(sz, p, v));
  }

  // ---- operands of slot i

  /** Reads the E operand (register or memory). */
  getE(pool: DecodedPool, i: number, sz: number, site: number): string {
    if (pool.attrs[i] & A_REG) return this.rd(sz, pool.rm[i]);
    return this.read(sz, pool.seg[i], this.ea(pool, i), site);
  }
  setE(pool: DecodedPool, i: number, sz: number, v: string, site: number): void {
    if (pool.attrs[i] & A_REG) {
      this.wr(sz, pool.rm[i], v);
      return;
    }
    this.write(sz, pool.seg[i], this.ea(pool, i), v, site);
  }
}

/** ALU result expression for kind (ADD OR ADC SBB AND SUB XOR CMP) on locals a, b (and carry c). */
function aluExpr(kind: number, sz: number, a: string, b: string, c: string): string {
  const wrap = (x: string): string => (sz === 2 ? `(${x}) | 0` : `(${x}) & ${SIZE_MASK[sz]}`);
  switch (kind) {
    case 0: return wrap(`${a} + ${b}`);
    case 1: return sz === 2 ? `${a} | ${b}` : wrap(`${a} | ${b}`);
    case 2: return wrap(`${a} + ${b} + ${c}`);
    case 3: return wrap(`${a} - ${b} - ${c}`);
    case 4: return sz === 2 ? `${a} & ${b}` : wrap(`${a} & ${b}`);
    case 6: return sz === 2 ? `${a} ^ ${b}` : wrap(`${a} ^ ${b}`);
    default: return wrap(`${a} - ${b}`);
  }
}
const ALU_LAZY = [LZ_ADD, LZ_LOGIC, LZ_ADC, LZ_SBB, LZ_LOGIC, LZ_SUB, LZ_LOGIC, LZ_SUB];

// ------------------------------------------------------------------ region compiler

export class RegionCompiler {
  private readonly sites: { slot: number; eip: number; k: number; keep: number }[] = [];
  private readonly handlers = new Set<number>();
  private readonly blockIndex = new Map<number, number>();
  /** Segments whose memory operands are inlined, by mode (decided from the state at compile time, guarded at entry). */
  private readonly segModes = new Map<number, SegMode>();
  private readonly blocks: RegionBlockIn[];
  private readonly linBase: number;
  /** Entry index standing for "not in this region": its block length never fits a budget. */
  private readonly dummy: number;

  constructor(private readonly pool: DecodedPool, private readonly st: Int32Array, blocks: RegionBlockIn[], linPage: number) {
    this.blocks = blocks;
    this.linBase = (linPage << 12) | 0;
    this.dummy = blocks.length;
    blocks.forEach((b, idx) => this.blockIndex.set(b.eip | 0, idx));
  }

  /**
   * How memory operands in `seg` are addressed: flat (base 0) or based, with a
   * 4 GiB expand-up limit either way; anything else goes through cpu.lin.
   */
  segMode(seg: number): SegMode {
    if (seg === Seg.CS) return SegMode.FLAT; // the entry guard makes CS flat
    let m = this.segModes.get(seg);
    if (m === undefined) {
      const st = this.st;
      const acc = st[S.SEG_ACCESS + seg];
      const normal = (acc & 0x10004) === 0 || (acc & 8) !== 0;
      if (!normal || st[S.SEG_LIMIT + seg] !== -1) m = SegMode.GENERIC;
      else m = st[S.SEG_BASE + seg] === 0 ? SegMode.FLAT : SegMode.BASED;
      this.segModes.set(seg, m);
    }
    return m;
  }

  private site(slot: number, eip: number, k: number, keep: boolean): number {
    this.sites.push({ slot, eip, k, keep: keep ? 1 : 0 });
    return this.sites.length - 1;
  }

  /** The entry index of the block at EIP `target`, or the dummy. */
  private indexOf(g: BlockGen, target: number): number {
    if (g.unsafe) return this.dummy;
    return this.blockIndex.get(target | 0) ?? this.dummy;
  }

  /**
   * Continues at block `nb` (a local or constant) if the interpreter would
   * run it next without anything in between: it is in this region, fits the
   * budget, no interrupt is due and no stop was requested; otherwise leaves
   * with EIP = nx. The test is branch-free, so it is never a cold path.
   */
  private go(g: BlockGen, nb: string): void {
    g.emit(`if (!cpu.stopRequested && ((budget - done - BL[${nb}]) | -${IRQ_NOW}) >= 0) { bb = ${nb}; continue L; }`);
    // After a handler that may have changed segments or paging, the interpreter's loop takes over.
    g.emit(`why = ${g.unsafe ? EXIT_HANDLER : EXIT_BRANCH}; dk = 0; break L;`);
  }
  private goConst(g: BlockGen, target: number): void {
    g.emit(`nx = ${target | 0};`);
    this.go(g, `${this.indexOf(g, target)}`);
  }
  private goCond(g: BlockGen, cv: string, taken: number, fall: number): void {
    const nb = g.t();
    g.emit(`nx = ${cv} ? ${taken | 0} : ${fall | 0}; const ${nb} = ${cv} ? ${this.indexOf(g, taken)} : ${this.indexOf(g, fall)};`);
    this.go(g, nb);
  }
  private goDyn(g: BlockGen, t: string): void {
    const nb = g.t(), e = g.t();
    g.emit(`nx = ${t};`);
    if (g.unsafe) {
      g.emit(`const ${nb} = ${this.dummy};`);
    } else {
      g.emit(`const ${e} = ENT[${t} & 4095]; const ${nb} = (${t} & -4096) === ${this.linBase} ? ${e} : ${this.dummy};`);
    }
    this.go(g, nb);
  }

  /** Generates one block's case body. */
  private genBlock(idx: number): string {
    const pool = this.pool;
    const { slot: first, eip: blockEip } = this.blocks[idx];
    const n = pool.blockLen[first];
    const g = new BlockGen(this);
    g.n = n;
    for (let k = 0; k < n; k++) {
      const i = first + k;
      const d = pool.def[i];
      const eip = (blockEip + pool.eipOff[i]) | 0;
      const next = (eip + pool.len[i]) | 0;
      const last = k === n - 1;
      g.k = k;
      g.eip = eip;
      const ended = this.genInsn(g, i, d, eip, next, k, n, last);
      if (ended) break;
      if (last) {
        // The block ended at a page boundary or its size limit: fall through.
        g.flush();
        g.emit(`done += ${n};`);
        this.goConst(g, next);
      }
    }
    return g.out.join('\n');
  }

  /** Emits one instruction. Returns true if it ended the block's code (a branch or a block-ending handler). */
  private genInsn(g: BlockGen, i: number, d: number, eip: number, next: number, k: number, n: number, last: boolean): boolean {
    const pool = this.pool;
    const info = INFO[d];
    const attrs = pool.attrs[i];
    const isReg = (attrs & A_REG) !== 0;
    const sz = info.sz;
    const site = (): number => this.site(i, eip, k, false);
    // Memory operands with 16-bit addressing go to the handler.
    const memA16 = !isReg && (attrs & A_A32) === 0 && ((attrs & A_MODRM) !== 0 || info.k === K.MOV_AO || info.k === K.MOV_OA);
    if (info.k === K.NONE || memA16) return this.genHandler(g, i, d, eip, next, k, n, last);
    switch (info.k) {
      case K.ALU_EG: case K.ALU_GE: case K.ALU_AI: case K.ALU_EI:
      case K.TEST_EG: case K.TEST_AI: case K.TEST_EI: {
        const kind = info.op;
        const test = info.k === K.TEST_EG || info.k === K.TEST_AI || info.k === K.TEST_EI;
        const store = kind !== 7 && !test;
        const immB = sz === 2 ? `${pool.imm[i]}` : `${pool.imm[i] & (sz === 0 ? 0xff : 0xffff)}`;
        let a: string, b: string;
        let rmw: [string, string] | null = null;
        let dst = -1; // register destination
        if (info.k === K.ALU_AI || info.k === K.TEST_AI) {
          a = g.rd(sz, 0);
          b = immB; dst = 0;
        } else if (info.k === K.ALU_GE) {
          a = g.rd(sz, pool.reg[i]);
          b = g.getE(pool, i, sz, site());
          dst = pool.reg[i];
        } else {
          // E is the destination (EG / EI / TEST forms).
          const src = (): string => {
            if (info.k === K.ALU_EI || info.k === K.TEST_EI) return immB;
            return g.rd(sz, pool.reg[i]);
          };
          if (isReg) {
            a = g.rd(sz, pool.rm[i]);
            b = src();
            dst = pool.rm[i];
          } else if (!store) {
            b = src();
            a = g.read(sz, pool.seg[i], g.ea(pool, i), site());
          } else {
            b = src();
            rmw = g.rmwRead(sz, pool.seg[i], g.ea(pool, i), site());
            a = rmw[0];
          }
        }
        let c = '';
        if (kind === 2 || kind === 3) { c = g.t(); g.emit(`const ${c} = ${g.cfNow()};`); }
        const r = g.t();
        g.emit(`const ${r} = ${aluExpr(kind, sz, a, b, c)};`);
        if (store) {
          if (rmw) g.rmwWrite(sz, rmw[1], r);
          else g.wr(sz, dst, r);
        }
        g.setPend(ALU_LAZY[kind] | sz, a, b, r);
        break;
      }
      case K.INCDEC_Z: case K.INCDEC_E: {
        const dec = info.op === 1;
        let a: string, rmw: [string, string] | null = null, dst = -1;
        if (info.k === K.INCDEC_Z || isReg) {
          dst = info.k === K.INCDEC_Z ? pool.reg[i] : pool.rm[i];
          a = g.rd(sz, dst);
        } else {
          rmw = g.rmwRead(sz, pool.seg[i], g.ea(pool, i), site());
          a = rmw[0];
        }
        const r = g.t();
        g.emit(`const ${r} = ${sz === 2 ? `(${a} ${dec ? '-' : '+'} 1) | 0` : `(${a} ${dec ? '-' : '+'} 1) & ${SIZE_MASK[sz]}`};`);
        if (rmw) g.rmwWrite(sz, rmw[1], r); else g.wr(sz, dst, r);
        // setLazyPartial: CF keeps its value (computed from the previous operation if that was lazy).
        const op = (dec ? LZ_SUB : LZ_ADD) | sz;
        const p = g.pend;
        const ce = p === null || p.mask === NOT_CF ? null : g.carryOf(p);
        if (p !== null && p.mask === NOT_CF) {
          g.pend = { op, a, b: '1', r, mask: NOT_CF, cf: p.cf, stored: false };
        } else if (ce !== null) {
          const cf = g.t();
          g.emit(`const ${cf} = ${ce};`);
          g.pend = { op, a, b: '1', r, mask: NOT_CF, cf, stored: false };
        } else {
          g.flush();
          g.emit(`setLazyPartial(st, ${op}, ${a}, 1, ${r}, ${NOT_CF});`);
          g.pend = { op, a, b: '1', r, mask: NOT_CF, cf: null, stored: true };
        }
        break;
      }
      case K.NOT_E: case K.NEG_E: {
        const neg = info.k === K.NEG_E;
        let a: string, rmw: [string, string] | null = null;
        if (isReg) a = g.rd(sz, pool.rm[i]); else {
          rmw = g.rmwRead(sz, pool.seg[i], g.ea(pool, i), site());
          a = rmw[0];
        }
        const r = g.t();
        g.emit(`const ${r} = ${neg ? `-${a}` : `~${a}`} ${sz === 2 ? '| 0' : `& ${SIZE_MASK[sz]}`};`);
        if (rmw) g.rmwWrite(sz, rmw[1], r); else g.wr(sz, pool.rm[i], r);
        if (neg) g.setPend(LZ_SUB | sz, '0', a, r);
        break;
      }
      case K.MOV_EG: {
        const v = g.rd(sz, pool.reg[i]);
        g.setE(pool, i, sz, v, site());
        break;
      }
      case K.MOV_GE: {
        const v = g.getE(pool, i, sz, site());
        g.wr(sz, pool.reg[i], v);
        break;
      }
      case K.MOV_ZI:
        g.wr(sz, pool.reg[i], `${pool.imm[i]}`);
        break;
      case K.MOV_EI: {
        const v = g.t(); g.emit(`const ${v} = ${pool.imm[i]};`);
        g.setE(pool, i, sz, v, site());
        break;
      }
      case K.MOV_AO: {
        const o = g.t(); g.emit(`const ${o} = ${pool.disp[i]};`);
        const v = g.read(sz, pool.seg[i], o, site());
        g.wr(sz, 0, v);
        break;
      }
      case K.MOV_OA: {
        const o = g.t(); g.emit(`const ${o} = ${pool.disp[i]};`);
        const v = g.rd(sz, 0);
        g.write(sz, pool.seg[i], o, v, site());
        break;
      }
      case K.MOVZX: case K.MOVSX: {
        const v = g.getE(pool, i, info.x, site());
        const sx = info.k === K.MOVSX;
        const e = sx ? (info.x === 0 ? `(${v} << 24) >> 24` : `(${v} << 16) >> 16`) : v;
        g.wr(sz, pool.reg[i], e);
        break;
      }
      case K.LEA: {
        if (isReg) return this.genHandler(g, i, d, eip, next, k, n, last);
        const o = g.ea(pool, i);
        g.wr(sz, pool.reg[i], o);
        break;
      }
      case K.PUSH_Z: case K.PUSH_I: case K.PUSH_E: {
        let v: string;
        if (info.k === K.PUSH_Z) v = g.rd(2, pool.reg[i]);
        else if (info.k === K.PUSH_I) v = `${pool.imm[i]}`;
        else v = g.getE(pool, i, 2, site());
        this.push(g, v, site());
        break;
      }
      case K.POP_Z: {
        const sp = g.rd(2, S.ESP);
        const v = g.read(2, Seg.SS, sp, site());
        g.wr(2, S.ESP, `(${sp} + 4) | 0`);
        g.wr(2, pool.reg[i], v);
        break;
      }
      case K.XCHG_Z: {
        const r = pool.reg[i];
        const x = g.rd(sz, r), y = g.rd(sz, 0);
        g.wr(sz, r, y);
        g.wr(sz, 0, x);
        break;
      }
      case K.XCHG_EG: {
        if (!isReg) {
          // XCHG r, [m]: the write check comes before either store.
          const gv = g.rd(sz, pool.reg[i]);
          const [v, p] = g.rmwRead(sz, pool.seg[i], g.ea(pool, i), site());
          g.wr(sz, pool.reg[i], v);
          g.rmwWrite(sz, p, gv);
          break;
        }
        // setG(getE) then setE(old G), as the handler does.
        const gv = g.rd(sz, pool.reg[i]), ev = g.rd(sz, pool.rm[i]);
        g.wr(sz, pool.reg[i], ev);
        g.wr(sz, pool.rm[i], gv);
        break;
      }
      case K.NOP:
        break;
      case K.CLC: case K.STC:
        // setFlagBits(CF): the state must hold the lazy record first.
        g.flush();
        g.emit(`st[${S.EFLAGS}] = (st[${S.EFLAGS}] & -2) | ${info.k === K.STC ? 1 : 0}; st[${S.LAZY_MASK}] &= -2;`);
        g.pend = null;
        break;
      case K.CLD:
        g.emit(`st[${S.EFLAGS}] &= ${~0x400};`);
        break;
      case K.STD:
        g.emit(`st[${S.EFLAGS}] |= 1024;`);
        break;
      case K.CWDE: {
        const ax = g.rd(1, 0);
        g.wr(2, 0, `(${ax} << 16) >> 16`);
        break;
      }
      case K.CDQ: {
        const eax = g.rd(2, 0);
        g.wr(2, 2, `${eax} >> 31`);
        break;
      }
      case K.SETCC: {
        const c = g.cond(info.op);
        const v = g.t(); g.emit(`const ${v} = ${c} ? 1 : 0;`);
        g.setE(pool, i, 0, v, site());
        break;
      }
      case K.CMOV: {
        const v = g.getE(pool, i, sz, site());
        const c = g.cond(info.op);
        const old = g.rd(sz, pool.reg[i]);
        g.wr(sz, pool.reg[i], `${c} ? ${v} : ${old}`);
        break;
      }
      case K.SHIFT:
        if (!this.genShift(g, i, info, site)) return this.genHandler(g, i, d, eip, next, k, n, last);
        break;
      case K.IMUL2: case K.IMUL3: {
        // IMUL Gv,Ev[,I]: the truncated signed product; CF=OF=overflow, SF ZF PF from the result, AF clear.
        let a: string, b: string;
        if (info.k === K.IMUL2) {
          a = g.rd(sz, pool.reg[i]);
          b = g.getE(pool, i, sz, site());
        } else {
          a = g.getE(pool, i, sz, site());
          b = sz === 2 ? `${pool.imm[i]}` : `${(pool.imm[i] << 16) >> 16}`;
        }
        const r = g.t(), ov = g.t();
        if (sz === 2) {
          g.emit(`const ${r} = Math.imul(${a}, ${b}); const ${ov} = ${a} * ${b} !== ${r};`);
        } else {
          const p = g.t();
          g.emit(`const ${p} = ((${a} << 16) >> 16) * ((${b} << 16) >> 16); const ${r} = ${p} & 65535; const ${ov} = ${p} !== ((${p} << 16) >> 16);`);
        }
        g.wr(sz, pool.reg[i], r);
        g.resultFlags(sz, r, `(${ov} ? 2049 : 0)`);
        break;
      }
      case K.MUL1: {
        // MUL/IMUL r/m32: EDX:EAX = EAX * src; CF=OF = high half significant.
        const src = g.getE(pool, i, 2, site());
        const a = g.rd(2, 0), lo = g.t(), hi = g.t();
        g.emit(`const ${hi} = ${info.op === 4 ? 'mulHighU' : 'mulHighS'}(${a}, ${src}); const ${lo} = Math.imul(${a}, ${src});`);
        g.wr(2, 0, lo);
        g.wr(2, 2, hi);
        g.resultFlags(2, lo, info.op === 4 ? `(${hi} !== 0 ? 2049 : 0)` : `(${hi} !== (${lo} >> 31) ? 2049 : 0)`);
        break;
      }
      // ---- branches (always the last instruction of a block)
      case K.JCC: {
        const c = g.cond(info.op);
        const cv = g.t();
        g.emit(`const ${cv} = ${c};`);
        g.flush();
        g.emit(`done += ${n};`);
        this.goCond(g, cv, (next + pool.imm[i]) | 0, next);
        return true;
      }
      case K.JMP_REL:
        g.flush();
        g.emit(`done += ${n};`);
        this.goConst(g, (next + pool.imm[i]) | 0);
        return true;
      case K.CALL_REL: {
        g.flush();
        this.push(g, `${next}`, site());
        g.emit(`done += ${n};`);
        this.goConst(g, (next + pool.imm[i]) | 0);
        return true;
      }
      case K.CALL_E: {
        const t = g.getE(pool, i, 2, site());
        g.flush();
        this.push(g, `${next}`, site());
        g.emit(`done += ${n};`);
        this.goDyn(g, t);
        return true;
      }
      case K.JMP_E: {
        const t = g.getE(pool, i, 2, site());
        g.flush();
        g.emit(`done += ${n};`);
        this.goDyn(g, t);
        return true;
      }
      case K.RET: case K.RET_I: {
        g.flush();
        const sp = g.rd(2, S.ESP);
        const t = g.read(2, Seg.SS, sp, site());
        const add = info.k === K.RET ? 4 : 4 + pool.imm[i];
        g.wr(2, S.ESP, `(${sp} + ${add}) | 0`);
        g.emit(`done += ${n};`);
        this.goDyn(g, t);
        return true;
      }
      case K.LOOP: case K.JECXZ: {
        if ((attrs & A_A32) === 0) return this.genHandler(g, i, d, eip, next, k, n, last);
        g.flush();
        let c = g.rd(2, S.ECX);
        if (info.k === K.LOOP) {
          const d1 = g.t();
          g.emit(`const ${d1} = (${c} - 1) | 0;`);
          g.wr(2, S.ECX, d1);
          c = d1;
        }
        g.emit(`done += ${n};`);
        const cv = g.t();
        g.emit(`const ${cv} = ${c} ${info.k === K.LOOP ? '!==' : '==='} 0;`);
        this.goCond(g, cv, (next + pool.imm[i]) | 0, next);
        return true;
      }
      default:
        return this.genHandler(g, i, d, eip, next, k, n, last);
    }
    if (last && ENDS_BLOCK[d]) throw new Error('inline form ended a block without a branch');
    return false;
  }

  /** PUSH of a 32-bit value (expression or local) on the 32-bit stack: the store, then ESP (cpu.push32). */
  private push(g: BlockGen, v: string, site: number): void {
    const sp = g.t(), vv = g.t();
    const esp = g.rd(2, S.ESP);
    g.emit(`const ${vv} = ${v}; const ${sp} = (${esp} - 4) | 0;`);
    g.write(2, Seg.SS, sp, vv, site);
    g.wr(2, S.ESP, sp);
  }

  /**
   * ROL/ROR/SHL/SHR/SAR inline (ops/shift.ts makeShift): returns false to use
   * the handler instead (rotates by CL, and a constant count of zero, which
   * on memory still reads and writes the operand).
   */
  private genShift(g: BlockGen, i: number, info: Info, site: () => number): boolean {
    const pool = this.pool;
    const sz = info.sz, kind = info.op;
    const w = 8 << sz, top = w - 1, m = SIZE_MASK[sz];
    const isReg = (pool.attrs[i] & A_REG) !== 0;
    const rotate = kind <= 1;
    let cc: number | null = info.x === 0 ? pool.imm[i] & 31 : info.x === 1 ? 1 : null;
    if (cc === 0 || (rotate && cc === null)) return false;
    // The operand.
    let a: string, rmw: [string, string] | null = null;
    if (isReg) a = g.rd(sz, pool.rm[i]); else {
      rmw = g.rmwRead(sz, pool.seg[i], g.ea(pool, i), site());
      a = rmw[0];
    }
    g.flush();
    g.pend = null;
    const c = cc === null ? g.t() : `${cc}`;
    const r = g.t();
    const msb = (x: string): string => `((${x} >>> ${top}) & 1)`;
    const body: string[] = [];
    let flags: string;
    switch (kind) {
      case 0: { // ROL
        const t = cc! & top;
        body.push(`const ${r} = ${t === 0 ? `${a} & ${m}` : sz === 2 ? `(${a} << ${t}) | (${a} >>> ${32 - t})` : `((${a} << ${t}) | ((${a} & ${m}) >>> ${w - t})) & ${m}`};`);
        flags = `st[${S.EFLAGS}] = (st[${S.EFLAGS}] & ${~0x801}) | (${r} & 1) | ((${msb(r)} ^ (${r} & 1)) << 11); st[${S.LAZY_MASK}] &= ${~0x801};`;
        break;
      }
      case 1: { // ROR
        const t = cc! & top;
        body.push(`const ${r} = ${t === 0 ? `${a} & ${m}` : sz === 2 ? `(${a} >>> ${t}) | (${a} << ${32 - t})` : `(((${a} & ${m}) >>> ${t}) | (${a} << ${w - t})) & ${m}`};`);
        flags = `st[${S.EFLAGS}] = (st[${S.EFLAGS}] & ${~0x801}) | ${msb(r)} | ((${msb(r)} ^ ((${r} >>> ${top - 1}) & 1)) << 11); st[${S.LAZY_MASK}] &= ${~0x801};`;
        break;
      }
      case 4: { // SHL
        const cf = g.t();
        body.push(`const ${r} = (${a} << ${c}) ${sz === 2 ? '| 0' : `& ${m}`}; const ${cf} = (((${a} & ${m}) << (${c} - 1)) >>> ${top}) & 1;`);
        flags = `st[${S.EFLAGS}] = (st[${S.EFLAGS}] & ${~0x811}) | ${cf} | ((${msb(r)} ^ ${cf}) << 11); st[${S.LAZY_OP}] = ${LZ_LOGIC | sz}; st[${S.LAZY_RES}] = ${r}; st[${S.LAZY_MASK}] = ${0xc4};`;
        break;
      }
      case 5: { // SHR
        const u = g.t(), cf = g.t();
        body.push(`const ${u} = ${a} & ${m}; const ${r} = (${u} >>> ${c}) | 0; const ${cf} = (${u} >>> (${c} - 1)) & 1;`);
        flags = `st[${S.EFLAGS}] = (st[${S.EFLAGS}] & ${~0x811}) | ${cf} | ((${msb(r)} ^ ((${r} >>> ${top - 1}) & 1)) << 11); st[${S.LAZY_OP}] = ${LZ_LOGIC | sz}; st[${S.LAZY_RES}] = ${r}; st[${S.LAZY_MASK}] = ${0xc4};`;
        break;
      }
      default: { // SAR
        const sv = g.t();
        body.push(`const ${sv} = (${a} << ${32 - w}) >> ${32 - w}; const ${r} = (${sv} >> ${c}) & ${m};`);
        flags = `st[${S.EFLAGS}] = (st[${S.EFLAGS}] & ${~0x811}) | ((${sv} >> (${c} - 1)) & 1); st[${S.LAZY_OP}] = ${LZ_LOGIC | sz}; st[${S.LAZY_RES}] = ${r}; st[${S.LAZY_MASK}] = ${0xc4};`;
        break;
      }
    }
    const store = rmw ? BlockGen.writeP(sz, rmw[1], r) : `${BlockGen.R(sz, pool.rm[i])} = ${r};`;
    if (cc !== null) {
      g.emit(body.join(' '));
      if (rmw) g.emit(store); else g.wr(sz, pool.rm[i], r);
      g.emit(flags);
    } else {
      if (!rmw) g.forget(sz === 0 ? pool.rm[i] & 3 : pool.rm[i]);
      // A count of zero (CL & 31) changes nothing; memory is still written back.
      g.emit(`const ${c} = st8[4] & 31;`);
      g.emit(`if (${c} !== 0) { ${body.join(' ')} ${store} ${flags} }${rmw ? ` else { ${BlockGen.writeP(sz, rmw[1], a)} }` : ''}`);
    }
    return true;
  }

  /** A call to the instruction's table handler. */
  private genHandler(g: BlockGen, i: number, d: number, eip: number, next: number, k: number, n: number, last: boolean): boolean {
    const needsEip = NEEDS_EIP[d] !== 0;
    g.flush();
    g.pend = null;
    const s = this.site(i, eip, k, needsEip);
    this.handlers.add(d);
    let code = `f = ${s}; `;
    if (needsEip) code += `st[${S.EIP_START}] = ${eip}; st[${S.EIP}] = ${next}; `;
    code += `H${d}(cpu, ${i});`;
    g.emit(code);
    g.forget();
    if (ENDS_BLOCK[d]) {
      // The handler set EIP; the interpreter takes over at the next block.
      g.emit(`why = ${EXIT_HANDLER}; dk = ${k + 1}; keep = 1; break L;`);
      return true;
    }
    g.emit(`if (st[${S.BLOCK_EXIT}] !== 0) { why = ${EXIT_HANDLER}; dk = ${k + 1}; ${needsEip ? 'keep = 1;' : `nx = ${next};`} break L; }`);
    if (UNSAFE[d]) {
      g.unsafe = true;
      g.emit(`rm = cpu.tlbReadMask; wm = cpu.tlbWriteMask;`);
    }
    if (last) {
      g.emit(`done += ${n};`);
      this.goConst(g, next);
      return true;
    }
    return false;
  }

  /** Generates the region's source and compiles it. */
  compile(cpu: Cpu, rt: RegionRuntime, physPage: number, linPage: number, keepSource: boolean): Region {
    const cases: string[] = [];
    let instructions = 0;
    this.blocks.forEach((b, idx) => {
      instructions += this.pool.blockLen[b.slot];
      cases.push(`case ${idx}: {\n${this.genBlock(idx)}\n}`);
    });
    let flat = 0, based = 0;
    const bases: string[] = [];
    for (const [s, m] of this.segModes) {
      if (m === SegMode.FLAT) flat |= 1 << s;
      else if (m === SegMode.BASED) { based |= 1 << s; bases.push(`const sb${s} = st[${S.SEG_BASE + s}];`); }
    }
    const handlerDecls = [...this.handlers].map((d) => `const H${d} = EXEC[${d}];`).join('\n');
    // Every exit sets locals and breaks out of the loop; the shared epilogue
    // (runtime.ts finish) is the one place that stores them.
    const body = `${handlerDecls}
const G = RT.guard, F = RT.finish;
return function region(entry, budget) {
  if (!G(${this.linBase}, ${flat}, ${based}) || BL[entry] > budget) return -1;
  ${bases.join(' ')}
  let rm = cpu.tlbReadMask, wm = cpu.tlbWriteMask;
  let done = 0, f = 0, bb = entry, nx = 0, dk = 0, why = 0, keep = 0, rest = 0;
  let fo = 0, fa = 0, fb = 0, fr = 0, fm = 0, fcm = -1, fcv = 0;
  try {
    L: for (;;) {
      switch (bb) {
${cases.join('\n')}
      }
      return -2;
    }
  } catch (e) {
    cpu.jitSite = f;
    cpu.jitDone = done;
    throw e;
  }
  return F(nx, keep, fo, fa, fb, fr, fm, fcm, fcv, why, rest, done + dk);
};`;
    const BL = new Int32Array(this.blocks.length + 1);
    this.blocks.forEach((b, idx) => { BL[idx] = this.pool.blockLen[b.slot]; });
    BL[this.dummy] = 0x3fffffff;
    const ENT = new Int32Array(4096).fill(this.dummy);
    this.blocks.forEach((b, idx) => { ENT[b.eip & 4095] = idx; });
    const factory = new Function('cpu', 'RT', 'st', 'st8', 'st16', 'tlb', 'ram8', 'dv', 'PARITY', 'getCF', 'setLazyPartial', 'testCondition', 'mulHighU', 'mulHighS', 'EXEC', 'BL', 'ENT', body) as (...args: unknown[]) => Region['fn'];
    const fn = factory(cpu, rt, cpu.st, cpu.st8, cpu.st16, cpu.tlb, cpu.ram8, cpu.ramView, PARITY, getCF, setLazyPartial, testCondition, mulHighU, mulHighS, EXEC, BL, ENT);
    const sites = this.sites;
    return {
      fn,
      physPage,
      linPage,
      slots: this.blocks.map((b) => b.slot),
      siteSlot: Int32Array.from(sites, (s) => s.slot),
      siteEip: Int32Array.from(sites, (s) => s.eip),
      siteK: Int32Array.from(sites, (s) => s.k),
      siteKeep: Uint8Array.from(sites, (s) => s.keep),
      instructions,
      source: keepSource ? body : undefined,
    };
  }
}
