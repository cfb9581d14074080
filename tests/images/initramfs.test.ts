// The initramfs layout and the build's bookkeeping, without apt: a fake
// busybox and module set packed by buildInitramfs, inspected with host tools.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { initFiles } from '../../scripts/images/init-script.ts';
import { buildInitramfs } from '../../scripts/images/initramfs.ts';
import { INITRD_NAME, KERNEL_NAME, MANIFEST_NAME, describeFile, recipeHash, upToDateManifest } from '../../scripts/images/manifest.ts';
import { REPO_ROOT } from '../../scripts/images/config.ts';
import type { ModuleSet } from '../../scripts/images/modules.ts';

const tmp = mkdtempSync(join(tmpdir(), 'ts86-initramfs-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const init = { prompt: "~ # it's", readyLine: 'ts86-initramfs: ready', hostname: 'ts86' };
const modules: ModuleSet = {
  release: '6.1.0-99-686',
  modules: [
    { name: 'a', path: 'kernel/x/a.ko', data: new Uint8Array([1, 2, 3]), info: { depends: ['b'], softPre: [], aliases: ['fs-a'], raw: [] }, loadAfter: ['b'] },
    { name: 'b', path: 'kernel/x/b.ko', data: new Uint8Array([4]), info: { depends: [], softPre: [], aliases: [], raw: [] }, loadAfter: [] },
  ],
  builtin: [],
  absent: [],
  unmetSoftDeps: [],
};

describe('buildInitramfs', () => {
  const image = buildInitramfs({
    busybox: new TextEncoder().encode('not really busybox'),
    modules,
    moduleMetadata: [{ name: 'modules.builtin', data: new TextEncoder().encode('kernel/y/c.ko\n') }],
    init,
  });
  const cpio = gunzipSync(image);

  it('is a gzip newc archive with what the kernel and /init need', () => {
    const listing = execFileSync('cpio', ['-t', '-v', '--quiet', '--numeric-uid-gid'], { input: cpio, encoding: 'utf8' });
    const line = (name: string) => listing.split('\n').find((l) => l.endsWith(` ${name}`)) ?? '';
    expect(line('init')).toMatch(/^-rwxr-xr-x\s+1\s+0\s+0\s/);
    expect(line('bin/busybox')).toMatch(/^-rwxr-xr-x/);
    expect(line('bin/sh -> busybox')).toMatch(/^l/);
    expect(line('dev/console')).toMatch(/^crw-------\s+1\s+0\s+0\s+5,\s+1 /);
    expect(line('tmp')).toMatch(/^drwxrwxrwt/);
    for (const p of ['proc', 'sys', 'etc/profile', 'lib/modules/6.1.0-99-686/kernel/x/a.ko', 'lib/modules/6.1.0-99-686/modules.builtin']) {
      expect(line(p), p).not.toBe('');
    }
  });

  it('carries modules.dep and modules.alias for the module set', () => {
    const dir = join(tmp, 'x');
    execFileSync('mkdir', ['-p', dir]);
    execFileSync('cpio', ['-i', '-d', '--quiet', '--no-absolute-filenames', 'lib/modules/*'], { input: cpio, cwd: dir });
    const base = join(dir, 'lib/modules/6.1.0-99-686');
    expect(readFileSync(join(base, 'modules.dep'), 'utf8')).toBe('kernel/x/a.ko: kernel/x/b.ko\nkernel/x/b.ko:\n');
    expect(readFileSync(join(base, 'modules.alias'), 'utf8')).toContain('alias fs-a a\n');
    expect([...readFileSync(join(base, 'kernel/x/a.ko'))]).toEqual([1, 2, 3]);
  });

  it('is reproducible', () => {
    const again = buildInitramfs({ busybox: new TextEncoder().encode('not really busybox'), modules, moduleMetadata: [{ name: 'modules.builtin', data: new TextEncoder().encode('kernel/y/c.ko\n') }], init });
    expect(Buffer.from(again).equals(Buffer.from(image))).toBe(true);
  });
});

describe('init scripts', () => {
  it('are valid sh and quote the prompt', () => {
    for (const f of initFiles(init)) {
      const path = join(tmp, f.path.replace(/\//g, '_'));
      writeFileSync(path, f.content);
      const r = spawnSync('sh', ['-n', path], { encoding: 'utf8' });
      expect(r.stderr, f.path).toBe('');
      expect(r.status, f.path).toBe(0);
    }
    const profile = initFiles(init).find((f) => f.path === 'etc/profile')!.content;
    const r = spawnSync('sh', ['-c', `${profile.replace(/^cd .*$/m, '')}\nprintf %s "$PS1"`], { encoding: 'utf8' });
    expect(r.stdout).toBe(init.prompt);
  });
});

describe('image bookkeeping', () => {
  it('treats images as up to date only with the current recipe and intact files', () => {
    const dir = join(tmp, 'images');
    execFileSync('mkdir', ['-p', dir]);
    writeFileSync(join(dir, KERNEL_NAME), 'kernel');
    writeFileSync(join(dir, INITRD_NAME), 'initrd');
    const manifest = {
      format: 1,
      recipe: recipeHash(),
      cmdline: 'console=ttyS0',
      prompt: '~ # ',
      files: { [KERNEL_NAME]: describeFile(join(dir, KERNEL_NAME)), [INITRD_NAME]: describeFile(join(dir, INITRD_NAME)) },
    };
    writeFileSync(join(dir, MANIFEST_NAME), JSON.stringify(manifest));
    expect(upToDateManifest(dir, recipeHash())).toBeDefined();
    expect(upToDateManifest(dir, 'another-recipe')).toBeUndefined();
    writeFileSync(join(dir, INITRD_NAME), 'initrD');
    expect(upToDateManifest(dir, recipeHash())).toBeUndefined();
  });

  it('explains what to do when apt is missing, and exits non-zero', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/images/build-images.ts', '--images', join(tmp, 'none')], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      env: { PATH: '/nonexistent' },
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/missing apt-get/);
    expect(r.stderr).toMatch(/place the files by hand/);
  });
});
