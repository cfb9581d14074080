// The JS tier's runtime: counts how often each decoded block is interpreted,
// compiles a hot block (with the warm blocks it branches to in its page) into
// a region (compiler.ts), and drops regions with their blocks (a write to
// their code, a pool flush) through the block cache's code-page tracking.
import { POOL_SLOTS } from '../decoded.ts';
import { S, Seg, MODE_CS32, MODE_SS32, MODE_V86 } from '../state.ts';
import { RegionCompiler, blockSuccessors, type Region, type RegionBlockIn } from './compiler.ts';
import type { Cpu } from '../cpu.ts';
import { regionRuntime, type RegionRuntime } from './runtime.ts';

/**
 * Interpretations of a block (within a decay interval, below) before it is
 * compiled. Compiling code that is only warm costs more than it saves: a new
 * region runs in the JS engine's baseline tiers (no faster than the
 * interpreter) until it has run a good while, and its optimisation occupies
 * the engine's background compiler. Compiling late costs short runs: until
 * the JS engine has optimised the interpreter itself, interpreting is slow.
 * Measured on the Debian kernel's boot and the CPU benchmark loops.
 */
export const HOT_THRESHOLD = 500;
/**
 * Instructions between halvings of the heat counts: code that runs often but
 * only now and then (kernel initialisation) stays interpreted.
 */
export const DECAY_INTERVAL = 20_000_000;
/** Blocks reached from a hot one that have run this often join its region. */
export const WARM_THRESHOLD = 16;
/** Regions compiled per physical page at most (until its code changes). */
const MAX_COMPILES_PER_PAGE = 256;
/**
 * Instructions per region at most: the JS engine optimises a function only
 * after running it for a while in proportion to its size (and starts over
 * whenever a new path in it runs for the first time), so large regions spend
 * long in the engine's baseline tiers, slower than the interpreter.
 */
export const MAX_REGION_INSNS = 64;

export class JsJit {
  /** Whether regions are used (off: the plain interpreter runs everything). */
  enabled = true;
  /** Keep generated source on regions (debugging). */
  keepSource = false;
  /** Interpretations before a block is compiled (at most 65535), and before a block reached from it joins its region. */
  hotThreshold = HOT_THRESHOLD;
  warmThreshold = WARM_THRESHOLD;
  maxRegionInstructions = MAX_REGION_INSNS;
  /** Instructions between halvings of every block's heat, so only code that stays hot gets compiled. */
  decayInterval = DECAY_INTERVAL;
  private sinceDecay = 0;
  /** By block's first pool slot: its region, if compiled, and its entry index there. */
  readonly regionOf: (Region | undefined)[] = new Array<Region | undefined>(POOL_SLOTS).fill(undefined);
  readonly entryOf = new Int32Array(POOL_SLOTS);
  /** By block's first pool slot: times interpreted (saturating at the threshold). */
  readonly heat = new Uint16Array(POOL_SLOTS);
  /** Whether a region may have been compiled since the last clear(). */
  used = false;
  /** The regions compiled from each physical page. */
  private readonly pages = new Map<number, Region[]>();
  private readonly compiles = new Map<number, number>();
  readonly counters = { regionsCompiled: 0, regionInstructions: 0, compileMs: 0, compileErrors: 0, regionsDropped: 0 };

  private readonly rt: RegionRuntime;

  constructor(private readonly cpu: Cpu) {
    this.rt = regionRuntime(cpu);
    // new Function may be refused (a page's Content-Security-Policy without 'unsafe-eval').
    try {
      new Function('return 0');
    } catch {
      this.enabled = false;
    }
  }

  /** Drops every region (the decoded pool was flushed, so the slots they name are reused); slots [0, slotsUsed) were in use. */
  clear(slotsUsed: number): void {
    const n = Math.min(slotsUsed, POOL_SLOTS);
    this.heat.fill(0, 0, n);
    if (!this.used) return;
    this.used = false;
    this.regionOf.fill(undefined, 0, n);
    for (const list of this.pages.values()) this.counters.regionsDropped += list.length;
    this.pages.clear();
    this.compiles.clear();
  }

  /**
   * Counts executed instructions towards the next halving of all heat
   * counts; `slotsInUse` bounds the slots that may have heat.
   */
  ran(instructions: number, slotsInUse: number): void {
    this.sinceDecay += instructions;
    if (this.sinceDecay < this.decayInterval) return;
    this.sinceDecay = 0;
    const heat = this.heat;
    for (let i = Math.min(slotsInUse, POOL_SLOTS) - 1; i >= 0; i--) heat[i] >>= 1;
  }

  /** Drops the region compiled from a physical page (its blocks were dropped). */
  invalidatePage(page: number): void {
    // New code in the page starts a new count of compilations.
    this.compiles.delete(page);
    this.dropRegion(page);
  }

  private dropRegion(page: number): void {
    const list = this.pages.get(page);
    if (list === undefined) return;
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
      if (insns + n > this.maxRegionInstructions && blocks.length > 0) continue;
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
      region = new RegionCompiler(pool, st, blocks, linPage).compile(cpu, this.rt, page, linPage, this.keepSource);
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
