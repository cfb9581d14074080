// The signature matcher against an independent oracle: each signature
// translated into a JavaScript regular expression over the bytes as a
// latin1 string, tried at every start in the page. Random data from a small
// alphabet makes matches (and near misses) common.
import { describe, it, expect } from 'vitest';
import { SignatureMatcher } from '../../src/scanner/matcher.ts';
import { parseHexSignature, parseNdb, type BodySignature } from '../../src/scanner/signatures.ts';
import { md5Hex } from '../../src/scanner/md5.ts';

/** A small deterministic PRNG (xorshift32), so failures reproduce. */
function rng(seed: number): () => number {
  let x = seed | 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

const ALPHABET = [0x00, 0x01, 0x12, 0x21];
const hex2 = (b: number) => b.toString(16).padStart(2, '0');

/** A random hex signature over the alphabet, with every wildcard form. */
function randomSignature(r: () => number): string {
  const pick = <T>(a: T[]) => a[Math.floor(r() * a.length)];
  const byte = () => hex2(pick(ALPHABET));
  let out = byte() + byte();
  const parts = 1 + Math.floor(r() * 5);
  for (let i = 0; i < parts; i++) {
    const t = r();
    if (t < 0.3) out += byte();
    else if (t < 0.4) out += '??';
    else if (t < 0.47) out += hex2(pick(ALPHABET))[0] + '?';
    else if (t < 0.54) out += '?' + hex2(pick(ALPHABET))[1];
    else if (t < 0.62) out += `(${byte()}|${byte()})`;
    else if (t < 0.66) out += `(${byte()}${byte()}|${byte()}${byte()}|${byte()}${byte()})`;
    else if (t < 0.72) out += '*' + byte();
    else if (t < 0.8) out += `{${Math.floor(r() * 4)}}` + byte();
    else if (t < 0.86) out += `{${Math.floor(r() * 3)}-${3 + Math.floor(r() * 5)}}` + byte();
    else if (t < 0.93) out += `{-${1 + Math.floor(r() * 6)}}` + byte();
    else out += `{${Math.floor(r() * 4)}-}` + byte();
  }
  return out;
}

/** The oracle: the hex signature as a sticky RegExp over latin1 text. */
function toRegExp(hex: string): RegExp {
  let src = '';
  const esc = (b: number) => '\\x' + hex2(b);
  const nibbleClass = (high: boolean, n: number) => {
    let cls = '';
    for (let k = 0; k < 16; k++) cls += esc(high ? (n << 4) | k : (k << 4) | n);
    return `[${cls}]`;
  };
  for (let i = 0; i < hex.length;) {
    const c = hex[i];
    if (c === '*') { src += '[^]*?'; i++; continue; }
    if (c === '{') {
      const end = hex.indexOf('}', i);
      const [lo, hi] = hex.slice(i + 1, end).includes('-') ? hex.slice(i + 1, end).split('-') : [hex.slice(i + 1, end), hex.slice(i + 1, end)];
      src += `[^]{${lo || 0},${hi}}?`;
      i = end + 1;
      continue;
    }
    if (c === '(') {
      const end = hex.indexOf(')', i);
      src += '(?:' + hex.slice(i + 1, end).split('|').map((o) => o.match(/../g)!.map((b) => esc(parseInt(b, 16))).join('')).join('|') + ')';
      i = end + 1;
      continue;
    }
    const a = hex[i], b = hex[i + 1];
    if (a === '?' && b === '?') src += '[^]';
    else if (b === '?') src += nibbleClass(true, parseInt(a, 16));
    else if (a === '?') src += nibbleClass(false, parseInt(b, 16));
    else src += esc(parseInt(a + b, 16));
    i += 2;
  }
  return new RegExp(src, 'y');
}

function bruteForce(re: RegExp, text: string, pageLen: number): number {
  for (let s = 0; s < pageLen; s++) {
    re.lastIndex = s;
    if (re.test(text)) return s;
  }
  return -1;
}

function sigsFrom(hexes: string[]): BodySignature[] {
  return hexes.map((h, i) => ({ name: `S${i}`, origin: `t:${i}`, ...parseHexSignature(h) }));
}

describe('SignatureMatcher', () => {
  it('finds the lowest match of every signature, as the brute-force oracle does', () => {
    const r = rng(0x5ca11);
    let matches = 0, total = 0;
    for (let round = 0; round < 60; round++) {
      const hexes = Array.from({ length: 40 }, () => randomSignature(r));
      const matcher = new SignatureMatcher({ body: sigsFrom(hexes), hash: [] });
      const pageLen = 64 + Math.floor(r() * 400);
      const winLen = pageLen + Math.floor(r() * 64);
      const pad = 5;
      const data = new Uint8Array(winLen + 2 * pad).map(() => ALPHABET[Math.floor(r() * ALPHABET.length)]);
      const window = data.subarray(pad, pad + winLen);
      const text = String.fromCharCode(...window);
      const got = new Map(matcher.scan(data, pad, pageLen, pad + winLen).map((h) => [h.name, h.offset]));
      hexes.forEach((h, i) => {
        const want = bruteForce(toRegExp(h), text, pageLen);
        total++;
        if (want >= 0) matches++;
        expect(got.get(`S${i}`) ?? -1, `signature ${h} (round ${round})`).toBe(want);
      });
    }
    // The test means something only if both outcomes are common.
    expect(matches).toBeGreaterThan(total / 10);
    expect(matches).toBeLessThan(total * 0.9);
  });

  it('sees matches that run past the page into the window, not ones that start past it', () => {
    const m = new SignatureMatcher({ body: parseNdb('Tail:0:*:aabbccdd'), hash: [] });
    const data = new Uint8Array(32);
    data.set([0xaa, 0xbb, 0xcc, 0xdd], 14);
    expect(m.scan(data, 0, 16, 32)).toEqual([{ name: 'Tail', offset: 14, kind: 'body' }]);
    expect(m.scan(data, 0, 16, 17)).toEqual([]);
    expect(m.scan(data, 0, 14, 32)).toEqual([]);
    expect(m.tailBytes).toBe(3);
  });

  it('matches .hdb hashes against whole 4096-byte pages only', () => {
    const page = new Uint8Array(4096).map((_, i) => i * 7);
    const md5 = md5Hex(page);
    const m = new SignatureMatcher({ body: [], hash: [
      { name: 'Page', origin: 'h:1', md5, size: 4096 },
      { name: 'Any', origin: 'h:2', md5, size: null },
      { name: 'File', origin: 'h:3', md5, size: 100 },
    ] });
    expect(m.pageHashCount).toBe(2);
    expect(m.scan(page, 0, 4096, 4096)).toEqual([{ name: 'Page', offset: 0, kind: 'hash' }, { name: 'Any', offset: 0, kind: 'hash' }]);
    page[5] ^= 1;
    expect(m.scan(page, 0, 4096, 4096)).toEqual([]);
  });

  it('scans a 4 KiB page with hundreds of signatures in well under a millisecond', () => {
    const r = rng(77);
    // Signatures of realistic x86-looking bytes, and a page of code-like random bytes that matches none.
    const hexes = Array.from({ length: 500 }, () => {
      let h = '';
      for (let i = 0; i < 12; i++) h += hex2(Math.floor(r() * 256));
      return h.slice(0, 8) + '??' + h.slice(10, 16) + '{0-8}' + h.slice(16);
    });
    const m = new SignatureMatcher({ body: sigsFrom(hexes), hash: [] });
    const page = new Uint8Array(4096 + m.tailBytes).map(() => Math.floor(r() * 256));
    page.fill(0, 1000, 1800);
    for (let i = 0; i < 200; i++) m.scan(page, 0, 4096, page.length);
    const n = 2000;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) m.scan(page, 0, 4096, page.length);
    const us = ((performance.now() - t0) / n) * 1000;
    console.log(`scan cost: ${us.toFixed(1)} µs per 4 KiB page, 500 signatures`);
    expect(us).toBeLessThan(500);
  });
});
