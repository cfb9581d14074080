// ClamAV .ndb/.hdb parsing: every wildcard form, and bad lines refused with
// the line named.
import { describe, it, expect } from 'vitest';
import { createHash } from 'node:crypto';
import { parseHdb, parseHexSignature, parseNdb, parseSignatureFile, SignatureError } from '../../src/scanner/signatures.ts';
import { md5Hex } from '../../src/scanner/md5.ts';

const bytes = (...b: number[]) => Uint8Array.from(b);

describe('hex signatures', () => {
  it('fixed bytes and ?? make one segment', () => {
    const { segments, gaps } = parseHexSignature('deadBEEF??90');
    expect(gaps).toEqual([]);
    expect(segments).toHaveLength(1);
    expect(segments[0].value).toEqual(bytes(0xde, 0xad, 0xbe, 0xef, 0, 0x90));
    expect(segments[0].mask).toEqual(bytes(0xff, 0xff, 0xff, 0xff, 0, 0xff));
  });

  it('a? and ?a match one nibble', () => {
    const [seg] = parseHexSignature('c3c3a??b').segments;
    expect(seg.value).toEqual(bytes(0xc3, 0xc3, 0xa0, 0x0b));
    expect(seg.mask).toEqual(bytes(0xff, 0xff, 0xf0, 0x0f));
  });

  it('*, {n}, {n-m}, {-n} and {n-} are gaps between segments', () => {
    const { segments, gaps } = parseHexSignature('aabb*ccdd{4}eeff{2-6}0102{-3}0304{5-}0506');
    expect(segments.map((s) => Array.from(s.value))).toEqual([[0xaa, 0xbb], [0xcc, 0xdd], [0xee, 0xff], [1, 2], [3, 4], [5, 6]]);
    expect(gaps).toEqual([
      { min: 0, max: Infinity }, { min: 4, max: 4 }, { min: 2, max: 6 }, { min: 0, max: 3 }, { min: 5, max: Infinity },
    ]);
  });

  it('adjacent gaps add up', () => {
    expect(parseHexSignature('aabb{2}{1-3}ccdd').gaps).toEqual([{ min: 3, max: 5 }]);
    expect(parseHexSignature('aabb{2}*ccdd').gaps).toEqual([{ min: 2, max: Infinity }]);
  });

  it('(aa|bb) alternatives of equal length', () => {
    const [seg] = parseHexSignature('0102(aa|bb)(c0c1|d0d1)03').segments;
    expect(seg.value.length).toBe(6);
    expect(seg.mask).toEqual(bytes(0xff, 0xff, 0, 0, 0, 0xff));
    expect(seg.alts).toEqual([
      { at: 2, options: [bytes(0xaa), bytes(0xbb)] },
      { at: 3, options: [bytes(0xc0, 0xc1), bytes(0xd0, 0xd1)] },
    ]);
  });

  it('refuses what it cannot match, saying why', () => {
    const bad: [string, RegExp][] = [
      ['', /empty/],
      ['aab', /lone nibble/],
      ['aagg', /"gg" at character 3 is not a hex byte/],
      ['*aabb', /cannot start with a gap/],
      ['aabb{3}', /cannot end with a gap/],
      ['aabb{5-2}ccdd', /upper bound below its lower bound/],
      ['aabb{x}ccdd', /not a whole number/],
      ['aabb{-}ccdd', /no bound/],
      ['aabb{3ccdd', /"\{" at character 5 is not closed/],
      ['aabb(cc|dd', /not closed/],
      ['aabb(cc|ddee)', /same length/],
      ['aabb(cc)', /two or more alternatives/],
      ['aabb(c?|dd)', /two or more alternatives of fixed hex bytes/],
      ['aabb!(cc|dd)', /negated alternatives/],
      ['aabb[1-2]cc', /ranges are not supported/],
      ['aabb(B)', /anchor "\(B\)" is not supported/],
      ['aa??bb', /two consecutive fixed bytes/],
      ['(aa|bb)cc', /two consecutive fixed bytes/],
    ];
    for (const [hex, why] of bad) expect(() => parseHexSignature(hex), hex).toThrow(why);
  });
});

describe('.ndb files', () => {
  it('parses lines, ignoring blank and # lines and engine levels', () => {
    const sigs = parseNdb('# test set\n\nOne:0:*:aabbcc\r\nTwo:0:*:ddee*ff00:51\nThree:0:*:0102:17:255\n', 't.ndb');
    expect(sigs.map((s) => [s.name, s.origin])).toEqual([['One', 't.ndb:3'], ['Two', 't.ndb:4'], ['Three', 't.ndb:5']]);
  });

  it('names the file and line of a bad signature', () => {
    const cases: [string, RegExp][] = [
      ['Bad:0:*', /^sigs\.ndb:2: expected Name:TargetType:Offset:HexSignature.*got 3 fields in "Bad:0:\*"/],
      ['Bad:1:*:aabb', /^sigs\.ndb:2: target type "1" is not supported.*use 0/],
      ['Bad:0:EP+0:aabb', /^sigs\.ndb:2: offset "EP\+0" is not supported/],
      ['Bad:0:100:aabb', /^sigs\.ndb:2: offset "100" is not supported/],
      ['Bad:0:*:aaxx', /^sigs\.ndb:2: "xx" at character 3/],
      [':0:*:aabb', /^sigs\.ndb:2: the signature has no name/],
      ['Bad:0:*:aabb:x', /^sigs\.ndb:2: engine level "x"/],
    ];
    for (const [line, why] of cases) {
      const run = () => parseNdb(`Good:0:*:aabb\n${line}\n`, 'sigs.ndb');
      expect(run, line).toThrow(SignatureError);
      expect(run, line).toThrow(why);
    }
  });
});

describe('.hdb files', () => {
  it('parses MD5:Size:Name, size * for any', () => {
    const h = parseHdb('44D88612FEA8A8F36DE82E1278ABB02F:68:Eicar\n0123456789abcdef0123456789abcdef:*:Any:73\n', 'x.hdb');
    expect(h).toEqual([
      { name: 'Eicar', origin: 'x.hdb:1', md5: '44d88612fea8a8f36de82e1278abb02f', size: 68 },
      { name: 'Any', origin: 'x.hdb:2', md5: '0123456789abcdef0123456789abcdef', size: null },
    ]);
  });

  it('names the line of a bad hash', () => {
    expect(() => parseHdb('abc:4096:X', 'x.hdb')).toThrow(/^x\.hdb:1: "abc" is not an MD5/);
    expect(() => parseHdb('0123456789abcdef0123456789abcdef:big:X', 'x.hdb')).toThrow(/size "big"/);
    expect(() => parseHdb('0123456789abcdef0123456789abcdef:4096', 'x.hdb')).toThrow(/expected MD5:Size:Name/);
  });

  it('MD5 agrees with node:crypto', () => {
    for (const n of [0, 1, 55, 56, 63, 64, 65, 119, 4096, 4100]) {
      const data = new Uint8Array(n + 3).map((_, i) => (i * 131 + 7) & 0xff);
      expect(md5Hex(data, 3, n)).toBe(createHash('md5').update(data.subarray(3)).digest('hex'));
    }
  });
});

describe('signature files', () => {
  it('are told apart by extension', () => {
    expect(parseSignatureFile('a/B.NDB', 'X:0:*:aabb').body).toHaveLength(1);
    expect(parseSignatureFile('b.hdb', '0123456789abcdef0123456789abcdef:4096:X').hash).toHaveLength(1);
    expect(() => parseSignatureFile('c.ldb', '')).toThrow(/c\.ldb: unknown signature file type; use a \.ndb .* or \.hdb/);
  });
});
