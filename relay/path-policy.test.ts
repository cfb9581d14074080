import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RelayError } from './errors.ts';
import { ImageDirectory } from './path-policy.ts';

let base: string;
let images: ImageDirectory;

beforeAll(async () => {
  base = await mkdtemp(path.join(os.tmpdir(), 'ts86-paths-'));
  const root = path.join(base, 'images');
  await mkdir(path.join(root, 'sub'), { recursive: true });
  await writeFile(path.join(root, 'bzImage'), 'k');
  await writeFile(path.join(root, 'sub', 'initrd.img'), 'i');
  await writeFile(path.join(root, '..dots'), 'a file whose name starts with two dots');
  await writeFile(path.join(base, 'secret'), 's');
  await symlink('bzImage', path.join(root, 'alias')); // inside → allowed
  await symlink('../secret', path.join(root, 'escape')); // outside → refused
  await symlink('/etc', path.join(root, 'etc')); // directory outside → refused
  await symlink(base, path.join(root, 'parent')); // parent dir → refused
  images = await ImageDirectory.open(root);
});
afterAll(() => rm(base, { recursive: true, force: true }));

async function refusal(p: string): Promise<RelayError> {
  try {
    await images.resolve(p);
  } catch (e) {
    if (e instanceof RelayError) return e;
    throw e;
  }
  throw new Error(`${p} was accepted`);
}

describe('ImageDirectory.resolve', () => {
  it('resolves plain and nested names to real paths inside the directory', async () => {
    expect(await images.resolve('bzImage')).toBe(path.join(images.root, 'bzImage'));
    expect(await images.resolve('sub/initrd.img')).toBe(path.join(images.root, 'sub', 'initrd.img'));
    expect(await images.resolve('./bzImage')).toBe(path.join(images.root, 'bzImage'));
    expect(await images.resolve('..dots')).toBe(path.join(images.root, '..dots'));
    expect(await images.resolve('alias')).toBe(path.join(images.root, 'bzImage'));
    // Where the real path ends up is what counts, not the route there.
    expect(await images.resolve('parent/images/bzImage')).toBe(path.join(images.root, 'bzImage'));
  });

  it('refuses traversal and absolute paths by rule', async () => {
    for (const p of ['../../etc/passwd', '..', 'sub/../../secret', 'sub/../bzImage', '/etc/passwd', 'C:\\Windows\\win.ini', 'sub\\initrd.img', '\\\\server\\share']) {
      const e = await refusal(p);
      expect(e.code, p).toBe('bad-path');
    }
    expect((await refusal('/etc/passwd')).message).toMatch(/absolute paths are not allowed/);
    expect((await refusal('../../etc/passwd')).message).toMatch(/"\.\." is not allowed/);
  });

  it('refuses symlinks that lead outside', async () => {
    for (const p of ['escape', 'etc/passwd', 'parent/secret']) {
      const e = await refusal(p);
      expect(e.code, p).toBe('bad-path');
      expect(e.message).toMatch(/outside the images directory/);
    }
  });

  it('reports missing files and non-files as not-found', async () => {
    expect((await refusal('nope')).code).toBe('not-found');
    expect((await refusal('sub')).code).toBe('not-found');
    expect((await refusal('sub/')).code).toBe('not-found');
  });

  it('refuses to open a directory that is not there', async () => {
    await expect(ImageDirectory.open(path.join(base, 'missing'))).rejects.toThrow(/does not exist/);
    await expect(ImageDirectory.open(path.join(base, 'secret'))).rejects.toThrow(/not a directory/);
  });
});
