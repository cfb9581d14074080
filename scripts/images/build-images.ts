// `npm run images`: builds the default guest into public/images/ from Debian
// i386 packages: bzImage (linux-image-686), initrd.img (busybox-static, an
// /init, virtio and ext4 modules) and manifest.json. Cached: downloads are
// kept in .cache/images/, and a run whose outputs match the manifest and the
// current recipe does nothing.
//
//   npx tsx scripts/images/build-images.ts [--force] [--quiet] [--images DIR] [--cache DIR]
import { withBuildLock } from './build-lock.ts';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AptFetcher, requireAptTools } from './apt.ts';
import {
  BUSYBOX_PACKAGE,
  CACHE_DIR,
  DEFAULT_CMDLINE,
  GUEST_ARCH,
  GUEST_MODULES,
  IMAGES_DIR,
  KERNEL_METAPACKAGE,
  OPTIONAL_MODULES,
  PROMPT,
  READY_LINE,
} from './config.ts';
import { ImageBuildError } from './exec.ts';
import { extractDeb } from './extract.ts';
import { buildInitramfs } from './initramfs.ts';
import {
  INITRD_NAME,
  type ImageManifest,
  KERNEL_NAME,
  MANIFEST_NAME,
  describeFile,
  recipeHash,
  upToDateManifest,
  writeAtomically,
} from './manifest.ts';
import { collectModules } from './modules.ts';

export interface BuildOptions {
  imagesDir?: string;
  cacheDir?: string;
  /** Rebuild even if the images are up to date (e.g. to pick up a newer kernel after apt-get update). */
  force?: boolean;
  log?: (line: string) => void;
}

/** Builds the images if needed and returns their manifest. Throws ImageBuildError with an actionable message. */
export function buildImages(options: BuildOptions = {}): ImageManifest {
  const cacheDir = options.cacheDir ?? CACHE_DIR;
  mkdirSync(cacheDir, { recursive: true });
  // Concurrent callers (parallel test files on a fresh clone) build one at a time;
  // the later ones then find the images up to date.
  return withBuildLock(join(cacheDir, 'build.lock'), 15 * 60_000, () => buildImagesUnlocked(options));
}

function buildImagesUnlocked(options: BuildOptions): ImageManifest {
  const imagesDir = options.imagesDir ?? IMAGES_DIR;
  const cacheDir = options.cacheDir ?? CACHE_DIR;
  const log = options.log ?? ((line: string) => console.log(`images: ${line}`));
  const recipe = recipeHash();

  if (!options.force) {
    const current = upToDateManifest(imagesDir, recipe);
    if (current) {
      log(`up to date in ${imagesDir} (kernel ${current.kernel.release})`);
      return current;
    }
  }

  requireAptTools();
  const apt = new AptFetcher(GUEST_ARCH, join(cacheDir, 'debs'), log);
  apt.ensureArchitecture();
  const kernelPackage = apt.resolveDependency(KERNEL_METAPACKAGE, /^linux-image-\d+\.\d+.*-686$/);
  const kernelDeb = apt.fetch(kernelPackage);
  const busyboxDeb = apt.fetch(BUSYBOX_PACKAGE);
  const kernelTree = extractDeb(kernelDeb, cacheDir, log);
  const busyboxTree = extractDeb(busyboxDeb, cacheDir, log);

  const release = kernelPackage.replace(/^linux-image-/, '');
  const vmlinuz = join(kernelTree, 'boot', `vmlinuz-${release}`);
  const modulesDir = join(kernelTree, 'lib', 'modules', release);
  const busyboxPath = join(busyboxTree, 'bin', 'busybox');
  for (const p of [vmlinuz, modulesDir, busyboxPath]) {
    if (!existsSync(p)) throw new ImageBuildError(`expected ${p} in the extracted packages; the package layout has changed`);
  }

  const modules = collectModules(modulesDir, release, GUEST_MODULES, OPTIONAL_MODULES);
  if (modules.builtin.length) log(`built into the kernel: ${modules.builtin.join(', ')}`);
  if (modules.absent.length) log(`not in this kernel (optional): ${modules.absent.join(', ')}`);
  for (const unmet of modules.unmetSoftDeps) log(`soft dependency not shipped: ${unmet}`);
  log(`modules: ${modules.modules.map((m) => m.name).join(' ')}`);

  const moduleMetadata = ['modules.builtin', 'modules.builtin.modinfo']
    .filter((name) => existsSync(join(modulesDir, name)))
    .map((name) => ({ name, data: readFileSync(join(modulesDir, name)) }));
  const initrd = buildInitramfs({
    busybox: readFileSync(busyboxPath),
    modules,
    moduleMetadata,
    init: { prompt: PROMPT, readyLine: READY_LINE, hostname: 'ts86' },
  });

  mkdirSync(imagesDir, { recursive: true });
  // The manifest goes last: until it is written, the directory is not a complete build.
  writeAtomically(join(imagesDir, KERNEL_NAME), readFileSync(vmlinuz));
  writeAtomically(join(imagesDir, INITRD_NAME), initrd);

  const manifest: ImageManifest = {
    format: 1,
    recipe,
    arch: GUEST_ARCH,
    kernel: { release, metapackage: KERNEL_METAPACKAGE, package: kernelPackage, version: kernelDeb.version },
    packages: [kernelDeb, busyboxDeb].map((d) => ({ name: d.name, version: d.version, arch: d.arch, sha256: d.sha256 })),
    cmdline: DEFAULT_CMDLINE,
    prompt: PROMPT,
    readyLine: READY_LINE,
    modules: {
      shipped: modules.modules.map((m) => m.name),
      builtin: modules.builtin,
      absent: modules.absent,
      unmetSoftDeps: modules.unmetSoftDeps,
    },
    files: {
      [KERNEL_NAME]: describeFile(join(imagesDir, KERNEL_NAME)),
      [INITRD_NAME]: describeFile(join(imagesDir, INITRD_NAME)),
    },
  };
  writeAtomically(join(imagesDir, MANIFEST_NAME), `${JSON.stringify(manifest, null, 2)}\n`);
  log(
    `wrote ${imagesDir}: ${KERNEL_NAME} ${manifest.files[KERNEL_NAME].size} bytes, ${INITRD_NAME} ${manifest.files[INITRD_NAME].size} bytes (kernel ${release})`,
  );
  return manifest;
}

const USAGE = `usage: npm run images -- [--force] [--quiet] [--images DIR] [--cache DIR]
  builds DIR/{bzImage,initrd.img,manifest.json} (default public/images) from Debian i386 packages,
  keeping downloads in the cache (default .cache/images)`;

function main(argv: string[]): number {
  const options: BuildOptions = {};
  let quiet = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--force') options.force = true;
    else if (a === '--quiet') quiet = true;
    else if (a === '--images' && argv[i + 1]) options.imagesDir = argv[++i];
    else if (a === '--cache' && argv[i + 1]) options.cacheDir = argv[++i];
    else {
      console.error(USAGE);
      return a === '--help' || a === '-h' ? 0 : 2;
    }
  }
  if (quiet) options.log = () => {};
  const started = Date.now();
  try {
    buildImages(options);
  } catch (e) {
    if (e instanceof ImageBuildError) {
      console.error(`npm run images: ${e.message}`);
      return 1;
    }
    throw e;
  }
  if (!quiet) console.log(`images: done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) process.exitCode = main(process.argv.slice(2));
