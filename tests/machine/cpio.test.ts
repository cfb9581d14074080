// Checks CpioWriter output against GNU cpio: what the host tool lists and
// extracts must be exactly what we put in. GNU cpio and the kernel's
// initramfs unpacker share the newc format, so agreement here plus a real
// boot (tests/images/qemu-boot.test.ts) covers the writer.
import { execFileSync, spawnSync } from 'node:child_process';
import { lstatSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CpioError, CpioWriter } from '../../src/machine/cpio.ts';

const hasCpio = spawnSync('cpio', ['--version']).status === 0;
const isRoot = process.getuid?.() === 0;

function cpio(args: string[], archive: Uint8Array, cwd?: string): string {
  return execFileSync('cpio', args, { input: archive, cwd, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
}

/** Deterministic pseudo-random bytes, so failures reproduce. */
function bytes(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

describe('CpioWriter against host cpio', () => {
  if (!hasCpio) {
    it('needs the host cpio tool (apt-get install cpio)', () => {
      throw new Error('cpio(1) not found: apt-get install cpio');
    });
    return;
  }

  // Names of every length mod 4 and data of every length mod 4 exercise both
  // paddings; the 1 MiB file makes sure nothing assumes small sizes.
  const files = new Map<string, Uint8Array>();
  for (let n = 0; n < 8; n++) files.set(`data/${'f'.repeat(n + 1)}`, bytes(n * 3 + (n & 1), n + 1));
  files.set('data/empty', new Uint8Array(0));
  files.set('data/big.bin', bytes(1 << 20, 99));
  files.set('deep/a/b/c/d/file.txt', new TextEncoder().encode('nested\n'));
  files.set('unicode/\u00e9t\u00e9.txt', new TextEncoder().encode('\u00e9\n'));

  let dir: string;
  let archive: Uint8Array;

  beforeAll(() => {
    const w = new CpioWriter({ mtime: 1_700_000_000 });
    w.directory('etc', { mode: 0o700 });
    for (const [path, data] of files) w.file(path, data);
    w.file('/bin/tool', 'echo hi\n', { mode: 0o4755, uid: 1000, gid: 100 });
    w.symlink('bin/sh', 'busybox');
    w.symlink('lib/abs', '/data/big.bin');
    w.charDevice('dev/console', 5, 1);
    w.blockDevice('dev/vda', 254, 0, { mode: 0o660 });
    w.fifo('run/pipe');
    w.file('old', 'x', { mtime: 86_400 });
    // Explicitly re-adding an implicit parent updates its permissions.
    w.directory('deep/a', { mode: 0o750 });
    archive = w.finish();
    dir = mkdtempSync(join(tmpdir(), 'ts86-cpio-'));
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('lists every entry in insertion order, parents first', () => {
    const listed = cpio(['-t', '--quiet'], archive).trimEnd().split('\n');
    expect(listed).toEqual([
      'etc',
      'data',
      ...[...files.keys()].filter((p) => p.startsWith('data/')),
      'deep',
      'deep/a',
      'deep/a/b',
      'deep/a/b/c',
      'deep/a/b/c/d',
      'deep/a/b/c/d/file.txt',
      'unicode',
      'unicode/\u00e9t\u00e9.txt',
      'bin',
      'bin/tool',
      'bin/sh',
      'lib',
      'lib/abs',
      'dev',
      'dev/console',
      'dev/vda',
      'run',
      'run/pipe',
      'old',
    ]);
  });

  it('reports types, permissions and owners in the verbose listing', () => {
    const lines = cpio(['-t', '-v', '--quiet', '--numeric-uid-gid'], archive).trimEnd().split('\n');
    // Device entries print "major, minor" where others print a size, so find
    // each entry by its line ending rather than by column.
    const byName = new Map<string, string[]>();
    for (const name of ['etc', 'bin/tool', 'bin/sh -> busybox', 'dev/console', 'dev/vda', 'run/pipe', 'deep/a']) {
      const line = lines.find((l) => l.endsWith(` ${name}`));
      if (line) byName.set(name, line.split(/\s+/));
    }
    expect(byName.get('etc')?.[0]).toBe('drwx------');
    expect(byName.get('bin/tool')?.slice(0, 5)).toEqual(['-rwsr-xr-x', '1', '1000', '100', '8']);
    expect(byName.get('bin/sh -> busybox')?.[0]).toBe('lrwxrwxrwx');
    expect(byName.get('dev/console')?.[0]).toBe('crw-------');
    expect(byName.get('dev/console')?.slice(4, 6)).toEqual(['5,', '1']);
    expect(byName.get('dev/vda')?.[0]).toBe('brw-rw----');
    expect(byName.get('run/pipe')?.[0]).toBe('prw-r--r--');
    expect(byName.get('deep/a')?.[0]).toBe('drwxr-x---');
  });

  it('extracts byte-identical files, symlinks and times', () => {
    cpio(['-i', '-d', '-m', '--quiet', '--no-absolute-filenames'], archive, dir);
    for (const [path, data] of files) {
      expect(Buffer.compare(readFileSync(join(dir, path)), Buffer.from(data)), path).toBe(0);
    }
    expect(readFileSync(join(dir, 'bin/tool'), 'utf8')).toBe('echo hi\n');
    expect(readlinkSync(join(dir, 'bin/sh'))).toBe('busybox');
    expect(readlinkSync(join(dir, 'lib/abs'))).toBe('/data/big.bin');
    expect(statSync(join(dir, 'data/big.bin')).mtimeMs).toBe(1_700_000_000_000);
    expect(statSync(join(dir, 'old')).mtimeMs).toBe(86_400_000);
    expect(lstatSync(join(dir, 'run/pipe')).isFIFO()).toBe(true);
  });

  it.skipIf(!isRoot)('extracts device nodes with their numbers (needs root)', () => {
    const console = lstatSync(join(dir, 'dev/console'));
    expect(console.isCharacterDevice()).toBe(true);
    expect(console.rdev).toBe((5 << 8) | 1);
    const vda = lstatSync(join(dir, 'dev/vda'));
    expect(vda.isBlockDevice()).toBe(true);
    expect(vda.rdev).toBe(254 << 8);
  });

  it('is reproducible and ends with the trailer on a 4-byte boundary', () => {
    const a = new CpioWriter().file('x', 'abc').symlink('y', 'x').finish();
    const b = new CpioWriter().file('x', 'abc').symlink('y', 'x').finish();
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
    expect(a.length % 4).toBe(0);
    expect(Buffer.from(a).toString('latin1')).toContain('TRAILER!!!\0');
    expect(Buffer.from(a.subarray(0, 6)).toString()).toBe('070701');
  });
});

describe('CpioWriter validation', () => {
  it('rejects duplicates, bad paths and bad fields', () => {
    const w = new CpioWriter();
    w.file('a/b', 'x');
    expect(() => w.file('a/b', 'y')).toThrow(CpioError);
    expect(() => w.file('a/b/c', 'y')).toThrow(/not a directory/);
    expect(() => w.file('../etc/passwd', '')).toThrow(CpioError);
    expect(() => w.file('a//b2', '')).toThrow(CpioError);
    expect(() => w.file('', '')).toThrow(CpioError);
    expect(() => w.file('TRAILER!!!', '')).toThrow(CpioError);
    expect(() => w.file('m', '', { mode: 0o100644 })).toThrow(/permission/);
    expect(() => w.charDevice('d', -1, 0)).toThrow(CpioError);
    expect(() => w.symlink('l', '')).toThrow(CpioError);
    expect(() => new CpioWriter({ mtime: 2 ** 33 })).toThrow(CpioError);
    expect(w.has('/a')).toBe(true);
    expect(w.paths).toEqual(['a', 'a/b']);
  });
});
