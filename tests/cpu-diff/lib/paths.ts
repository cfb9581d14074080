// Where the suite keeps its build products: the git-ignored .cache/cpu-diff/ at the repo root.
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = resolve(here, '../../..');
export const SUITE_DIR = resolve(here, '..');
export const CACHE_DIR = join(REPO_ROOT, '.cache', 'cpu-diff');

export function cacheDir(): string {
  mkdirSync(CACHE_DIR, { recursive: true });
  return CACHE_DIR;
}

/** A per-process scratch file name in the cache dir (vitest runs test files in parallel forks). */
let scratchCounter = 0;
export function scratchPath(stem: string, ext: string): string {
  return join(cacheDir(), `${stem}-${process.pid}-${scratchCounter++}.${ext}`);
}
