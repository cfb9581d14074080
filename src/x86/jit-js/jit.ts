// The JS tier's runtime: counts how often each decoded block is interpreted,
// compiles a code page's blocks into a region (compiler.ts) once one of them
// is hot, and drops regions with their blocks (a write to the page, a pool
// flush), through the block cache's code-page tracking.
import { POOL_SLOTS } from '../decoded.ts';
import { S, Seg, MODE_CS32, MODE_SS32, MODE_V86 } from '../state.ts';
import { RegionCompiler, blockSuccessors, type Region, type RegionBlockIn } from './compiler.ts';
import type { Cpu } from '../cpu.ts';

/** Entries in the EIP → region cache (a power of two). */
export const CACHE_SIZE = 4096;
/** Interpretations of a block before it is compiled. */
export const HOT_THRESHOLD = 200;
/** Blocks reached from a hot one that have run this often join its region. */
export const WARM_THRESHOLD = 16;
/** Regions compiled per physical page at most (until its code changes). */
const MAX_COMPILES_PER_PAGE = 256;
/** Instructions per region at most: the JS engine optimises a function after running it in proportion to its size. */
const MAX_REGION_INSNS = Number(globalThis.process?.env?.TS86_REGION_INSNS ?? 64);

export class JsJit {
  /** Whether regions are used (off: the plain interpreter runs everything). */
  enabled = true;
  /** Keep generated source on regions (debugging). */
  keepSource = false;
  /** Interpretations before a block is compiled (at most 255), and before a block reached from it joins its region. */
  hotThreshold = HOT_THRESHOLD;
  warmThreshold = WARM_THRESHOLD;
  /** By block's first pool slot: its region, if compiled, and its entry index there. */
  readonly regionOf: (Region | undefined)[] = new Array<Region | undefined>(POOL_SLOTS).fill(undefined);
  readonly entryOf = new Int32Array(POOL_SLOTS);
  /** By block's first pool slot: times interpreted (saturating at the threshold). */
  readonly heat = new Uint8Array(POOL_SLOTS);
  /** Whether anything may have been recorded since the last clear(). */
  used = false;
  /**
   * Direct-mapped cache from EIP to region entry, so going from one region to
   * the next skips the block lookup. An entry holds the TLB entry of the
   * code page seen when it was filled: the same entry means the same
   * physical code with the same permissions. Emptied whenever a region is dropped.
   */
  readonly cacheEip = new Int32Array(CACHE_SIZE).fill(-1);
  readonly cacheTlb = new Int32Array(CACHE_SIZE);
  readonly cacheEntry = new Int32Array(CACHE_SIZE);
  readonly cacheRegion: (Region | undefined)[] = new Array<Region | undefined>(CACHE_SIZE).fill(undefined);
  /** The regions compiled from each physical page. */
  private readonly pages = new Map<number, Region[]>();
  private readonly compiles = new Map<number, number>();
  readonly counters = { regionsCompiled: 0, regionInstructions: 0, compileMs: 0, compileErrors: 0, regionsDropped: 0 };

  constructor(private readonly cpu: Cpu) {
    // new Function may be refused (a page's Content-Security-Policy without 'unsafe-eval').
    try {
      new Function('return 0');
    } catch {
      this.enabled = false;
    }
  }

  /** Drops every region (the decoded pool was flushed, so the slots they name are reused). */
  clear(): void {
    if (!this.used) return;
    this.used = false;
    this.flushCache();
    this.regionOf.fill(undefined);
    this.heat.fill(0);
    for (const list of this.pages.values()) this.counters.regionsDropped += list.length;
    this.pages.clear();
    this.compiles.clear();
  }

  /** Drops the region compiled from a physical page (its blocks were dropped). */
  invalidatePage(page: number): void {
    // New code in the page starts a new count of compilations.
    this.compiles.delete(page);
    this.dropRegion(page);
  }

  /** Empties the EIP → region cache. */
  flushCache(): void {
    this.cacheEip.fill(-1);
    this.cacheRegion.fill(undefined);
  }

  /** Remembers that code at `eip` (CS base 0) runs as entry `entry` of `region`. */
  cache(eip: number, region: Region, entry: number): void {
    const h = (eip ^ (eip >>> 12)) & (CACHE_SIZE - 1);
    this.cacheEip[h] = eip;
    this.cacheTlb[h] = this.cpu.tlb[eip >>> 12];
    this.cacheRegion[h] = region;
    this.cacheEntry[h] = entry;
  }

  private dropRegion(page: number): void {
    const list = this.pages.get(page);
    if (list === undefined) return;
    this.flushCache();
    for (const r of list) {
      for (const s of r.slots) this.regionOf[s] = undefined;
      this.counters.regionsDropped++;
    }
    this.pages.delete(page);
  }

  /**
   * Block `first` (at physical `phys`, entered at the current CS:EIP) became
   * hot: compiles it into a new region together with the warm blocks it
   * reaches by direct branches in the same page (so small loops stay inside
   * one function). Regions stay small: the JS engine optimises a function
   * only after running it for a while in proportion to its size.
   */
  onHot(first: number, phys: number): void {
    const cpu = this.cpu;
    this.used = true;
    const st = cpu.st;
    if ((st[S.MODE] & (MODE_CS32 | MODE_SS32 | MODE_V86)) !== (MODE_CS32 | MODE_SS32) ||
        st[S.SEG_BASE + Seg.CS] !== 0 || st[S.SEG_LIMIT + Seg.CS] !== -1) return;
    const page = phys >>> 12;
    const linPage = st[S.EIP] >>> 12;
    const count = this.compiles.get(page) ?? 0;
    if (count >= MAX_COMPILES_PER_PAGE) return;
    this.compiles.set(page, count + 1);
    const pool = cpu.pool;
    const byOffset = new Map<number, number>();
    for (const b of cpu.blocks.blocksOfPage(page)) byOffset.set(b.phys & 0xfff, b.first);
    const linBase = (linPage << 12) | 0;
    const blocks: RegionBlockIn[] = [];
    const taken = new Set<number>();
    const queue = [phys & 0xfff];
    let insns = 0;
    while (queue.length > 0) {
      const off = queue.shift()!;
      const slot = byOffset.get(off);
      if (slot === undefined || taken.has(slot)) continue;
      if (slot !== first && (this.regionOf[slot] !== undefined || this.heat[slot] < this.warmThreshold)) continue;
      const n = pool.blockLen[slot];
      if (insns + n > MAX_REGION_INSNS && blocks.length > 0) continue;
      taken.add(slot);
      insns += n;
      const eip = (linBase | off) | 0;
      blocks.push({ slot, eip });
      for (const t of blockSuccessors(pool, slot, eip)) {
        if ((t & -4096) === linBase) queue.push(t & 0xfff);
      }
    }
    const t0 = performance.now();
    let region: Region;
    try {
      region = new RegionCompiler(pool, st, blocks, linPage).compile(cpu, page, linPage, this.keepSource);
    } catch (e) {
      // A generator bug must not take the machine down: leave the page to the interpreter.
      this.counters.compileErrors++;
      this.compiles.set(page, MAX_COMPILES_PER_PAGE);
      if (this.counters.compileErrors <= 3) console.warn(`ts86: JS tier could not compile page 0x${page.toString(16)}: ${(e as Error).message}`);
      return;
    }
    this.counters.compileMs += performance.now() - t0;
    let list = this.pages.get(page);
    if (list === undefined) this.pages.set(page, (list = []));
    list.push(region);
    region.slots.forEach((s, idx) => {
      this.regionOf[s] = region;
      this.entryOf[s] = idx;
    });
    this.counters.regionsCompiled++;
    this.counters.regionInstructions += insns;
  }
}
