// `ts86 run|boot --scan-signatures FILE`: detections on stderr, counters in
// --stats, bad signature files refused before the guest starts.
import { describe, it, expect } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCli } from '../../src/cli/args.ts';
import { buildKernel, runTs86 } from '../guest/build-kernel.ts';
import { PAYLOAD_NDB } from './payload.ts';

const dir = mkdtempSync(join(tmpdir(), 'ts86-scan-'));
const KERNEL = buildKernel(join(import.meta.dirname, 'asm', 'scan.asm'));

describe('--scan-signatures', () => {
  it('takes repeated options and comma lists', () => {
    expect(parseCli(['run', 'k', '--scan-signatures', 'a.ndb,b.hdb', '--scan-signatures', 'c.ndb']).scanSignatures)
      .toEqual(['a.ndb', 'b.hdb', 'c.ndb']);
    expect(parseCli(['boot', '--kernel', 'k']).scanSignatures).toEqual([]);
  });

  it('prints each detection and the scanner counters', async () => {
    const ndb = join(dir, 'payload.ndb');
    writeFileSync(ndb, PAYLOAD_NDB);
    const hdb = join(dir, 'other.hdb');
    writeFileSync(hdb, '0123456789abcdef0123456789abcdef:100:Some.File\n');
    const r = await runTs86(['run', KERNEL, '--scan-signatures', `${ndb},${hdb}`, '--stats', '--max-seconds', '30']);
    expect(r.stdout).toBe('scan guest done\n');
    expect(r.status).toBe((0x10 << 1) | 1);
    const lines = r.stderr.trim().split('\n');
    expect(lines.filter((l) => l.includes('Test.Payload'))).toEqual([
      'ts86: scanner: Test.Payload at 0x200100 (page first executed after a write)',
      'ts86: scanner: Test.Payload at 0x200100 (page first executed after a write)',
      'ts86: scanner: Test.Payload at 0x204800 (page first executed after a write)',
      'ts86: scanner: Test.Payload at 0x205ffa (page first executed after a write)',
    ]);
    expect(r.stderr).toMatch(/1 of 1 hash signatures are for files of other sizes/);
    const stats = JSON.parse(lines[lines.length - 1]);
    expect(stats.scanner.detections).toBe(4);
    expect(stats.scanner.pagesScanned).toBeGreaterThanOrEqual(5);
    expect(stats.scanner.bytesScanned).toBeGreaterThanOrEqual(stats.scanner.pagesScanned * 4096);
    expect(typeof stats.scanner.scanMs).toBe('number');
  });

  it('refuses a bad signature file, naming the line, before running anything', async () => {
    const bad = join(dir, 'bad.ndb');
    writeFileSync(bad, 'Good:0:*:aabbcc\nBad:0:*:aabb{3\n');
    const r = await runTs86(['run', KERNEL, '--scan-signatures', bad]);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`ts86: ${bad}:2: "{" at character 5 is not closed in "Bad:0:*:aabb{3"`);
    const missing = await runTs86(['run', KERNEL, '--scan-signatures', join(dir, 'none.ndb')]);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/cannot read the signature file ".*none\.ndb": ENOENT/);
    const kind = await runTs86(['run', KERNEL, '--scan-signatures', join(dir, 'x.yara')]);
    expect(kind.status).toBe(1);
    expect(kind.stderr).toMatch(/unknown signature file type/);
  });
});
