// Decoded-block cache. Guest code is decoded once per physical location into
// runs of pre-decoded instructions ("blocks") that end at a control transfer
// or a page boundary. A write to a physical page holding decoded code drops
// that page's blocks: this code-page tracking is also the hook for the JIT
// and the code scanner.
import { S, Seg, MODE_CS32 } from './state.ts';
import { decodeInstruction, ENDS_BLOCK, type ByteSource } from './decoder.ts';
import { POOL_SLOTS } from './decoded.ts';
import type { Cpu } from './cpu.ts';

const MAX_BLOCK = 64;
/** Slots at the end of the pool reserved for instructions that are decoded but not cached. */
const SCRATCH = POOL_SLOTS - 4;
/** Slots at and above this one hold uncached instructions (never compiled). */
export const SCRATCH_SLOT = SCRATCH;
/** Entries in the fast lookup cache (a power of two). */
export const FAST_SIZE = 4096;

/** The fast lookup cache's index for an EIP. */
export function fastIndex(eip: number): number {
  return (eip ^ (eip >>> 12)) & (FAST_SIZE - 1);
}

/**
 * cpu.codePages value of a code page whose bytes outside its decoded code
 * were written (the blocks stay): code decoded from it next is new to the
 * observers, so onCodePage fires again then.
 */
const CODE_PAGE_DATA_WRITTEN = 2;

/** Thrown by the code source when a non-first instruction would leave the page or the CS limit. */
const END_OF_RUN = { endOfRun: true };

/** Reads instruction bytes at CS:EIP through the TLB, with the CS limit check. */
class GuestCode implements ByteSource {
  lin = 0;
  eip = 0;
  /** Bytes that may be read without leaving the page; -1 for no restriction (first instruction). */
  pageRoom = -1;
  constructor(private readonly cpu: Cpu) {}

  byteAt(offset: number): number {
    const cpu = this.cpu;
    const st = cpu.st;
    if (this.pageRoom >= 0 && offset >= this.pageRoom) throw END_OF_RUN;
    if (((this.eip + offset) >>> 0) > (st[S.SEG_LIMIT + Seg.CS] >>> 0)) {
      if (this.pageRoom >= 0) throw END_OF_RUN;
      cpu.gp(0);
    }
    return cpu.readPhys8(cpu.translateExec((this.lin + offset) | 0));
  }
}

/** Observers of code-page events (the JIT and the code scanner hook in here). */
export interface CodePageObserver {
  /**
   * A physical page is about to be decoded for the first time since it was
   * last written (or since the cache was flushed), or new code is about to be
   * decoded from it after bytes outside its decoded code were written.
   */
  onCodePage?(physPage: number): void;
  /** A physical page that held code was written. */
  onCodePageWritten?(physPage: number): void;
}

export class BlockCache {
  // Keyed by physical address (always below 2^31, so V8 keeps the keys small
  // integers); one map per default code size, since the same bytes decode
  // differently in 16- and 32-bit code.
  private readonly map32 = new Map<number, number>();
  private readonly map16 = new Map<number, number>();
  /** Per code page: its blocks' physical addresses (32-bit blocks as is, 16-bit ones as -1 - phys). */
  private readonly pageKeys = new Map<number, number[]>();
  /**
   * Per code page: which of its bytes hold decoded instructions (one bit per
   * byte). A write to the page that touches none of them (data sharing a page
   * with code) leaves the decoded blocks in place.
   */
  private readonly codeBytes = new Map<number, Int32Array>();
  private next = 0;
  private readonly src: GuestCode;
  readonly observers: CodePageObserver[] = [];
  /** Counters for --stats. */
  readonly counters = { blocksDecoded: 0, pagesInvalidated: 0, poolFlushes: 0 };
  /** Pool slots holding cached blocks: [0, slotsInUse). */
  get slotsInUse(): number {
    return this.next;
  }
  /** Physical address of the block the last lookup returned. */
  lastPhys = 0;
  /**
   * Direct-mapped cache from EIP to block, for flat 32-bit code (cpu.flatCode):
   * an entry holds the TLB entry of the code page seen when it was filled,
   * and the same TLB entry means the same physical code with the same
   * permissions, so the translation and the map lookup can be skipped.
   * Emptied whenever blocks are dropped.
   */
  readonly fastEip = new Int32Array(FAST_SIZE).fill(-1);
  readonly fastTlb = new Int32Array(FAST_SIZE);
  readonly fastSlot = new Int32Array(FAST_SIZE);

  constructor(private readonly cpu: Cpu) {
    this.src = new GuestCode(cpu);
  }

  clear(): void {
    this.fastEip.fill(-1);
    // Heat and regions are only recorded for cached blocks: slots below `next`.
    this.cpu.jit?.clear(this.next);
    for (const page of this.pageKeys.keys()) this.cpu.codePages[page] = 0;
    this.map32.clear();
    this.map16.clear();
    this.pageKeys.clear();
    this.codeBytes.clear();
    this.next = 0;
  }

  /** The first pool slot of the block at CS:EIP, decoding it if needed. */
  lookup(): number {
    const cpu = this.cpu;
    const st = cpu.st;
    const eip = st[S.EIP];
    const lin = (st[S.SEG_BASE + Seg.CS] + eip) | 0;
    if (((eip >>> 0) > (st[S.SEG_LIMIT + Seg.CS] >>> 0))) cpu.gp(0);
    const phys = cpu.translateExec(lin);
    const cs32 = (st[S.MODE] & MODE_CS32) !== 0;
    const r = (cpu.recentIndex = (cpu.recentIndex + 1) & 15);
    cpu.recentBlocks[r] = lin;
    cpu.recentCs32[r] = cs32 ? 1 : 0;
    this.lastPhys = phys;
    const cacheable = phys < cpu.ramBytes && cpu.bus.mmioPages[phys >>> 12] === 0;
    if (cacheable) {
      let slot = (cs32 ? this.map32 : this.map16).get(phys);
      if (slot === undefined) slot = this.decodeBlock(lin, eip, phys, cs32, true);
      if (cpu.flatCode && slot < SCRATCH) {
        const h = fastIndex(eip);
        this.fastEip[h] = eip;
        this.fastTlb[h] = cpu.tlb[lin >>> 12];
        this.fastSlot[h] = slot;
      }
      return slot;
    }
    return this.decodeBlock(lin, eip, phys, cs32, false);
  }

  private decodeBlock(lin: number, eip: number, phys: number, cs32: boolean, cacheable: boolean): number {
    const key = cacheable ? phys : -1;
    const cpu = this.cpu;
    const pool = cpu.pool;
    if (this.next + MAX_BLOCK > SCRATCH) {
      this.clear();
      this.counters.poolFlushes++;
    }
    const first = key >= 0 ? this.next : SCRATCH;
    const pageOff = phys & 0xfff;
    const src = this.src;
    let n = 0;
    let off = 0;
    while (n < MAX_BLOCK) {
      src.lin = (lin + off) | 0;
      src.eip = (eip + off) | 0;
      src.pageRoom = n === 0 ? -1 : 4096 - (pageOff + off);
      let len: number;
      pool.eipOff[first + n] = off;
      try {
        len = decodeInstruction(src, cs32, pool, first + n);
      } catch (e) {
        if (e === END_OF_RUN) break;
        throw e;
      }
      n++;
      off += len;
      if (ENDS_BLOCK[pool.def[first + n - 1]] || pageOff + off >= 4096 || key < 0) break;
    }
    pool.blockLen[first] = n;
    this.counters.blocksDecoded++;
    // An instruction that straddles into the next page is executed but never cached,
    // so a write to either page is always seen.
    if (key < 0 || pageOff + off > 4096) {
      if (key >= 0) {
        pool.blockLen[SCRATCH] = 1;
        copySlot(pool, first, SCRATCH);
        return SCRATCH;
      }
      return first;
    }
    this.next = first + n;
    (cs32 ? this.map32 : this.map16).set(phys, first);
    const page = phys >>> 12;
    let keys = this.pageKeys.get(page);
    let bits = this.codeBytes.get(page);
    if (!keys || !bits) {
      keys = [];
      bits = new Int32Array(128);
      this.pageKeys.set(page, keys);
      this.codeBytes.set(page, bits);
      for (const o of this.observers) o.onCodePage?.(page);
      cpu.codePages[page] = 1;
      cpu.protectCodePage(page);
    } else if (cpu.codePages[page] === CODE_PAGE_DATA_WRITTEN) {
      // Code written next to live code in the same page was never seen by the observers.
      cpu.codePages[page] = 1;
      for (const o of this.observers) o.onCodePage?.(page);
    }
    keys.push(cs32 ? phys : -1 - phys);
    for (let b = pageOff, end = pageOff + off; b < end; b++) bits[b >>> 5] |= 1 << (b & 31);
    return first;
  }

  /** Drops every block decoded from a physical page (it was written). */
  invalidatePage(page: number): void {
    const keys = this.pageKeys.get(page);
    this.cpu.codePages[page] = 0;
    if (!keys) return;
    this.fastEip.fill(-1);
    for (const k of keys) {
      if (k >= 0) this.map32.delete(k); else this.map16.delete(-1 - k);
    }
    this.pageKeys.delete(page);
    this.codeBytes.delete(page);
    this.counters.pagesInvalidated++;
    this.cpu.jit.invalidatePage(page);
    for (const o of this.observers) o.onCodePageWritten?.(page);
    // The running block may come from this page: stop after the current instruction.
    this.cpu.st[S.BLOCK_EXIT] = 1;
  }

  /** The 32-bit-code blocks decoded from a physical page: their physical addresses and first slots. */
  blocksOfPage(page: number): { phys: number; first: number }[] {
    const out: { phys: number; first: number }[] = [];
    for (const k of this.pageKeys.get(page) ?? []) {
      if (k < 0) continue;
      const first = this.map32.get(k);
      if (first !== undefined) out.push({ phys: k, first });
    }
    return out;
  }

  /**
   * A write to [phys, phys+length) of RAM: drops the blocks of every code
   * page whose decoded bytes the range touches.
   */
  invalidateRange(phys: number, length: number): void {
    const end = phys + length;
    const last = (end - 1) >>> 12;
    for (let p = phys >>> 12; p <= last; p++) {
      if (!this.cpu.codePages[p]) continue;
      const lo = Math.max(phys, p * 4096) - p * 4096;
      const hi = Math.min(end, (p + 1) * 4096) - p * 4096;
      if (this.touchesCode(p, lo, hi)) this.invalidatePage(p);
      else this.cpu.codePages[p] = CODE_PAGE_DATA_WRITTEN;
    }
  }

  /** A CPU store of `size` bytes (within one page) at phys to a code page: drops its blocks if it hits code. */
  codeWritten(phys: number, size: number): void {
    const page = phys >>> 12;
    const lo = phys & 0xfff;
    if (this.touchesCode(page, lo, lo + size)) this.invalidatePage(page);
    else this.cpu.codePages[page] = CODE_PAGE_DATA_WRITTEN;
  }

  /** Whether bytes [lo, hi) of a code page hold decoded instructions (true if unknown). */
  private touchesCode(page: number, lo: number, hi: number): boolean {
    const bits = this.codeBytes.get(page);
    if (bits === undefined) return true;
    for (let b = lo; b < hi; b++) if (bits[b >>> 5] & (1 << (b & 31))) return true;
    return false;
  }
}

function copySlot(pool: import('./decoded.ts').DecodedPool, from: number, to: number): void {
  pool.def[to] = pool.def[from];
  pool.len[to] = pool.len[from];
  pool.attrs[to] = pool.attrs[from];
  pool.opcode[to] = pool.opcode[from];
  pool.modrm[to] = pool.modrm[from];
  pool.reg[to] = pool.reg[from];
  pool.rm[to] = pool.rm[from];
  pool.eaBase[to] = pool.eaBase[from];
  pool.eaIndex[to] = pool.eaIndex[from];
  pool.eaScale[to] = pool.eaScale[from];
  pool.seg[to] = pool.seg[from];
  pool.disp[to] = pool.disp[from];
  pool.imm[to] = pool.imm[from];
  pool.imm2[to] = pool.imm2[from];
  pool.eipOff[to] = pool.eipOff[from];
}
