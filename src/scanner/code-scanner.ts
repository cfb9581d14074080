// The agentless code scanner: the machine scans a guest code page against
// ClamAV signatures the first time it executes after being written. The
// block cache's code-page tracking is the hook: onCodePage fires when a
// physical page is about to be decoded and nothing decoded from it is
// current, so a page is scanned once per write-then-execute, and a machine
// without a scanner attached does no work at all for it.
import type { CodePageObserver } from '../x86/block-cache.ts';
import type { Machine } from '../machine/machine.ts';
import { SignatureMatcher } from './matcher.ts';
import type { SignatureSet } from './signatures.ts';

const PAGE = 4096;

export interface Detection {
  /** The signature's name. */
  name: string;
  /** Guest physical address of the match's first byte (the page's base for a hash signature). */
  phys: number;
  kind: 'body' | 'hash';
  /**
   * Guest instructions executed before the page was about to run, as of the
   * start of the current time slice (the CPU commits its count per slice).
   */
  instructions: number;
}

export interface ScannerCounters {
  pagesScanned: number;
  /** Pages decoded again with the same contents as at their last scan (after a decoded-code flush): not rescanned. */
  pagesUnchanged: number;
  bytesScanned: number;
  detections: number;
  scanMs: number;
}

export class CodeScanner implements CodePageObserver {
  readonly counters: ScannerCounters = { pagesScanned: 0, pagesUnchanged: 0, bytesScanned: 0, detections: 0, scanMs: 0 };
  /**
   * Fingerprints of pages scanned and not written since. The block cache
   * forgets every page when it flushes its pool or the CPU resets, and then
   * reports them again when they next run without any write in between; the
   * fingerprint keeps those from being rescanned and their detections from
   * being reported twice. (It is a 53-bit non-cryptographic hash: a guest
   * could craft a collision, but only for a write the tracking did not see,
   * which can happen only between such a flush and the next execution.)
   */
  private readonly scanned = new Map<number, number>();
  private readonly ram8: Uint8Array;
  private readonly ram32: Int32Array;

  constructor(
    private readonly machine: Machine,
    readonly matcher: SignatureMatcher,
    private readonly onDetection: (d: Detection) => void,
  ) {
    this.ram8 = machine.views.ram8;
    this.ram32 = machine.views.ram32;
  }

  onCodePage(page: number): void {
    const t0 = performance.now();
    const base = page * PAGE;
    const fp = this.fingerprint(page);
    if (this.scanned.get(page) === fp) {
      this.counters.pagesUnchanged++;
      this.counters.scanMs += performance.now() - t0;
      return;
    }
    this.scanned.set(page, fp);
    // Straddling matches: a match must start in this page, and it may run
    // into the first bytes of the next page (as many as the longest
    // signature needs, at most MAX_TAIL) when that page is guest RAM, which is
    // always resident here. A later write to only that next page does not
    // rescan this one: keeping it simple costs matches that start here and
    // are completed by a later write there.
    const ramBytes = this.machine.views.ramBytes;
    const nextIsRam = base + PAGE < ramBytes && this.machine.bus.mmioPages[page + 1] === 0;
    const end = nextIsRam ? Math.min(base + PAGE + this.matcher.tailBytes, ramBytes) : base + PAGE;
    const hits = this.matcher.scan(this.ram8, base, PAGE, end);
    this.counters.pagesScanned++;
    this.counters.bytesScanned += end - base;
    this.counters.scanMs += performance.now() - t0;
    if (hits.length === 0) return;
    const instructions = this.machine.cpu.instructionCount;
    for (const h of hits) {
      this.counters.detections++;
      this.onDetection({ name: h.name, phys: base + h.offset, kind: h.kind, instructions });
    }
  }

  onCodePageWritten(page: number): void {
    this.scanned.delete(page);
  }

  /** Stops scanning (the observer is removed from the CPU's block cache). */
  detach(): void {
    const list = this.machine.cpu.blocks.observers;
    const i = list.indexOf(this);
    if (i >= 0) list.splice(i, 1);
  }

  private fingerprint(page: number): number {
    const ram32 = this.ram32;
    let a = 0x811c9dc5 | 0, b = 0x2545f491;
    for (let i = page * (PAGE / 4), end = i + PAGE / 4; i < end; i++) {
      const w = ram32[i];
      a = Math.imul(a ^ w, 0x01000193);
      b = Math.imul((b + w) | 0, 0x5bd1e995) ^ (b >>> 15);
    }
    return (a >>> 0) * 0x20_0000 + (b >>> 11);
  }
}

/** Builds a matcher for the signatures and hooks a scanner into the machine's code-page tracking. */
export function attachCodeScanner(machine: Machine, signatures: SignatureSet, onDetection: (d: Detection) => void): CodeScanner {
  const scanner = new CodeScanner(machine, new SignatureMatcher(signatures), onDetection);
  machine.cpu.blocks.observers.push(scanner);
  return scanner;
}
