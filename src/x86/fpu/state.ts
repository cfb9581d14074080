// The FPU's architectural state as views onto the shared memory block, and
// the stack mechanics (TOP, tags, push/pop, stack faults) and status-word
// bookkeeping that every instruction shares.

import type { FpuHost } from './host.ts';
import { OFF_FCW, OFF_FSW, OFF_FTW, OFF_REGS, REG_STRIDE } from './layout.ts';
import { EXP_MAX, F, R_EXP, R_HI, R_LO, R_SIGN, classify, tagOf, unpack } from './float80.ts';
import { SW_B, SW_C1, SW_ES, SW_EXC, SW_IE, SW_SF, TAG_EMPTY } from './bits.ts';

export class FpuState {
  constructor(
    /** The shared machine memory. */
    readonly mem: DataView,
    /** Offset of the FPU's 512-byte state block in `mem`. */
    readonly base: number,
    readonly host: FpuHost,
  ) {}

  // ---- words ------------------------------------------------------------
  get cw(): number {
    return this.mem.getUint16(this.base + OFF_FCW, true);
  }
  set cw(v: number) {
    this.mem.setUint16(this.base + OFF_FCW, v, true);
  }
  get sw(): number {
    return this.mem.getUint16(this.base + OFF_FSW, true);
  }
  set sw(v: number) {
    this.mem.setUint16(this.base + OFF_FSW, v, true);
  }
  /** Full tag word, indexed by physical register. */
  get tw(): number {
    return this.mem.getUint16(this.base + OFF_FTW, true);
  }
  set tw(v: number) {
    this.mem.setUint16(this.base + OFF_FTW, v, true);
  }
  get top(): number {
    return (this.sw >>> 11) & 7;
  }
  set top(t: number) {
    this.sw = (this.sw & ~0x3800) | ((t & 7) << 11);
  }

  // ---- registers ----------------------------------------------------------
  /** Physical register number of ST(i). */
  phys(i: number): number {
    return (this.top + i) & 7;
  }
  physOffset(p: number): number {
    return this.base + OFF_REGS + p * REG_STRIDE;
  }
  physTag(p: number): number {
    return (this.tw >>> (2 * p)) & 3;
  }
  setPhysTag(p: number, tag: number): void {
    this.tw = (this.tw & ~(3 << (2 * p))) | (tag << (2 * p));
  }
  isEmpty(i: number): boolean {
    return this.physTag(this.phys(i)) === TAG_EMPTY;
  }
  /** Sign and exponent of ST(i). */
  se(i: number): number {
    return this.mem.getUint16(this.physOffset(this.phys(i)) + 8, true);
  }
  hi(i: number): number {
    return this.mem.getUint32(this.physOffset(this.phys(i)) + 4, true);
  }
  lo(i: number): number {
    return this.mem.getUint32(this.physOffset(this.phys(i)), true);
  }
  /** Class of ST(i) (see float80.ts); the caller checks emptiness. */
  classOf(i: number): number {
    const o = this.physOffset(this.phys(i));
    return classify(this.mem.getUint16(o + 8, true), this.mem.getUint32(o + 4, true), this.mem.getUint32(o, true));
  }
  /** Unpacks ST(i) into scratch slot s and returns its class. */
  load(i: number, s: number): number {
    const o = this.physOffset(this.phys(i));
    return unpack(s, this.mem.getUint16(o + 8, true), this.mem.getUint32(o + 4, true), this.mem.getUint32(o, true));
  }
  /** Writes a register-format value to physical register p and tags it by content. */
  writePhys(p: number, se: number, hi: number, lo: number): void {
    const o = this.physOffset(p);
    this.mem.setUint32(o, lo >>> 0, true);
    this.mem.setUint32(o + 4, hi >>> 0, true);
    this.mem.setUint16(o + 8, se, true);
    this.setPhysTag(p, tagOf(se, hi, lo));
  }
  write(i: number, se: number, hi: number, lo: number): void {
    this.writePhys(this.phys(i), se, hi, lo);
  }
  /** Writes the packed result in R to ST(i). A result with J = 0 gets exponent field 0 (denormal or zero). */
  writeR(i: number): void {
    const hi = F[R_HI];
    const e = hi >= 0x80000000 || F[R_EXP] === EXP_MAX ? F[R_EXP] & EXP_MAX : 0;
    this.write(i, (F[R_SIGN] << 15) | e, hi, F[R_LO]);
  }
  /** Copies ST(j) to ST(i), tag included. */
  copy(i: number, j: number): void {
    this.write(i, this.se(j), this.hi(j), this.lo(j));
  }

  // ---- stack ----------------------------------------------------------------
  /** Marks ST0 empty and increments TOP. */
  pop(): void {
    const p = this.top;
    this.setPhysTag(p, TAG_EMPTY);
    this.top = p + 1;
  }
  /** Decrements TOP (the caller has checked that the new ST0 is empty, or handled the fault). */
  push(): void {
    this.top = this.top - 1;
  }
  /** Whether pushing would overwrite a non-empty register (stack overflow). */
  pushWouldOverflow(): boolean {
    return !this.isEmpty(7);
  }

  // ---- memory -------------------------------------------------------------------
  /**
   * Called before the first write of a store of n bytes at ea, and before any
   * state change: a store that crosses a page boundary must fault before any
   * of its parts is written, as on the host, which never leaves a partial
   * store. Within one page the first write faults or none does, so only
   * crossing stores are probed, unless `always`: a store that an unmasked
   * exception suppresses still faults on the host when its destination is
   * not writable (the page fault comes first, and the status is unchanged).
   */
  probeStore(ea: number, n: number, always = false): void {
    const crosses = (ea & 0xfff) + n > 0x1000;
    if (!crosses && !always) return;
    const h = this.host;
    if (h.probeWrite) return h.probeWrite(ea, n);
    probeByte(h, ea);
    if (crosses) probeByte(h, ((ea + n - 1) & ~0xfff) >>> 0); // first byte of the second page
  }

  // ---- status -------------------------------------------------------------------
  /** Whether any of `flags`' exception bits is unmasked in the control word. */
  unmasked(flags: number): boolean {
    return (flags & ~this.cw & SW_EXC) !== 0;
  }
  /**
   * Records an instruction's exception flags (sticky) and sets C1 to its C1 bit
   * (the round-up indicator, or the stack-fault direction). Unmasked exceptions
   * also set ES and B: the next waiting instruction must report them.
   */
  signal(flags: number): void {
    let sw = (this.sw & ~SW_C1) | (flags & (SW_EXC | SW_SF | SW_C1));
    if (flags & ~this.cw & SW_EXC) sw |= SW_ES | SW_B;
    this.sw = sw;
  }
  /** Stack underflow: IE + SF with C1 = 0. Returns whether the masked response (store indefinite) applies. */
  stackUnderflow(): boolean {
    this.signal(SW_IE | SW_SF);
    return (this.cw & SW_IE) !== 0;
  }
  /** Stack overflow: IE + SF with C1 = 1. Returns whether the masked response applies. */
  stackOverflow(): boolean {
    this.signal(SW_IE | SW_SF | SW_C1);
    return (this.cw & SW_IE) !== 0;
  }
  /** Writes the real indefinite to ST(i). */
  writeIndefinite(i: number): void {
    this.write(i, 0xffff, 0xc0000000, 0);
  }
}

/**
 * Checks that the byte at lin is writable without changing it: reads it and
 * writes it back. If the read faults, the write is what reports it (a page
 * that cannot be read cannot be written either, and the fault must carry the
 * write access, as the host reports it).
 */
function probeByte(h: FpuHost, lin: number): void {
  let v: number;
  try {
    v = h.read8(lin);
  } catch (e) {
    h.write8(lin, 0);
    throw e;
  }
  h.write8(lin, v);
}

/** Full tag computed from a physical register's contents (never "empty"). */
export function contentTag(mem: DataView, off: number): number {
  return tagOf(mem.getUint16(off + 8, true), mem.getUint32(off + 4, true), mem.getUint32(off, true));
}
