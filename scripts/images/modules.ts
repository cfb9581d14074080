// Choosing the kernel modules for the initramfs and writing the files
// modprobe reads. Debian's kernel package ships no modules.dep (its postinst
// runs depmod), and the host may have no depmod, so we compute the
// dependency closure from each module's own .modinfo and write modules.dep
// and modules.alias ourselves, in the format kmod's depmod uses.
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { ImageBuildError, hasCommand, runBinary } from './exec.ts';
import { type ModInfo, canonicalModuleName, readModInfo } from './modinfo.ts';

export interface ShippedModule {
  name: string;
  /** Path relative to /lib/modules/<release>/, always an uncompressed .ko. */
  path: string;
  data: Uint8Array;
  info: ModInfo;
  /** Modules that must be loaded first: hard dependencies plus shipped soft (pre) dependencies. */
  loadAfter: string[];
}

export interface ModuleSet {
  release: string;
  /** Sorted by path. */
  modules: ShippedModule[];
  /** Requested modules that this kernel has built in (nothing to ship). */
  builtin: string[];
  /** Requested optional modules this kernel does not have at all. */
  absent: string[];
  /** Soft dependencies not satisfied by a shipped module, as "module: dep". */
  unmetSoftDeps: string[];
}

const MODULE_FILE = /\.ko(\.gz|\.xz|\.zst)?$/;

/**
 * Collects `wanted` and everything they depend on from an extracted kernel
 * package. `modulesDir` is its lib/modules/<release>. A wanted module that the
 * kernel has neither as a module nor built in is an error unless `optional`.
 */
export function collectModules(modulesDir: string, release: string, wanted: readonly string[], optional: ReadonlySet<string>): ModuleSet {
  const index = indexModules(modulesDir);
  const builtinNames = readBuiltin(modulesDir);
  const byName = new Map<string, ShippedModule>();
  const builtin: string[] = [];
  const absent: string[] = [];

  const queue: Array<{ name: string; neededBy?: string }> = wanted.map((name) => ({ name: canonicalModuleName(name) }));
  while (queue.length > 0) {
    const { name, neededBy } = queue.shift()!;
    if (byName.has(name) || builtin.includes(name) || absent.includes(name)) continue;
    const file = index.get(name);
    if (!file) {
      if (builtinNames.has(name)) builtin.push(name);
      else if (!neededBy && optional.has(name)) absent.push(name);
      else if (neededBy) throw new ImageBuildError(`${neededBy} depends on ${name}, which the kernel package does not contain`);
      else throw new ImageBuildError(`kernel ${release} has no module ${name} (neither loadable nor built in); remove it from GUEST_MODULES or mark it optional`);
      continue;
    }
    const data = loadModuleFile(join(modulesDir, file));
    const info = readModInfo(data, file);
    if (info.vermagic && info.vermagic.split(' ')[0] !== release) {
      throw new ImageBuildError(`${file} was built for ${info.vermagic.split(' ')[0]}, not ${release}`);
    }
    byName.set(name, { name, path: file.replace(MODULE_FILE, '.ko'), data, info, loadAfter: [...info.depends] });
    for (const dep of info.depends) queue.push({ name: dep, neededBy: name });
  }

  // Soft dependencies name modules or aliases (ext4 wants "crypto-crc32c").
  // Busybox modprobe ignores softdep, so a satisfied one is folded into the
  // load order: `modprobe ext4` then also loads crc32c_generic, as kmod's
  // modprobe would. Soft dependencies never pull in new modules: the set we
  // ship is exactly GUEST_MODULES plus hard dependencies.
  const unmetSoftDeps: string[] = [];
  for (const mod of byName.values()) {
    for (const soft of mod.info.softPre) {
      const target = byName.get(canonicalModuleName(soft)) ?? [...byName.values()].find((m) => m.info.aliases.includes(soft));
      if (!target) unmetSoftDeps.push(`${mod.name}: ${soft}`);
      else if (target !== mod && !mod.loadAfter.includes(target.name)) mod.loadAfter.push(target.name);
    }
  }

  const modules = [...byName.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { release, modules, builtin, absent, unmetSoftDeps };
}

/**
 * modules.dep: one line per module, "path: dep dep ...", listing every
 * transitive dependency with each module before the ones it needs. modprobe
 * loads the list from the end, so dependencies come up first.
 */
export function renderModulesDep(set: ModuleSet): string {
  const byName = new Map(set.modules.map((m) => [m.name, m]));
  const lines = set.modules.map((mod) => {
    const order: ShippedModule[] = [];
    const state = new Map<string, 'visiting' | 'done'>();
    const visit = (m: ShippedModule) => {
      const s = state.get(m.name);
      if (s === 'done') return;
      if (s === 'visiting') throw new ImageBuildError(`module dependency cycle through ${m.name}`);
      state.set(m.name, 'visiting');
      for (const dep of m.loadAfter) visit(byName.get(dep)!);
      state.set(m.name, 'done');
      order.push(m); // post-order: after everything it needs
    };
    visit(mod);
    order.pop(); // the module itself
    return `${mod.path}:${order.reverse().map((m) => ` ${m.path}`).join('')}\n`;
  });
  return lines.join('');
}

/** modules.alias: "alias <pattern> <module>", so requests like fs-ext4 or pci:v00001AF4... resolve. */
export function renderModulesAlias(set: ModuleSet): string {
  let out = '# Aliases extracted from modules themselves.\n';
  for (const mod of set.modules) for (const alias of mod.info.aliases) out += `alias ${alias} ${mod.name}\n`;
  return out;
}

/** Maps module name -> path (relative to modulesDir) for every module file in the package. */
function indexModules(modulesDir: string): Map<string, string> {
  const index = new Map<string, string>();
  for (const entry of readdirSync(join(modulesDir, 'kernel'), { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !MODULE_FILE.test(entry.name)) continue;
    // entry.parentPath is Node >= 20.12; .path is its older name.
    const parent = (entry as { parentPath?: string }).parentPath ?? entry.path;
    index.set(canonicalModuleName(entry.name.replace(MODULE_FILE, '')), relative(modulesDir, join(parent, entry.name)));
  }
  if (index.size === 0) throw new ImageBuildError(`no kernel modules under ${modulesDir}/kernel`);
  return index;
}

function readBuiltin(modulesDir: string): Set<string> {
  let text = '';
  try {
    text = readFileSync(join(modulesDir, 'modules.builtin'), 'utf8');
  } catch {
    return new Set();
  }
  return new Set(
    text
      .split('\n')
      .filter(Boolean)
      .map((p) => canonicalModuleName(p.replace(/^.*\//, '').replace(MODULE_FILE, ''))),
  );
}

/**
 * Reads a module, decompressing .ko.gz/.ko.xz/.ko.zst: busybox modprobe
 * passes the file to init_module() as is, so the initramfs carries plain .ko.
 */
export function loadModuleFile(path: string): Uint8Array {
  if (path.endsWith('.ko')) return readFileSync(path);
  if (path.endsWith('.gz')) return gunzipSync(readFileSync(path));
  const tool = path.endsWith('.xz') ? 'xz' : 'zstd';
  if (!hasCommand(tool)) throw new ImageBuildError(`${path} is compressed; install ${tool === 'xz' ? 'xz-utils' : 'zstd'} to unpack it`);
  return runBinary(tool, ['-d', '-c', '-q', path]);
}
