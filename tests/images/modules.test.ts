// Module selection without a real kernel package: synthetic .ko files (ELF
// objects with just a .modinfo section) in a fake lib/modules/<release> tree.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { ImageBuildError } from '../../scripts/images/exec.ts';
import { ElfError, readModInfo } from '../../scripts/images/modinfo.ts';
import { collectModules, renderModulesAlias, renderModulesDep } from '../../scripts/images/modules.ts';

const RELEASE = '6.1.0-99-686';

/** A minimal ELF relocatable object with a .text, a .modinfo and a .shstrtab section. */
function fakeModule(modinfo: string[], options: { is64?: boolean; bigEndian?: boolean } = {}): Uint8Array {
  const is64 = options.is64 ?? false;
  const little = !options.bigEndian;
  const enc = new TextEncoder();
  // Entries are NUL-terminated and, as in real modules, may be followed by padding NULs.
  const info = enc.encode(modinfo.map((e) => `${e}\0\0`).join(''));
  const text = new Uint8Array([0x90, 0x90, 0xc3, 0]);
  const shstr = enc.encode('\0.text\0.modinfo\0.shstrtab\0');
  const ehsize = is64 ? 64 : 52;
  const shentsize = is64 ? 64 : 40;
  const textOff = ehsize;
  const infoOff = textOff + text.length;
  const shstrOff = infoOff + info.length;
  const shoff = (shstrOff + shstr.length + 7) & ~7;
  const out = new Uint8Array(shoff + 4 * shentsize);
  const dv = new DataView(out.buffer);
  out.set([0x7f, 0x45, 0x4c, 0x46, is64 ? 2 : 1, little ? 1 : 2, 1]);
  dv.setUint16(16, 1, little); // ET_REL
  dv.setUint16(18, is64 ? 62 : 3, little);
  if (is64) {
    dv.setBigUint64(0x28, BigInt(shoff), little);
    dv.setUint16(0x3a, shentsize, little);
    dv.setUint16(0x3c, 4, little);
    dv.setUint16(0x3e, 3, little);
  } else {
    dv.setUint32(0x20, shoff, little);
    dv.setUint16(0x2e, shentsize, little);
    dv.setUint16(0x30, 4, little);
    dv.setUint16(0x32, 3, little);
  }
  out.set(text, textOff);
  out.set(info, infoOff);
  out.set(shstr, shstrOff);
  const sections: Array<[number, number, number]> = [
    [0, 0, 0],
    [1, textOff, text.length], // .text
    [7, infoOff, info.length], // .modinfo
    [16, shstrOff, shstr.length], // .shstrtab
  ];
  sections.forEach(([name, offset, size], i) => {
    const h = shoff + i * shentsize;
    dv.setUint32(h, name, little);
    if (is64) {
      dv.setBigUint64(h + 0x18, BigInt(offset), little);
      dv.setBigUint64(h + 0x20, BigInt(size), little);
    } else {
      dv.setUint32(h + 0x10, offset, little);
      dv.setUint32(h + 0x14, size, little);
    }
  });
  return out;
}

function mod(name: string, extra: string[] = [], release = RELEASE): Uint8Array {
  const hasDepends = extra.some((e) => e.startsWith('depends='));
  return fakeModule([...extra, ...(hasDepends ? [] : ['depends=']), `name=${name}`, `vermagic=${release} SMP preempt mod_unload`]);
}

let root: string | undefined;
afterEach(() => {
  if (root) rmSync(root, { recursive: true, force: true });
  root = undefined;
});

/** Writes files (relative to lib/modules/<release>) and returns that directory. */
function tree(files: Record<string, Uint8Array | string>): string {
  root = mkdtempSync(join(tmpdir(), 'ts86-mods-'));
  const dir = join(root, 'lib', 'modules', RELEASE);
  for (const [path, data] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), data);
  }
  return dir;
}

describe('readModInfo', () => {
  it('reads names, dependencies, soft dependencies and aliases', () => {
    const info = readModInfo(
      mod('ext4', ['alias=fs-ext4', 'softdep=pre: crypto-crc32c other post: later', 'depends=jbd2,mbcache,crc-16', 'alias=ext3']),
    );
    expect(info.name).toBe('ext4');
    expect(info.depends).toEqual(['jbd2', 'mbcache', 'crc_16']);
    expect(info.softPre).toEqual(['crypto-crc32c', 'other']);
    expect(info.aliases).toEqual(['fs-ext4', 'ext3']);
    expect(info.vermagic).toBe(`${RELEASE} SMP preempt mod_unload`);
  });

  it('handles 64-bit and big-endian objects', () => {
    expect(readModInfo(fakeModule(['name=a', 'depends=b'], { is64: true })).depends).toEqual(['b']);
    expect(readModInfo(fakeModule(['name=a', 'depends=c'], { bigEndian: true })).depends).toEqual(['c']);
  });

  it('rejects files that are not modules', () => {
    expect(() => readModInfo(new TextEncoder().encode('#!/bin/sh\necho not elf\n'.repeat(4)))).toThrow(ElfError);
    const noModinfo = fakeModule(['name=x']);
    noModinfo[shstrtabIndexOf(noModinfo, '.modinfo')] = 0x58; // rename the section to "Xmodinfo"
    expect(() => readModInfo(noModinfo)).toThrow(/no \.modinfo/);
    expect(() => readModInfo(fakeModule(['name=x']).subarray(0, 60))).toThrow(/out of range/);
  });
});

function shstrtabIndexOf(elf: Uint8Array, name: string): number {
  const hay = Buffer.from(elf);
  return hay.lastIndexOf(Buffer.from(`\0${name}\0`)) + 1;
}

describe('collectModules', () => {
  it('ships the dependency closure and orders modules.dep so dependencies load first', () => {
    // A diamond: top -> left, right; left -> base; right -> base.
    const dir = tree({
      'kernel/a/top.ko': mod('top', ['depends=left,right']),
      'kernel/a/left.ko': mod('left', ['depends=base']),
      'kernel/b/right.ko': mod('right', ['depends=base']),
      'kernel/c/base.ko': mod('base'),
      'kernel/c/unrelated.ko': mod('unrelated'),
    });
    const set = collectModules(dir, RELEASE, ['top'], new Set());
    expect(set.modules.map((m) => m.name)).toEqual(['left', 'top', 'right', 'base']);
    const dep = Object.fromEntries(
      renderModulesDep(set)
        .trimEnd()
        .split('\n')
        .map((l) => {
          const [k, v] = l.split(':');
          return [k, v!.trim().split(' ').filter(Boolean)];
        }),
    );
    expect(dep['kernel/c/base.ko']).toEqual([]);
    expect(dep['kernel/a/left.ko']).toEqual(['kernel/c/base.ko']);
    // modprobe loads from the end of the list: base, then left/right, then top.
    const top = dep['kernel/a/top.ko'] as string[];
    expect(top).toHaveLength(3);
    expect(top.at(-1)).toBe('kernel/c/base.ko');
    expect(new Set(top.slice(0, 2))).toEqual(new Set(['kernel/a/left.ko', 'kernel/b/right.ko']));
  });

  it('folds satisfied soft dependencies (by name or alias) into the load order without adding modules', () => {
    const dir = tree({
      'kernel/fs/ext4.ko': mod('ext4', ['softdep=pre: crypto-crc32c', 'depends=jbd2', 'alias=fs-ext4']),
      'kernel/fs/jbd2.ko': mod('jbd2', ['softdep=pre: crypto-crc32c']),
      'kernel/crypto/crc32c_generic.ko': mod('crc32c_generic', ['alias=crypto-crc32c', 'alias=crc32c']),
      'kernel/crypto/crc32c-intel.ko': mod('crc32c_intel', ['alias=crypto-crc32c']),
      'kernel/lib/libcrc32c.ko': mod('libcrc32c', ['softdep=pre: crc32c missing-thing']),
    });
    const set = collectModules(dir, RELEASE, ['ext4', 'crc32c_generic', 'libcrc32c'], new Set());
    expect(set.modules.map((m) => m.name).sort()).toEqual(['crc32c_generic', 'ext4', 'jbd2', 'libcrc32c']);
    expect(set.unmetSoftDeps).toEqual(['libcrc32c: missing-thing']);
    const dep = renderModulesDep(set);
    expect(dep).toContain('kernel/fs/ext4.ko: kernel/fs/jbd2.ko kernel/crypto/crc32c_generic.ko\n');
    expect(dep).toContain('kernel/lib/libcrc32c.ko: kernel/crypto/crc32c_generic.ko\n');
    const alias = renderModulesAlias(set);
    expect(alias).toContain('alias crypto-crc32c crc32c_generic\n');
    expect(alias).toContain('alias fs-ext4 ext4\n');
    expect(alias).not.toContain('crc32c_intel');
  });

  it('reports built-in and absent optional modules, and refuses missing required ones', () => {
    const files = {
      'kernel/a/one.ko': mod('one'),
      'kernel/a/needs-ghost.ko': mod('needs_ghost', ['depends=ghost']),
      'modules.builtin': 'kernel/drivers/virtio/virtio_anchor.ko\nkernel/fs/built-in-fs.ko\n',
    };
    const dir = tree(files);
    const set = collectModules(dir, RELEASE, ['one', 'virtio_anchor', 'built_in_fs', 'virtio_iommu'], new Set(['virtio_iommu']));
    expect(set.builtin).toEqual(['virtio_anchor', 'built_in_fs']);
    expect(set.absent).toEqual(['virtio_iommu']);
    expect(() => collectModules(dir, RELEASE, ['nonesuch'], new Set())).toThrow(/no module nonesuch/);
    expect(() => collectModules(dir, RELEASE, ['needs_ghost'], new Set(['ghost']))).toThrow(/needs_ghost depends on ghost/);
  });

  it('refuses modules built for another kernel', () => {
    const dir = tree({ 'kernel/a/old.ko': mod('old', [], '5.10.0-1-686') });
    expect(() => collectModules(dir, RELEASE, ['old'], new Set())).toThrow(ImageBuildError);
  });

  it('decompresses .ko.gz and .ko.xz and ships them as plain .ko', () => {
    const plain = mod('squeezed', ['depends=zipped']);
    const xz = spawnSync('xz', ['-c'], { input: plain });
    const files: Record<string, Uint8Array> = { 'kernel/z/zipped.ko.gz': gzipSync(mod('zipped')) };
    const haveXz = xz.status === 0;
    files[haveXz ? 'kernel/z/squeezed.ko.xz' : 'kernel/z/squeezed.ko.gz'] = haveXz ? xz.stdout : gzipSync(plain);
    const set = collectModules(tree(files), RELEASE, ['squeezed'], new Set());
    expect(set.modules.map((m) => m.path)).toEqual(['kernel/z/squeezed.ko', 'kernel/z/zipped.ko']);
    expect(Buffer.from(set.modules[0]!.data).equals(Buffer.from(plain))).toBe(true);
    expect(renderModulesDep(set)).toBe('kernel/z/squeezed.ko: kernel/z/zipped.ko\nkernel/z/zipped.ko:\n');
  });
});
