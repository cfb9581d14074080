// The CPU: register state (in shared memory), linear and segmented memory
// access through the software TLB, and the stack. Instruction semantics live
// in src/x86/ops; the decode/execute loop in interpreter.ts; page walks in
// paging.ts; segment loading in segments.ts; exception delivery in interrupts.ts.
import {
  S, Seg, MODE_PROT, MODE_V86, MODE_CS32, MODE_SS32, MODE_PAGING, CR0_PE, CR0_PG, CR0_ET, FLAG_VM, FLAG_1,
  TLB_READ, TLB_WRITE, TLB_USER_READ, TLB_USER_WRITE, TLB_GLOBAL, TLB_NOEXEC, type MachineViews,
} from './state.ts';
import { FAULT, Vec } from './faults.ts';
import type { Bus } from '../devices/bus.ts';
import { DecodedPool } from './decoded.ts';
import { BlockCache } from './block-cache.ts';
import { walkPageTables, ACCESS_READ, ACCESS_WRITE, ACCESS_EXEC } from './paging.ts';
import { Fpu } from './fpu/index.ts';
import { FPU_STATE_OFFSET } from './state.ts';
import { JsJit } from './jit-js/jit.ts';

/** Where the CPU gets hardware interrupt vectors from (the PIC or the local APIC). */
export interface InterruptController {
  /** INTA cycle: returns the vector to deliver, or -1 if the request went away. */
  acknowledge(): number;
}

/** Hooks the machine gives the CPU for events it cannot handle alone. */
export interface CpuHooks {
  /** Triple fault or a reset request: the machine resets. */
  onReset(reason: string): void;
  /** Reads the TSC in the machine's clock domain. */
  readTsc(): bigint;
  /** x87 FERR# (IRQ13) when CR0.NE is clear. */
  onFerr?(): void;
}

const TLB_LIST_MAX = 8192;

export class Cpu {
  readonly st: Int32Array;
  readonly tlb: Int32Array;
  readonly ram8: Uint8Array;
  readonly ram16: Uint16Array;
  readonly ram32: Int32Array;
  readonly ramBytes: number;
  readonly views: MachineViews;
  readonly pool = new DecodedPool();
  readonly blocks: BlockCache;
  /** The JS block compiler tier (jit-js/). */
  readonly jit: JsJit;
  /** Set by a compiled region that faulted: its fault site and the instructions it completed before the faulting block. */
  jitSite = 0;
  jitDone = 0;
  /** How the last region call ended (jit-js/compiler.ts EXIT_*), and for a slow-path exit the instructions left in its block. */
  jitExit = 0;
  jitRest = 0;
  /** Guest RAM as a DataView (little-endian accesses at any alignment, for compiled regions). */
  readonly ramView: DataView;
  /** The x87 unit; its state lives in the shared memory's FPU area. */
  readonly fpu: Fpu;
  /** Byte view of the state area, for the 8/16-bit register halves. */
  readonly st8: Uint8Array;
  readonly st16: Uint16Array;

  /**
   * 32-bit code with CS base 0 and a 4 GiB limit (EIP is the linear address
   * and never past the limit): the block cache's fast lookup applies. Set by
   * updateMode, which runs after every CS load.
   */
  flatCode = false;
  /** TLB permission bit the current CPL needs for a fast read / write. */
  tlbReadMask = TLB_READ;
  tlbWriteMask = TLB_WRITE;
  private readonly tlbList = new Int32Array(TLB_LIST_MAX);
  private tlbCount = 0;
  /** Physical pages that hold decoded instructions (writes to them invalidate). */
  readonly codePages: Uint8Array;

  /** Details of the fault being raised (see faults.ts). */
  faultVector = 0;
  faultCode = 0;
  faultHasCode = false;

  intc: InterruptController | null = null;
  /**
   * Consulted before an exception is delivered; returning true stops the
   * interpreter instead (test runners and debuggers use it). Cold path only.
   */
  exceptionTrap: ((vector: number, errorCode: number) => boolean) | null = null;
  /** Like exceptionTrap, for INT n/INT3/INTO as they are executed (EIP is then the return address). */
  interruptTrap: ((vector: number) => boolean) | null = null;
  /** Linear addresses of the last executed blocks (ring of 16), with bit 0 of recentCs32 per entry, for crash dumps. */
  readonly recentBlocks = new Int32Array(16);
  readonly recentCs32 = new Uint8Array(16);
  recentIndex = 0;
  /** Set (by the machine, from any callback) to make runInstructions return at the next block boundary. */
  stopRequested = false;
  /** Implicit system-structure accesses (descriptor tables, TSS) are supervisor accesses even at CPL 3. */
  supervisorOverride = false;

  constructor(views: MachineViews, readonly bus: Bus, readonly hooks: CpuHooks) {
    this.views = views;
    this.st = views.state;
    this.tlb = views.tlb;
    this.ram8 = views.ram8;
    this.ram16 = views.ram16;
    this.ram32 = views.ram32;
    this.ramView = new DataView(views.ram8.buffer, views.ram8.byteOffset, views.ram8.byteLength);
    this.ramBytes = views.ramBytes;
    this.st8 = new Uint8Array(this.st.buffer, this.st.byteOffset, this.st.byteLength);
    this.st16 = new Uint16Array(this.st.buffer, this.st.byteOffset, this.st.byteLength >> 1);
    this.codePages = new Uint8Array(Math.ceil(views.ramBytes / 4096));
    this.blocks = new BlockCache(this);
    this.jit = new JsJit(this);
    this.fpu = new Fpu(new DataView(this.st.buffer), FPU_STATE_OFFSET, {
      read8: (lin) => this.readLin8(lin),
      read16: (lin) => this.readLin16(lin),
      read32: (lin) => this.readLin32(lin),
      write8: (lin, v) => this.writeLin8(lin, v),
      write16: (lin, v) => this.writeLin16(lin, v),
      write32: (lin, v) => this.writeLin32(lin, v),
    });
    this.reset();
  }

  /** Power-on / RESET state (SDM vol. 3, 9.1.1). */
  reset(): void {
    const st = this.st;
    // The instruction count survives resets: the deterministic clock is derived from it.
    const icountLo = st[S.ICOUNT_LO], icountHi = st[S.ICOUNT_HI];
    st.fill(0, 0, S.WORDS);
    st[S.ICOUNT_LO] = icountLo;
    st[S.ICOUNT_HI] = icountHi;
    st[S.EFLAGS] = FLAG_1;
    st[S.EIP] = 0xfff0;
    st[S.CR] = CR0_ET | 0x6000_0000; // CD and NW set at reset
    st[S.EDX] = 0x0000_0633; // family 6, model 3 stepping 3 signature, as a P6 reports in EDX at reset
    for (let s = 0; s < 6; s++) {
      st[S.SEG_SEL + s] = 0;
      st[S.SEG_BASE + s] = 0;
      st[S.SEG_LIMIT + s] = 0xffff;
      st[S.SEG_ACCESS + s] = 0x93; // present, writable data (code for CS below)
    }
    st[S.SEG_SEL + Seg.CS] = 0xf000;
    st[S.SEG_BASE + Seg.CS] = 0xffff0000 | 0;
    st[S.SEG_ACCESS + Seg.CS] = 0x9b;
    st[S.SEG_LIMIT + Seg.LDTR] = 0xffff;
    st[S.SEG_ACCESS + Seg.LDTR] = 0x82;
    st[S.SEG_LIMIT + Seg.TR] = 0xffff;
    st[S.SEG_ACCESS + Seg.TR] = 0x8b;
    st[S.IDTR_LIMIT] = 0xffff;
    st[S.GDTR_LIMIT] = 0xffff;
    st[S.DR + 6] = 0xffff0ff0 | 0;
    st[S.DR + 7] = 0x400;
    st[S.A20_MASK] = -1;
    st[S.EXC_VECTOR] = -1;
    st[S.APIC_BASE_LO] = 0xfee00900 | 0; // enabled, BSP
    st[S.PAT_LO] = 0x00070406;
    st[S.PAT_HI] = 0x00070406;
    this.updateMode();
    this.flushTlb(true);
    this.blocks.clear();
    this.fpu?.reset();
  }

  /** Recomputes MODE from CR0, EFLAGS.VM and the CS/SS descriptor caches; call after any of them change. */
  updateMode(): void {
    const st = this.st;
    const cr0 = st[S.CR];
    let m = 0;
    if (cr0 & CR0_PE) m |= MODE_PROT;
    if (cr0 & CR0_PG) m |= MODE_PAGING;
    if ((cr0 & CR0_PE) && (st[S.EFLAGS] & FLAG_VM)) m |= MODE_V86;
    if (!(m & MODE_V86) && (st[S.SEG_ACCESS + Seg.CS] & 0x4000)) m |= MODE_CS32;
    if (!(m & MODE_V86) && (st[S.SEG_ACCESS + Seg.SS] & 0x4000)) m |= MODE_SS32;
    st[S.MODE] = m;
    this.flatCode = (m & MODE_CS32) !== 0 && st[S.SEG_BASE + Seg.CS] === 0 && st[S.SEG_LIMIT + Seg.CS] === -1;
    const user = st[S.CPL] === 3;
    this.tlbReadMask = user ? TLB_USER_READ : TLB_READ;
    this.tlbWriteMask = user ? TLB_USER_WRITE : TLB_WRITE;
  }

  get cpl(): number {
    return this.st[S.CPL];
  }

  // ---------------------------------------------------------------- faults

  /** Raises an exception: records it and unwinds the current instruction. */
  raise(vector: number, errorCode = -1): never {
    this.faultVector = vector;
    this.faultHasCode = errorCode >= 0;
    this.faultCode = errorCode >= 0 ? errorCode : 0;
    throw FAULT;
  }

  gp(code = 0): never {
    return this.raise(Vec.GP, code);
  }

  ud(): never {
    return this.raise(Vec.UD);
  }

  // ---------------------------------------------------------------- TLB

  /** Slow path: walks the page tables, fills the TLB entry and returns the physical address. */
  translateSlow(lin: number, access: number): number {
    const st = this.st;
    let phys: number;
    let flags: number;
    if (st[S.MODE] & MODE_PAGING) {
      const r = walkPageTables(this, lin, access);
      phys = r & ~0xfff;
      flags = r & 0xfff;
    } else {
      phys = lin & ~0xfff;
      flags = TLB_READ | TLB_WRITE | TLB_USER_READ | TLB_USER_WRITE;
    }
    phys &= st[S.A20_MASK];
    const page = phys >>> 12;
    const isRam = (phys >>> 0) < this.ramBytes && this.bus.mmioPages[page] === 0;
    if (isRam) {
      // Pages holding decoded code never get fast writes: every store to them
      // reaches writePhys*, which drops the blocks whose bytes it overwrites.
      if (this.codePages[page]) flags &= ~(TLB_WRITE | TLB_USER_WRITE);
      const idx = lin >>> 12;
      if (this.tlb[idx] === 0) {
        if (this.tlbCount === TLB_LIST_MAX) this.flushTlb(true);
        this.tlbList[this.tlbCount++] = idx;
      }
      this.tlb[idx] = phys | flags;
    }
    return (phys | (lin & 0xfff)) >>> 0;
  }

  translateRead(lin: number): number {
    const e = this.tlb[lin >>> 12];
    if (e & this.tlbReadMask) return ((e & ~0xfff) | (lin & 0xfff)) >>> 0;
    return this.translateSlow(lin, ACCESS_READ);
  }

  translateWrite(lin: number): number {
    const e = this.tlb[lin >>> 12];
    if (e & this.tlbWriteMask) return ((e & ~0xfff) | (lin & 0xfff)) >>> 0;
    return this.translateSlow(lin, ACCESS_WRITE);
  }

  translateExec(lin: number): number {
    const e = this.tlb[lin >>> 12];
    if ((e & this.tlbReadMask) && !(e & TLB_NOEXEC)) return ((e & ~0xfff) | (lin & 0xfff)) >>> 0;
    return this.translateSlow(lin, ACCESS_EXEC);
  }

  /** Drops TLB entries: all of them, or all but global pages. */
  flushTlb(includingGlobal: boolean): void {
    const tlb = this.tlb;
    const list = this.tlbList;
    let kept = 0;
    for (let i = 0; i < this.tlbCount; i++) {
      const idx = list[i];
      if (!includingGlobal && (tlb[idx] & TLB_GLOBAL)) {
        list[kept++] = idx;
      } else {
        tlb[idx] = 0;
      }
    }
    this.tlbCount = kept;
  }

  invalidatePage(lin: number): void {
    this.tlb[lin >>> 12] = 0; // the list may keep a stale index; flushing a zero entry is harmless
  }

  /** Removes fast write permission from every TLB entry mapping a physical page that now holds code. */
  protectCodePage(physPage: number): void {
    const tlb = this.tlb;
    const list = this.tlbList;
    for (let i = 0; i < this.tlbCount; i++) {
      const e = tlb[list[i]];
      if (e !== 0 && (e >>> 12) === physPage) tlb[list[i]] = e & ~(TLB_WRITE | TLB_USER_WRITE);
    }
  }

  // ---------------------------------------------------------------- physical memory

  readPhys8(p: number): number {
    if (p < this.ramBytes && this.bus.mmioPages[p >>> 12] === 0) return this.ram8[p];
    return this.bus.isMmio(p) ? this.bus.mmioRead(p, 1) & 0xff : 0xff;
  }

  readPhys16(p: number): number {
    if (p + 1 < this.ramBytes && this.bus.mmioPages[p >>> 12] === 0) {
      return (p & 1) ? this.ram8[p] | (this.ram8[p + 1] << 8) : this.ram16[p >>> 1];
    }
    return this.bus.isMmio(p) ? this.bus.mmioRead(p, 2) & 0xffff : 0xffff;
  }

  readPhys32(p: number): number {
    if (p + 3 < this.ramBytes && this.bus.mmioPages[p >>> 12] === 0) {
      if (p & 3) {
        const r = this.ram8;
        return r[p] | (r[p + 1] << 8) | (r[p + 2] << 16) | (r[p + 3] << 24);
      }
      return this.ram32[p >>> 2];
    }
    return this.bus.isMmio(p) ? this.bus.mmioRead(p, 4) | 0 : -1;
  }

  writePhys8(p: number, v: number): void {
    if (p < this.ramBytes && this.bus.mmioPages[p >>> 12] === 0) {
      if (this.codePages[p >>> 12]) this.blocks.codeWritten(p, 1);
      this.ram8[p] = v;
    } else if (this.bus.isMmio(p)) this.bus.mmioWrite(p, 1, v & 0xff);
  }

  writePhys16(p: number, v: number): void {
    if (p + 1 < this.ramBytes && this.bus.mmioPages[p >>> 12] === 0) {
      if (this.codePages[p >>> 12] || this.codePages[(p + 1) >>> 12]) this.blocks.invalidateRange(p, 2);
      if (p & 1) {
        this.ram8[p] = v;
        this.ram8[p + 1] = v >> 8;
      } else this.ram16[p >>> 1] = v;
    } else if (this.bus.isMmio(p)) this.bus.mmioWrite(p, 2, v & 0xffff);
  }

  writePhys32(p: number, v: number): void {
    if (p + 3 < this.ramBytes && this.bus.mmioPages[p >>> 12] === 0) {
      if (this.codePages[p >>> 12] || this.codePages[(p + 3) >>> 12]) this.blocks.invalidateRange(p, 4);
      if (p & 3) {
        const r = this.ram8;
        r[p] = v; r[p + 1] = v >> 8; r[p + 2] = v >> 16; r[p + 3] = v >> 24;
      } else this.ram32[p >>> 2] = v;
    } else if (this.bus.isMmio(p)) this.bus.mmioWrite(p, 4, v | 0);
  }

  // ---------------------------------------------------------------- linear memory

  readLin8(lin: number): number {
    const e = this.tlb[lin >>> 12];
    if (e & this.tlbReadMask) return this.ram8[((e & ~0xfff) | (lin & 0xfff)) >>> 0];
    return this.readPhys8(this.translateSlow(lin, ACCESS_READ));
  }

  readLin16(lin: number): number {
    if ((lin & 0xfff) === 0xfff) return this.readLin8(lin) | (this.readLin8(lin + 1) << 8);
    const e = this.tlb[lin >>> 12];
    if (e & this.tlbReadMask) {
      const p = ((e & ~0xfff) | (lin & 0xfff)) >>> 0;
      return (p & 1) ? this.ram8[p] | (this.ram8[p + 1] << 8) : this.ram16[p >>> 1];
    }
    return this.readPhys16(this.translateSlow(lin, ACCESS_READ));
  }

  readLin32(lin: number): number {
    if ((lin & 0xfff) > 0xffc) return this.readLin16(lin) | (this.readLin16(lin + 2) << 16);
    const e = this.tlb[lin >>> 12];
    if (e & this.tlbReadMask) {
      const p = ((e & ~0xfff) | (lin & 0xfff)) >>> 0;
      if (p & 3) {
        const r = this.ram8;
        return r[p] | (r[p + 1] << 8) | (r[p + 2] << 16) | (r[p + 3] << 24);
      }
      return this.ram32[p >>> 2];
    }
    return this.readPhys32(this.translateSlow(lin, ACCESS_READ));
  }

  writeLin8(lin: number, v: number): void {
    const e = this.tlb[lin >>> 12];
    if (e & this.tlbWriteMask) {
      this.ram8[((e & ~0xfff) | (lin & 0xfff)) >>> 0] = v;
      return;
    }
    this.writePhys8(this.translateSlow(lin, ACCESS_WRITE), v);
  }

  writeLin16(lin: number, v: number): void {
    if ((lin & 0xfff) === 0xfff) {
      // Check both pages before writing either, so a fault leaves memory unchanged.
      this.translateWrite(lin);
      this.translateWrite(lin + 1);
      this.writeLin8(lin, v);
      this.writeLin8(lin + 1, v >> 8);
      return;
    }
    const e = this.tlb[lin >>> 12];
    if (e & this.tlbWriteMask) {
      const p = ((e & ~0xfff) | (lin & 0xfff)) >>> 0;
      if (p & 1) {
        this.ram8[p] = v;
        this.ram8[p + 1] = v >> 8;
      } else this.ram16[p >>> 1] = v;
      return;
    }
    this.writePhys16(this.translateSlow(lin, ACCESS_WRITE), v);
  }

  writeLin32(lin: number, v: number): void {
    if ((lin & 0xfff) > 0xffc) {
      this.translateWrite(lin);
      this.translateWrite(lin + 3);
      this.writeLin16(lin, v);
      this.writeLin16(lin + 2, v >> 16);
      return;
    }
    const e = this.tlb[lin >>> 12];
    if (e & this.tlbWriteMask) {
      const p = ((e & ~0xfff) | (lin & 0xfff)) >>> 0;
      if (p & 3) {
        const r = this.ram8;
        r[p] = v; r[p + 1] = v >> 8; r[p + 2] = v >> 16; r[p + 3] = v >> 24;
      } else this.ram32[p >>> 2] = v;
      return;
    }
    this.writePhys32(this.translateSlow(lin, ACCESS_WRITE), v);
  }

  /** Checks that a write to [lin, lin+size) would succeed (for read-modify-write and multi-part stores). */
  probeWrite(lin: number, size: number): void {
    this.translateWrite(lin);
    if (((lin & 0xfff) + size - 1) > 0xfff) this.translateWrite(lin + size - 1);
  }

  // ---------------------------------------------------------------- segmented memory

  /**
   * Linear address of seg:off for an access of `size` bytes, after the limit
   * check. Expand-down and unusable (null) segments take the slow path.
   */
  lin(seg: number, off: number, size: number): number {
    const st = this.st;
    const limit = st[S.SEG_LIMIT + seg];
    if ((st[S.SEG_ACCESS + seg] & 0x10004) === 0 || st[S.SEG_ACCESS + seg] & 0x8) {
      // Normal (expand-up or code) segment.
      if ((off >>> 0) + size - 1 > (limit >>> 0)) this.segLimitFault(seg);
    } else {
      this.checkSpecialSegment(seg, off, size);
    }
    return (st[S.SEG_BASE + seg] + off) | 0;
  }

  private checkSpecialSegment(seg: number, off: number, size: number): void {
    const st = this.st;
    const acc = st[S.SEG_ACCESS + seg];
    if (acc & 0x10000) this.segLimitFault(seg); // unusable: null selector loaded in protected mode
    // Expand-down data segment: valid offsets are (limit, top].
    const top = acc & 0x4000 ? 0xffffffff : 0xffff;
    const o = off >>> 0;
    if (o <= (st[S.SEG_LIMIT + seg] >>> 0) || o + size - 1 > top) this.segLimitFault(seg);
  }

  private segLimitFault(seg: number): never {
    return this.raise(seg === Seg.SS ? Vec.SS : Vec.GP, 0);
  }

  read8(seg: number, off: number): number {
    return this.readLin8(this.lin(seg, off, 1));
  }
  read16(seg: number, off: number): number {
    return this.readLin16(this.lin(seg, off, 2));
  }
  read32(seg: number, off: number): number {
    return this.readLin32(this.lin(seg, off, 4));
  }
  write8(seg: number, off: number, v: number): void {
    this.writeLin8(this.lin(seg, off, 1), v);
  }
  write16(seg: number, off: number, v: number): void {
    this.writeLin16(this.lin(seg, off, 2), v);
  }
  write32(seg: number, off: number, v: number): void {
    this.writeLin32(this.lin(seg, off, 4), v);
  }

  // ---------------------------------------------------------------- stack

  /** ESP as an offset into SS, honouring a 16-bit stack (SS.B = 0). */
  get stackPointer(): number {
    return this.st[S.MODE] & MODE_SS32 ? this.st[S.ESP] : this.st[S.ESP] & 0xffff;
  }

  /** Stores a new stack offset, keeping ESP's high half for a 16-bit stack. */
  setStackPointer(sp: number): void {
    const st = this.st;
    if (st[S.MODE] & MODE_SS32) st[S.ESP] = sp;
    else st[S.ESP] = (st[S.ESP] & ~0xffff) | (sp & 0xffff);
  }

  push16(v: number): void {
    const sp = (this.stackPointer - 2) | 0;
    this.write16(Seg.SS, this.st[S.MODE] & MODE_SS32 ? sp : sp & 0xffff, v);
    this.setStackPointer(sp);
  }

  push32(v: number): void {
    const sp = (this.stackPointer - 4) | 0;
    this.write32(Seg.SS, this.st[S.MODE] & MODE_SS32 ? sp : sp & 0xffff, v);
    this.setStackPointer(sp);
  }

  pop16(): number {
    const sp = this.stackPointer;
    const v = this.read16(Seg.SS, sp);
    this.setStackPointer(sp + 2);
    return v;
  }

  pop32(): number {
    const sp = this.stackPointer;
    const v = this.read32(Seg.SS, sp);
    this.setStackPointer(sp + 4);
    return v;
  }

  /** Reads the stack slot `offset` bytes above the top without popping. */
  peek16(offset: number): number {
    const sp = this.stackPointer + offset;
    return this.read16(Seg.SS, this.st[S.MODE] & MODE_SS32 ? sp : sp & 0xffff);
  }
  peek32(offset: number): number {
    const sp = this.stackPointer + offset;
    return this.read32(Seg.SS, this.st[S.MODE] & MODE_SS32 ? sp : sp & 0xffff);
  }

  // ---------------------------------------------------------------- misc state

  /** The instruction count as a number (exact below 2^53). */
  get instructionCount(): number {
    return (this.st[S.ICOUNT_HI] >>> 0) * 0x1_0000_0000 + (this.st[S.ICOUNT_LO] >>> 0);
  }

  addInstructions(n: number): void {
    const lo = (this.st[S.ICOUNT_LO] >>> 0) + n;
    this.st[S.ICOUNT_LO] = lo;
    if (lo > 0xffffffff) this.st[S.ICOUNT_HI] += Math.floor(lo / 0x1_0000_0000);
  }

  get isProtected(): boolean {
    return (this.st[S.MODE] & MODE_PROT) !== 0;
  }
  get isV86(): boolean {
    return (this.st[S.MODE] & MODE_V86) !== 0;
  }
}
