// Lays out the initramfs tree and packs it: busybox, /init and its config,
// the kernel modules with their modules.dep, and the few nodes the kernel
// needs before devtmpfs is mounted. Output is a gzip-compressed newc cpio.
import { gzipSync } from 'node:zlib';
import { CpioWriter } from '../../src/machine/cpio.ts';
import { type InitOptions, initFiles } from './init-script.ts';
import { type ModuleSet, renderModulesAlias, renderModulesDep } from './modules.ts';

export interface InitramfsInput {
  busybox: Uint8Array;
  modules: ModuleSet;
  /** Extra files copied verbatim into /lib/modules/<release>/ (e.g. modules.builtin). */
  moduleMetadata: Array<{ name: string; data: Uint8Array }>;
  init: InitOptions;
}

export function buildInitramfs(input: InitramfsInput): Uint8Array {
  const w = new CpioWriter();
  for (const dir of ['dev', 'proc', 'sys', 'run', 'etc', 'bin', 'sbin', 'usr/bin', 'usr/sbin', 'mnt']) w.directory(dir);
  w.directory('tmp', { mode: 0o1777 });
  w.directory('root', { mode: 0o700 });
  // The kernel opens /dev/console for init's stdio before anything is mounted.
  w.charDevice('dev/console', 5, 1);
  w.charDevice('dev/null', 1, 3, { mode: 0o666 });

  w.file('bin/busybox', input.busybox, { mode: 0o755 });
  // /init's #! line needs a shell before --install has made the other links.
  w.symlink('bin/sh', 'busybox');
  for (const f of initFiles(input.init)) w.file(f.path, f.content, { mode: f.mode });

  const base = `lib/modules/${input.modules.release}`;
  for (const mod of input.modules.modules) w.file(`${base}/${mod.path}`, mod.data);
  w.file(`${base}/modules.dep`, renderModulesDep(input.modules));
  w.file(`${base}/modules.alias`, renderModulesAlias(input.modules));
  for (const meta of input.moduleMetadata) w.file(`${base}/${meta.name}`, meta.data);

  return gzipSync(w.finish(), { level: 9 });
}
