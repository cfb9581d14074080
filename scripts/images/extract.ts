// Unpacking .deb files with dpkg-deb -x into the cache. Each package gets its
// own tree, named after the .deb; a stamp file marks a finished extraction so
// that an interrupted one is redone rather than trusted.
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { DebPackage } from './apt.ts';
import { run } from './exec.ts';

const STAMP = '.ts86-extracted';

/** Returns the directory holding the package's files, extracting it if needed. */
export function extractDeb(deb: DebPackage, cacheDir: string, log: (line: string) => void): string {
  const dir = join(cacheDir, 'extracted', basename(deb.path, '.deb'));
  if (existsSync(join(dir, STAMP))) return dir;
  log(`extracting ${basename(deb.path)}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  run('dpkg-deb', ['-x', deb.path, dir]);
  writeFileSync(join(dir, STAMP), `${deb.sha256}\n`);
  return dir;
}
