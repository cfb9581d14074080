// Fetching Debian packages for the guest architecture with the host's own apt:
// resolve names to exact versions from the package lists, then `apt-get
// download` each .deb into the cache, where it is kept (and checked against
// the archive's SHA256) so later builds need no network.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ImageBuildError, hasCommand, run } from './exec.ts';

export interface DebPackage {
  name: string;
  version: string;
  arch: string;
  /** SHA256 of the .deb, from the archive's package index. */
  sha256: string;
  /** Local path of the downloaded .deb. */
  path: string;
}

interface Candidate {
  name: string;
  version: string;
  arch: string;
  sha256: string;
}

const APT_TOOLS = ['apt-get', 'apt-cache', 'dpkg', 'dpkg-deb'];

export const NO_APT_HELP = [
  'The default guest images are built from Debian i386 packages (linux-image-686, busybox-static)',
  'with apt-get download and dpkg-deb. To build them, either',
  '  - run `npm run images` on Debian or Ubuntu (as root, or after running once as root:',
  '    `dpkg --add-architecture i386 && apt-get update`), or',
  '  - place the files by hand: public/images/bzImage (an i386 Linux kernel), public/images/initrd.img',
  '    (a gzip newc initramfs whose shell runs on ttyS0) and public/images/manifest.json',
  '    (see scripts/images/manifest.ts for its fields).',
].join('\n');

export function requireAptTools(): void {
  const missing = APT_TOOLS.filter((t) => !hasCommand(t));
  if (missing.length > 0) throw new ImageBuildError(`missing ${missing.join(', ')}.\n${NO_APT_HELP}`);
}

function isRoot(): boolean {
  return process.getuid?.() === 0;
}

export class AptFetcher {
  private updated = false;

  constructor(
    private readonly arch: string,
    private readonly cacheDir: string,
    private readonly log: (line: string) => void,
  ) {}

  /** Makes sure dpkg knows the guest architecture, so apt has its package lists. */
  ensureArchitecture(): void {
    const native = run('dpkg', ['--print-architecture']).stdout.trim();
    if (native === this.arch) return;
    const foreign = run('dpkg', ['--print-foreign-architectures']).stdout.split(/\s+/);
    if (foreign.includes(this.arch)) return;
    if (!isRoot()) {
      throw new ImageBuildError(
        `apt has no ${this.arch} package lists. Run once as root: dpkg --add-architecture ${this.arch} && apt-get update\n${NO_APT_HELP}`,
      );
    }
    this.log(`enabling the ${this.arch} architecture in dpkg`);
    run('dpkg', ['--add-architecture', this.arch]);
    this.update();
  }

  /** The versioned package a metapackage points to, e.g. linux-image-686 -> linux-image-6.1.0-50-686. */
  resolveDependency(metapackage: string, pattern: RegExp): string {
    const lookup = () => {
      const r = run('apt-cache', ['depends', '--no-recommends', '--no-suggests', `${metapackage}:${this.arch}`], { allowFailure: true });
      if (r.status !== 0) return undefined;
      for (const m of r.stdout.matchAll(/^\s+\|?Depends:\s+(\S+)$/gm)) {
        const name = m[1]!.replace(/:.*$/, '');
        if (pattern.test(name)) return name;
      }
      return undefined;
    };
    const name = lookup() ?? (this.update(), lookup());
    if (!name) throw new ImageBuildError(`apt knows no ${metapackage}:${this.arch} depending on a package like ${pattern}; is this a Debian with the main component?`);
    return name;
  }

  /** Downloads (or finds in the cache) the candidate version of a package. */
  fetch(name: string): DebPackage {
    mkdirSync(this.cacheDir, { recursive: true });
    const candidate = this.candidate(name) ?? (this.update(), this.candidate(name));
    if (!candidate) throw new ImageBuildError(`apt has no installable ${name}:${this.arch} (apt-cache show found no candidate)`);
    const path = join(this.cacheDir, debFileName(candidate));
    if (existsSync(path) && sha256File(path) === candidate.sha256) {
      this.log(`cached ${name} ${candidate.version}`);
      return { ...candidate, path };
    }
    this.log(`downloading ${name} ${candidate.version}`);
    this.download(candidate, path);
    return { ...candidate, path };
  }

  private download(c: Candidate, path: string): void {
    // Download into a scratch directory and move into place only after the
    // checksum matches, so an interrupted run never leaves a bad .deb cached.
    const tmp = join(this.cacheDir, 'partial');
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    const args = [...(isRoot() ? ['-o', 'APT::Sandbox::User=root'] : []), 'download', `${c.name}:${c.arch}=${c.version}`];
    let r = run('apt-get', args, { cwd: tmp, allowFailure: true });
    if (r.status !== 0 && !this.updated) {
      // Stale lists name a version the mirror no longer has.
      this.update();
      r = run('apt-get', args, { cwd: tmp, allowFailure: true });
    }
    if (r.status !== 0) throw new ImageBuildError(`apt-get download ${c.name}:${c.arch}=${c.version} failed:\n${r.stderr.trim()}`);
    const got = join(tmp, debFileName(c));
    if (!existsSync(got)) throw new ImageBuildError(`apt-get download did not produce ${debFileName(c)} in ${tmp}`);
    const sum = sha256File(got);
    if (sum !== c.sha256) throw new ImageBuildError(`${debFileName(c)}: SHA256 ${sum} does not match the package index (${c.sha256})`);
    renameSync(got, path);
    rmSync(tmp, { recursive: true, force: true });
  }

  private candidate(name: string): Candidate | undefined {
    const r = run('apt-cache', ['show', '--no-all-versions', `${name}:${this.arch}`], { allowFailure: true });
    if (r.status !== 0) return undefined;
    const field = (key: string) => new RegExp(`^${key}: (.+)$`, 'm').exec(r.stdout)?.[1]?.trim();
    const version = field('Version');
    const sha256 = field('SHA256');
    const arch = field('Architecture');
    if (!version || !sha256 || !arch) return undefined;
    return { name, version, arch, sha256 };
  }

  private update(): void {
    if (this.updated) return;
    this.updated = true;
    if (!isRoot()) {
      this.log('package lists look stale, but apt-get update needs root; carrying on with the lists as they are');
      return;
    }
    this.log('apt-get update');
    // A partial failure (one mirror mid-sync, an unrelated third-party source)
    // exits non-zero yet usually leaves the lists we need in place; the
    // lookups that follow decide whether it was enough.
    const r = run('apt-get', ['update'], { allowFailure: true });
    if (r.status !== 0) {
      const errors = r.stderr.split('\n').filter((l) => /^(E|W):/.test(l));
      this.log(`apt-get update reported problems (continuing):\n  ${errors.join('\n  ')}`);
    }
  }
}

/** The file name apt-get download gives a package: name_version_arch.deb, with the epoch colon escaped. */
export function debFileName(p: { name: string; version: string; arch: string }): string {
  return `${p.name}_${p.version.replace(/:/g, '%3a')}_${p.arch}.deb`;
}

export function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}
