// From VMOptions to what the worker boots: which images (the bundled guest
// by default), downloaded or read with progress, the command line, and the
// pattern that means "booted".
import type { BootImages, DiskRequest, SignatureFile } from '../../machine/worker/protocol.ts';
import { diskRequest } from '../disk/disk-request.ts';
import type { DownloadProgress, VMOptions } from './types.ts';
import { loadImage } from './image-source.ts';
import { download } from './downloader.ts';
import { toRegExp } from './boot-detector.ts';
import { vmError, VMErrorException } from './errors.ts';

export interface BootPlan { images: BootImages; booted: RegExp | null; disk?: DiskRequest; signatures?: SignatureFile[] }

/** The fields of public/images/manifest.json the page uses (written by scripts/images). */
interface GuestManifest { cmdline: string; prompt: string }

/** A shell prompt at the very end of the output: what most Linux guests print when they are ready. */
const GENERIC_PROMPT = /[#$] $/;

async function readManifest(base: URL, report: (p: DownloadProgress) => void, signal: AbortSignal): Promise<GuestManifest> {
  const url = new URL('images/manifest.json', base).href;
  let bytes: Uint8Array;
  try {
    bytes = await download(url, 'guest image manifest', (p) => report({ what: 'manifest', source: url, ...p, done: false }), signal, 'application/json');
  } catch (e) {
    if (e instanceof VMErrorException && e.vmError.kind === 'download') {
      throw vmError('download',
        `The default guest images are missing. ${e.vmError.message} ` +
        'Build them with "npm run images" (npm start does it on first run), or give a kernel with ?kernel=URL&initrd=URL.');
    }
    throw e;
  }
  report({ what: 'manifest', source: url, loaded: bytes.length, total: bytes.length, done: true });
  const m = JSON.parse(new TextDecoder().decode(bytes)) as Partial<GuestManifest>;
  if (typeof m.cmdline !== 'string' || typeof m.prompt !== 'string') {
    throw vmError('download', `${url} is not a ts86 guest manifest (no cmdline and prompt); rebuild the images with "npm run images".`);
  }
  return { cmdline: m.cmdline, prompt: m.prompt };
}

export async function planBoot(opts: VMOptions, base: URL, report: (p: DownloadProgress) => void, signal: AbortSignal): Promise<BootPlan> {
  // The disk is checked first: a bad size or URL fails before any download.
  const disk = opts.disk ? diskRequest(opts.disk) : undefined;
  const [plan, signatures] = await Promise.all([planImages(opts, base, report, signal), loadSignatures(opts.signatures ?? [], report, signal)]);
  return { ...plan, ...(disk ? { disk } : {}), ...(signatures.length ? { signatures } : {}) };
}

/** The code scanner's signature files as text; the worker parses them (and names a bad line). */
async function loadSignatures(sources: NonNullable<VMOptions['signatures']>, report: (p: DownloadProgress) => void, signal: AbortSignal): Promise<SignatureFile[]> {
  return Promise.all(sources.map(async (source, i) => {
    const what = sources.length > 1 ? `signatures ${i + 1}` : 'signatures';
    const file = await loadImage(source, what, (p) => report({ what, ...p, done: false }), signal);
    report({ what, source: file.name, loaded: file.bytes.length, total: file.bytes.length, done: true });
    return { name: file.name, text: new TextDecoder().decode(file.bytes) };
  }));
}

async function planImages(opts: VMOptions, base: URL, report: (p: DownloadProgress) => void, signal: AbortSignal): Promise<BootPlan> {
  const fetchImage = async (what: string, source: NonNullable<VMOptions['kernel']>) => {
    const img = await loadImage(source, what, (p) => report({ what, ...p, done: false }), signal);
    report({ what, source: img.name, loaded: img.bytes.length, total: img.bytes.length, done: true });
    return img;
  };
  const pattern = (fallback: RegExp | string | null): RegExp | null => {
    const p = opts.bootedPattern ?? fallback;
    return p === null ? null : toRegExp(p);
  };

  if (opts.multiboot !== undefined) {
    const k = await fetchImage('multiboot', opts.multiboot);
    return { images: { kind: 'multiboot', kernel: k.bytes, kernelName: k.name, cmdline: opts.append ?? '' }, booted: pattern(null) };
  }
  if (opts.kernel === undefined && opts.initrd !== undefined) {
    throw vmError('config', 'An initrd was given without a kernel; give the kernel too (kernel= and initrd=).');
  }
  if (opts.kernel !== undefined) {
    const [k, i] = await Promise.all([
      fetchImage('kernel', opts.kernel),
      opts.initrd !== undefined ? fetchImage('initrd', opts.initrd) : Promise.resolve(undefined),
    ]);
    return {
      images: { kind: 'linux', kernel: k.bytes, kernelName: k.name, initrd: i?.bytes, initrdName: i?.name, cmdline: opts.append ?? 'console=ttyS0' },
      booted: pattern(GENERIC_PROMPT),
    };
  }
  const manifest = await readManifest(base, report, signal);
  const [k, i] = await Promise.all([
    fetchImage('kernel', new URL('images/bzImage', base).href),
    fetchImage('initrd', new URL('images/initrd.img', base).href),
  ]);
  return {
    images: { kind: 'linux', kernel: k.bytes, kernelName: k.name, initrd: i.bytes, initrdName: i.name, cmdline: opts.append ?? manifest.cmdline },
    booted: pattern(manifest.prompt),
  };
}
