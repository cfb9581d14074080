// ClamAV signature databases, as far as they make sense for guest code
// pages: body signatures in the extended format (.ndb) and MD5 hash
// signatures (.hdb). A page is not a file, so only what does not depend on
// file structure is accepted: target type 0 (any) and offset "*". Anything
// else is refused with the line, so nobody believes a signature is active
// when it is not.

export class SignatureError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SignatureError';
  }
}

/**
 * A run of bytes of fixed length. Position i matches byte b when
 * (b & mask[i]) === value[i]; mask 0 is "any byte" (also under an
 * alternative, which `alts` checks separately).
 */
export interface Segment {
  value: Uint8Array;
  mask: Uint8Array;
  /** Alternatives "(aa|bb)": at offset `at`, one of `options` (all the same length). */
  alts: { at: number; options: Uint8Array[] }[];
}

/** Bytes allowed between two segments: min..max (max Infinity for "*" and "{n-}"). */
export interface Gap { min: number; max: number }

export interface BodySignature {
  name: string;
  /** Where it came from, for messages: "file:line". */
  origin: string;
  /** At least one; gaps[k] lies between segments[k] and segments[k+1]. */
  segments: Segment[];
  gaps: Gap[];
}

export interface HashSignature {
  name: string;
  origin: string;
  /** Lower-case hex. */
  md5: string;
  /** The file size the hash is for; null for "*" (any size). */
  size: number | null;
}

export interface SignatureSet {
  body: BodySignature[];
  hash: HashSignature[];
}

const HEX = /^[0-9a-fA-F]$/;
const MAX_GAP = 1 << 20;

function lineError(origin: string, line: string, reason: string): SignatureError {
  const shown = line.length > 80 ? line.slice(0, 77) + '...' : line;
  return new SignatureError(`${origin}: ${reason} in "${shown}"`);
}

function gapNumber(s: string, what: string): number {
  if (!/^\d+$/.test(s)) throw new Error(`${what} "${s}" is not a whole number`);
  const n = Number(s);
  if (n > MAX_GAP) throw new Error(`${what} ${n} is larger than ${MAX_GAP}`);
  return n;
}

/** Parses "{n}", "{-n}", "{n-}", "{n-m}" (the text between the braces). */
function parseBraces(body: string): Gap {
  const dash = body.indexOf('-');
  if (dash < 0) {
    const n = gapNumber(body, '{n}');
    return { min: n, max: n };
  }
  const lo = body.slice(0, dash), hi = body.slice(dash + 1);
  if (lo === '' && hi === '') throw new Error('"{-}" gives no bound');
  const min = lo === '' ? 0 : gapNumber(lo, 'the lower bound');
  const max = hi === '' ? Infinity : gapNumber(hi, 'the upper bound');
  if (max < min) throw new Error(`{${body}} has its upper bound below its lower bound`);
  return { min, max };
}

class SegmentBuilder {
  value: number[] = [];
  mask: number[] = [];
  alts: { at: number; options: Uint8Array[] }[] = [];
  get length(): number { return this.value.length; }
  push(value: number, mask: number): void {
    this.value.push(value);
    this.mask.push(mask);
  }
  build(): Segment {
    return { value: Uint8Array.from(this.value), mask: Uint8Array.from(this.mask), alts: this.alts };
  }
}

function hexBytes(s: string): Uint8Array | null {
  if (s.length === 0 || s.length % 2 !== 0 || !/^[0-9a-fA-F]+$/.test(s)) return null;
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** The longest run of fully fixed bytes in a segment: [start, length]. */
export function longestFixedRun(seg: Segment): [number, number] {
  let best = 0, bestAt = 0, run = 0;
  for (let i = 0; i < seg.mask.length; i++) {
    run = seg.mask[i] === 0xff ? run + 1 : 0;
    if (run > best) {
      best = run;
      bestAt = i - run + 1;
    }
  }
  return [bestAt, best];
}

/**
 * Parses a ClamAV hex signature (the body-based content format) into
 * segments separated by gaps. Throws an Error whose message says what is
 * wrong; the callers add the line.
 */
export function parseHexSignature(hex: string): { segments: Segment[]; gaps: Gap[] } {
  const segments: Segment[] = [];
  const gaps: Gap[] = [];
  let cur = new SegmentBuilder();
  let pendingGap: Gap | null = null;
  const addGap = (g: Gap) => {
    if (cur.length === 0 && segments.length === 0) throw new Error('a signature cannot start with a gap ("*" or "{...}")');
    if (cur.length > 0) {
      segments.push(cur.build());
      cur = new SegmentBuilder();
    }
    // Consecutive gaps add up, as the bytes they skip do.
    pendingGap = pendingGap ? { min: pendingGap.min + g.min, max: pendingGap.max + g.max } : g;
  };
  const beforeBytes = () => {
    if (pendingGap) {
      gaps.push(pendingGap);
      pendingGap = null;
    }
  };
  let i = 0;
  while (i < hex.length) {
    const c = hex[i];
    if (c === '*') {
      addGap({ min: 0, max: Infinity });
      i++;
    } else if (c === '{') {
      const end = hex.indexOf('}', i);
      if (end < 0) throw new Error(`"{" at character ${i + 1} is not closed`);
      addGap(parseBraces(hex.slice(i + 1, end)));
      i = end + 1;
    } else if (c === '(') {
      const end = hex.indexOf(')', i);
      if (end < 0) throw new Error(`"(" at character ${i + 1} is not closed`);
      const inner = hex.slice(i + 1, end);
      if (inner === 'B' || inner === 'L') throw new Error(`the anchor "(${inner})" is not supported (it is about text, not code)`);
      const options = inner.split('|').map(hexBytes);
      if (options.length < 2 || options.some((o) => o === null)) {
        throw new Error(`"(${inner})" must list two or more alternatives of fixed hex bytes, like (aa|bb)`);
      }
      const len = options[0]!.length;
      if (options.some((o) => o!.length !== len)) throw new Error(`the alternatives in "(${inner})" must all have the same length`);
      beforeBytes();
      cur.alts.push({ at: cur.length, options: options as Uint8Array[] });
      for (let k = 0; k < len; k++) cur.push(0, 0);
      i = end + 1;
    } else if (c === '!' || c === '[') {
      throw new Error(`"${c}" at character ${i + 1}: negated alternatives and [x-y] ranges are not supported`);
    } else {
      const a = hex[i], b = hex[i + 1];
      if (b === undefined) throw new Error(`a lone nibble "${a}" at the end (bytes are two hex digits)`);
      const ha = HEX.test(a), hb = HEX.test(b);
      beforeBytes();
      if (ha && hb) cur.push(parseInt(a + b, 16), 0xff);
      else if (a === '?' && b === '?') cur.push(0, 0);
      else if (ha && b === '?') cur.push(parseInt(a, 16) << 4, 0xf0);
      else if (a === '?' && hb) cur.push(parseInt(b, 16), 0x0f);
      else throw new Error(`"${a}${b}" at character ${i + 1} is not a hex byte or wildcard`);
      i += 2;
    }
  }
  if (pendingGap) throw new Error('a signature cannot end with a gap ("*" or "{...}")');
  if (cur.length > 0) segments.push(cur.build());
  if (segments.length === 0) throw new Error('the hex signature is empty');
  // The matcher finds candidates through a run of two fixed bytes (ClamAV
  // also wants static bytes to index); without one every position would be a candidate.
  if (!segments.some((s) => longestFixedRun(s)[1] >= 2)) {
    throw new Error('the signature needs at least two consecutive fixed bytes');
  }
  return { segments, gaps };
}

function* lines(text: string, source: string): Generator<[string, string]> {
  const all = text.split(/\r?\n/);
  for (let n = 0; n < all.length; n++) {
    const line = all[n].trim();
    // ClamAV databases have no comments; blank and "#" lines are allowed for hand-written files.
    if (line === '' || line.startsWith('#')) continue;
    yield [`${source}:${n + 1}`, line];
  }
}

function checkFlevels(fields: string[]): void {
  for (const f of fields) if (f !== '' && !/^\d+$/.test(f)) throw new Error(`engine level "${f}" is not a whole number`);
}

/** Parses an .ndb database: `Name:TargetType:Offset:HexSignature[:min_flevel[:max_flevel]]`. */
export function parseNdb(text: string, source = 'ndb'): BodySignature[] {
  const out: BodySignature[] = [];
  for (const [origin, line] of lines(text, source)) {
    const f = line.split(':');
    try {
      if (f.length < 4 || f.length > 6) throw new Error(`expected Name:TargetType:Offset:HexSignature[:min_flevel[:max_flevel]], got ${f.length} fields`);
      const [name, target, offset, hex] = f;
      if (name === '') throw new Error('the signature has no name');
      if (target !== '0') throw new Error(`target type "${target}" is not supported: a guest code page has no file type, use 0`);
      if (offset !== '*') throw new Error(`offset "${offset}" is not supported: a code page has no file layout, use *`);
      checkFlevels(f.slice(4));
      out.push({ name, origin, ...parseHexSignature(hex) });
    } catch (e) {
      throw lineError(origin, line, (e as Error).message);
    }
  }
  return out;
}

/** Parses an .hdb database: `MD5:Size:Name[:min_flevel]` (size may be "*"). */
export function parseHdb(text: string, source = 'hdb'): HashSignature[] {
  const out: HashSignature[] = [];
  for (const [origin, line] of lines(text, source)) {
    const f = line.split(':');
    try {
      if (f.length < 3 || f.length > 4) throw new Error(`expected MD5:Size:Name[:min_flevel], got ${f.length} fields`);
      const [md5, size, name] = f;
      if (!/^[0-9a-fA-F]{32}$/.test(md5)) throw new Error(`"${md5}" is not an MD5 (32 hex digits)`);
      if (size !== '*' && !/^\d+$/.test(size)) throw new Error(`size "${size}" is not a whole number or *`);
      if (name === '') throw new Error('the signature has no name');
      checkFlevels(f.slice(3));
      out.push({ name, origin, md5: md5.toLowerCase(), size: size === '*' ? null : Number(size) });
    } catch (e) {
      throw lineError(origin, line, (e as Error).message);
    }
  }
  return out;
}

/** The kind of database a file name says it holds, by extension; throws for any other. */
export function signatureFileKind(fileName: string): 'ndb' | 'hdb' {
  const lower = fileName.toLowerCase();
  if (lower.endsWith('.ndb')) return 'ndb';
  if (lower.endsWith('.hdb')) return 'hdb';
  throw new SignatureError(`${fileName}: unknown signature file type; use a .ndb (body signatures) or .hdb (MD5 hashes) file`);
}

/** Parses a database by its file name's extension (.ndb or .hdb). */
export function parseSignatureFile(fileName: string, text: string): SignatureSet {
  return signatureFileKind(fileName) === 'ndb'
    ? { body: parseNdb(text, fileName), hash: [] }
    : { body: [], hash: parseHdb(text, fileName) };
}

export function mergeSignatureSets(sets: SignatureSet[]): SignatureSet {
  return { body: sets.flatMap((s) => s.body), hash: sets.flatMap((s) => s.hash) };
}
