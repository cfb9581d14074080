// Matches a set of ClamAV signatures against a window of bytes.
//
// Every body signature is indexed by two bytes inside its longest run of
// fixed bytes (its anchor). A scan slides over the window once, looking the
// byte pair at each position up in a 64 Kbit bitmap (which stays in L1) and,
// on a hit, in a table of anchors; each candidate is then verified: the
// anchor's segment in place, the later segments forward and the earlier ones
// backward across their gaps. The cost is one bitmap probe per byte plus the
// candidates, so it barely grows with the number of signatures.
import { longestFixedRun, type BodySignature, type Gap, type HashSignature, type Segment, type SignatureSet } from './signatures.ts';
import { md5Hex } from './md5.ts';

export interface MatchHit {
  name: string;
  /** Offset of the match's first byte from the start of the scanned page. */
  offset: number;
  kind: 'body' | 'hash';
}

/**
 * The most bytes of the following page a scan reads. Straddling code is
 * rare; reading a whole second page would double the cost of every scan
 * for it.
 */
export const MAX_TAIL = 256;

/** Page size the .hdb hashes are compared at (a hash signature for any other size never matches a page). */
export const HASHED_BYTES = 4096;

interface Compiled {
  name: string;
  segments: Segment[];
  gaps: Gap[];
  /** The segment holding the anchor, and the offset of the two indexed bytes in it. */
  anchorSeg: number;
  keyOff: number;
}

/** How common a byte is in x86 code and data (zero fill, padding, common opcodes): higher is worse for an index key. */
function commonness(b: number): number {
  if (b === 0x00 || b === 0xff) return 4;
  if (b === 0xcc || b === 0x90 || b === 0x8b || b === 0x89 || b === 0xe8 || b === 0x0f || b === 0x24 || b === 0x45) return 1;
  return 0;
}

function compile(sig: BodySignature): Compiled {
  let anchorSeg = 0, keyOff = 0, bestLen = 0, bestScore = Infinity;
  sig.segments.forEach((seg, k) => {
    const [at, len] = longestFixedRun(seg);
    if (len < 2 || len < bestLen) return;
    for (let o = at; o + 1 < at + len; o++) {
      const score = commonness(seg.value[o]) + commonness(seg.value[o + 1]) + (seg.value[o] === seg.value[o + 1] ? 1 : 0);
      if (len > bestLen || score < bestScore) {
        bestLen = len;
        bestScore = score;
        anchorSeg = k;
        keyOff = o;
      }
    }
  });
  if (bestLen < 2) throw new Error(`${sig.origin}: signature ${sig.name} has no two consecutive fixed bytes to index`);
  return { name: sig.name, segments: sig.segments, gaps: sig.gaps, anchorSeg, keyOff };
}

function segmentAt(seg: Segment, data: Uint8Array, p: number): boolean {
  const value = seg.value, mask = seg.mask, n = value.length;
  for (let i = 0; i < n; i++) if ((data[p + i] & mask[i]) !== value[i]) return false;
  for (const alt of seg.alts) {
    let any = false;
    for (const opt of alt.options) {
      let ok = true;
      for (let i = 0; i < opt.length; i++) if (data[p + alt.at + i] !== opt[i]) { ok = false; break; }
      if (ok) { any = true; break; }
    }
    if (!any) return false;
  }
  return true;
}

export class SignatureMatcher {
  private readonly sigs: Compiled[];
  private readonly bitmap = new Uint8Array(8192);
  private readonly heads = new Int32Array(65536).fill(-1);
  private readonly next: Int32Array;
  /** Per signature: the scan number in which it was settled (matched or ruled out). */
  private readonly settled: Int32Array;
  private scanNo = 0;
  private readonly hashes = new Map<string, string[]>();
  /**
   * Bytes after the page that a match starting in the page may extend into:
   * as many as the longest signature can span, at most MAX_TAIL (so a
   * signature with an unbounded gap sees only that much of the next page).
   */
  readonly tailBytes: number;
  readonly bodyCount: number;
  /** Hash signatures that can match a page (size 4096 or "*"). */
  readonly pageHashCount: number;

  constructor(set: SignatureSet) {
    this.sigs = set.body.map(compile);
    this.bodyCount = this.sigs.length;
    this.next = new Int32Array(this.sigs.length);
    this.settled = new Int32Array(this.sigs.length);
    let longest = 0;
    // Insert in reverse so each bucket lists signatures in file order.
    for (let s = this.sigs.length - 1; s >= 0; s--) {
      const c = this.sigs[s];
      const seg = c.segments[c.anchorSeg];
      const key = seg.value[c.keyOff] | (seg.value[c.keyOff + 1] << 8);
      this.bitmap[key >>> 3] |= 1 << (key & 7);
      this.next[s] = this.heads[key];
      this.heads[key] = s;
      let len = 0;
      for (const g of c.gaps) len += g.max;
      for (const sg of c.segments) len += sg.value.length;
      longest = Math.max(longest, len);
    }
    this.tailBytes = Math.min(MAX_TAIL, Math.max(0, longest - 1));
    let pageHashes = 0;
    for (const h of set.hash) {
      if (h.size !== null && h.size !== HASHED_BYTES) continue;
      pageHashes++;
      const names = this.hashes.get(h.md5);
      if (names) names.push(h.name); else this.hashes.set(h.md5, [h.name]);
    }
    this.pageHashCount = pageHashes;
  }

  /**
   * Scans data[start, end): matches must begin in [start, start + pageLen)
   * and lie entirely before `end`. Reports at most one hit per signature, its
   * lowest offset. Hash signatures are compared with the MD5 of
   * data[start, start + pageLen) when pageLen is 4096.
   */
  scan(data: Uint8Array, start: number, pageLen: number, end: number): MatchHit[] {
    const hits: MatchHit[] = [];
    if (this.sigs.length > 0) this.scanBody(data, start, start + pageLen, end, hits);
    if (this.hashes.size > 0 && pageLen === HASHED_BYTES) {
      const names = this.hashes.get(md5Hex(data, start, pageLen));
      if (names) for (const name of names) hits.push({ name, offset: 0, kind: 'hash' });
    }
    return hits;
  }

  private scanBody(data: Uint8Array, start: number, pageEnd: number, end: number, hits: MatchHit[]): void {
    const settled = this.settled;
    let scanNo = (this.scanNo = (this.scanNo + 1) | 0);
    if (scanNo === 0) {
      // Wrapped around to the value `settled` starts with.
      settled.fill(0);
      scanNo = this.scanNo = 1;
    }
    const bitmap = this.bitmap, heads = this.heads, next = this.next;
    const last = end - 1;
    let key = data[start] << 8;
    for (let i = start; i < last; i++) {
      key = (key >>> 8) | (data[i + 1] << 8);
      if ((bitmap[key >>> 3] & (1 << (key & 7))) === 0) continue;
      for (let s = heads[key]; s >= 0; s = next[s]) {
        if (settled[s] === scanNo) continue;
        const first = this.matchFrom(this.sigs[s], data, i, start, end);
        if (first < 0) continue;
        // A later anchor cannot give a lower start (the start is monotone in the anchor's position).
        settled[s] = scanNo;
        if (first < pageEnd) hits.push({ name: this.sigs[s].name, offset: first - start, kind: 'body' });
      }
    }
  }

  /** The lowest start of a whole match whose anchor key is at `at`, or -1. */
  private matchFrom(c: Compiled, data: Uint8Array, at: number, lo: number, end: number): number {
    const k = c.anchorSeg;
    const seg = c.segments[k];
    const p = at - c.keyOff;
    if (p < lo || p + seg.value.length > end || !segmentAt(seg, data, p)) return -1;
    if (!this.forward(c, k + 1, p + seg.value.length, data, end)) return -1;
    return k === 0 ? p : this.backward(c, k - 1, p, data, lo);
  }

  /** Whether segments k.. match with segment k starting within gaps[k-1] of `from`. */
  private forward(c: Compiled, k: number, from: number, data: Uint8Array, end: number): boolean {
    if (k === c.segments.length) return true;
    const seg = c.segments[k], gap = c.gaps[k - 1], len = seg.value.length;
    const hi = Math.min(from + gap.max, end - len);
    for (let p = from + gap.min; p <= hi; p++) {
      if (segmentAt(seg, data, p) && this.forward(c, k + 1, p + len, data, end)) return true;
    }
    return false;
  }

  /**
   * The lowest start of segments 0..k, segment k ending within gaps[k] before
   * `before`, or -1. Trying positions upward, the first that works is the
   * lowest start, since the earliest start is monotone in segment k's position.
   */
  private backward(c: Compiled, k: number, before: number, data: Uint8Array, lo: number): number {
    const seg = c.segments[k], gap = c.gaps[k], len = seg.value.length;
    const from = Math.max(lo, before - len - gap.max);
    for (let p = from, hi = before - len - gap.min; p <= hi; p++) {
      if (!segmentAt(seg, data, p)) continue;
      const s = k === 0 ? p : this.backward(c, k - 1, p, data, lo);
      if (s >= 0) return s;
    }
    return -1;
  }
}
