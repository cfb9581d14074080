// public/images/manifest.json: what was built from what, and how to boot it.
// Emulator front ends and test harnesses read the cmdline, prompt and ready
// line from here. It is written last, so its presence means a complete build.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ImageBuildError } from './exec.ts';

export const MANIFEST_NAME = 'manifest.json';
export const KERNEL_NAME = 'bzImage';
export const INITRD_NAME = 'initrd.img';

export interface ImageFile {
  size: number;
  sha256: string;
}

export interface ImageManifest {
  format: 1;
  /** Hash of the build recipe (this directory's sources and the cpio writer); a change means rebuild. */
  recipe: string;
  arch: string;
  kernel: {
    /** uname -r, e.g. 6.1.0-50-686; modules live in /lib/modules/<release>. */
    release: string;
    metapackage: string;
    package: string;
    version: string;
  };
  packages: Array<{ name: string; version: string; arch: string; sha256: string }>;
  /** Kernel command line to boot with. */
  cmdline: string;
  /** The console shell's prompt. */
  prompt: string;
  /** Prefix of the line /init prints just before the shell starts. */
  readyLine: string;
  modules: {
    /** Shipped module names (dependency closure included). */
    shipped: string[];
    /** Requested but built into this kernel. */
    builtin: string[];
    /** Requested (optional) but not in this kernel at all. */
    absent: string[];
    /** Soft dependencies not satisfied by a shipped module. */
    unmetSoftDeps: string[];
  };
  files: Record<typeof KERNEL_NAME | typeof INITRD_NAME, ImageFile>;
}

export function describeFile(path: string): ImageFile {
  const data = readFileSync(path);
  return { size: data.length, sha256: createHash('sha256').update(data).digest('hex') };
}

/** Reads and sanity-checks a manifest; throws ImageBuildError saying what to do if it is missing or malformed. */
export function readManifest(imagesDir: string): ImageManifest {
  const path = join(imagesDir, MANIFEST_NAME);
  if (!existsSync(path)) throw new ImageBuildError(`${path} not found: run \`npm run images\` to build the default guest images`);
  let m: ImageManifest;
  try {
    m = JSON.parse(readFileSync(path, 'utf8')) as ImageManifest;
  } catch (e) {
    throw new ImageBuildError(`${path} is not valid JSON (${(e as Error).message}); rebuild with \`npm run images -- --force\``);
  }
  if (m.format !== 1 || typeof m.cmdline !== 'string' || typeof m.prompt !== 'string' || !m.files?.[KERNEL_NAME] || !m.files?.[INITRD_NAME]) {
    throw new ImageBuildError(`${path} is not a format-1 ts86 image manifest; rebuild with \`npm run images -- --force\``);
  }
  return m;
}

/** The manifest, if the images in `imagesDir` were built by this recipe and are intact; undefined otherwise. */
export function upToDateManifest(imagesDir: string, recipe: string): ImageManifest | undefined {
  let m: ImageManifest;
  try {
    m = readManifest(imagesDir);
  } catch {
    return undefined;
  }
  if (m.recipe !== recipe) return undefined;
  for (const [name, want] of Object.entries(m.files)) {
    const path = join(imagesDir, name);
    if (!existsSync(path)) return undefined;
    const got = describeFile(path);
    if (got.size !== want.size || got.sha256 !== want.sha256) return undefined;
  }
  return m;
}

/** Writes `data` to `path` via a temporary file and rename, so readers never see half a file. */
export function writeAtomically(path: string, data: Uint8Array | string): void {
  const tmp = `${path}.partial`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

/**
 * A hash of everything that determines the images besides the packages:
 * the sources in this directory and the cpio writer.
 */
export function recipeHash(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const files = readdirSync(here)
    .filter((f) => f.endsWith('.ts'))
    .sort()
    .map((f) => join(here, f));
  files.push(join(here, '..', '..', 'src', 'machine', 'cpio.ts'));
  const h = createHash('sha256');
  for (const f of files) h.update(`${f.slice(here.length)}\0`).update(readFileSync(f)).update('\0');
  return h.digest('hex').slice(0, 16);
}
