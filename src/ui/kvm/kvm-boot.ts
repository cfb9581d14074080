// What KVM mode asks the relay to boot. The page's boot options (kernel,
// initrd, multiboot, append, memory, from the URL or the settings form)
// become a relay `start` request, plus the serial pattern that means
// "booted". Here images are NAMES of files in the relay's images directory:
// QEMU opens them on the user's machine, so bytes the page holds (a File
// picked in the form) cannot be used, and a name is passed on as typed (the
// relay refuses absolute paths, `..` and symlinks out, with a reason).
import type { ImageSource, VMOptions } from '../vm/types.ts';
import { toRegExp } from '../vm/boot-detector.ts';
import { vmError } from '../vm/errors.ts';
import type { StartRequest } from './relay-client.ts';

export type KvmStartSpec = Omit<StartRequest, 'type' | 'id'>;

export interface KvmBootPlan {
  request: KvmStartSpec;
  /** When the `booted` event fires; null: never. */
  booted: RegExp | null;
  /** For the console note: what boots. */
  description: string;
  /** Something the user should know about the plan (shown as a notice). */
  notice?: string;
}

/** The fields of images/manifest.json (written by scripts/images) KVM mode uses. */
export interface GuestManifest { cmdline: string; prompt: string }

/** The default guest's files, as `npm run images` names them in public/images (the relay's default directory). */
export const DEFAULT_GUEST = { kernel: 'bzImage', initrd: 'initrd.img' } as const;
/** Guest memory when neither the URL nor the form gives one; as the in-browser machine. */
export const DEFAULT_MEMORY_MIB = 128;
/** A shell prompt at the very end of the output, as for the in-browser machine's other kernels. */
const GENERIC_PROMPT = /[#$] $/;
const FALLBACK_CMDLINE = 'console=ttyS0';

function relayName(what: 'kernel' | 'initrd' | 'multiboot', source: ImageSource | undefined): string | undefined {
  if (source === undefined) return undefined;
  if (typeof source === 'string' && source.trim() !== '') return source.trim();
  throw vmError('config',
    `KVM mode boots files from the relay's images directory, so the ${what} must be given by name (e.g. ?${what}=${what === 'initrd' ? 'initrd.img' : 'bzImage'}); ` +
    'a file picked on this computer cannot be handed to QEMU. Switch KVM mode off to boot it in the browser.');
}

/**
 * The default guest's command line and prompt come from the page's own copy
 * of the image manifest: the relay serves no files, and by default its
 * images directory is the same public/images.
 */
export async function fetchGuestManifest(base: URL): Promise<GuestManifest | null> {
  try {
    const r = await fetch(new URL('images/manifest.json', base));
    if (!r.ok) return null;
    const m = (await r.json()) as Partial<GuestManifest>;
    return typeof m.cmdline === 'string' && typeof m.prompt === 'string' ? { cmdline: m.cmdline, prompt: m.prompt } : null;
  } catch {
    return null;
  }
}

export async function planKvmBoot(opts: VMOptions, manifest: () => Promise<GuestManifest | null>): Promise<KvmBootPlan> {
  const memoryMiB = opts.memoryMiB ?? DEFAULT_MEMORY_MIB;
  const pattern = (fallback: RegExp | string | null): RegExp | null => {
    const p = opts.bootedPattern ?? fallback;
    return p === null ? null : toRegExp(p);
  };

  const multiboot = relayName('multiboot', opts.multiboot);
  if (multiboot !== undefined) {
    // QEMU's -kernel loads multiboot ELF kernels as well as bzImages.
    return { request: { kernel: multiboot, append: opts.append ?? '', memoryMiB }, booted: pattern(null), description: multiboot };
  }
  const kernel = relayName('kernel', opts.kernel);
  const initrd = relayName('initrd', opts.initrd);
  if (kernel === undefined && initrd !== undefined) {
    throw vmError('config', 'An initrd was given without a kernel; give the kernel too (kernel= and initrd=).');
  }
  if (kernel !== undefined) {
    const request: KvmStartSpec = { kernel, append: opts.append ?? FALLBACK_CMDLINE, memoryMiB };
    if (initrd !== undefined) request.initrd = initrd;
    return { request, booted: pattern(GENERIC_PROMPT), description: initrd ? `${kernel} with ${initrd}` : kernel };
  }

  const m = opts.append === undefined || opts.bootedPattern === undefined ? await manifest() : null;
  const plan: KvmBootPlan = {
    request: { ...DEFAULT_GUEST, append: opts.append ?? m?.cmdline ?? FALLBACK_CMDLINE, memoryMiB },
    booted: pattern(m?.prompt ?? GENERIC_PROMPT),
    description: 'the default guest',
  };
  if (!m && opts.append === undefined) {
    plan.notice = `KVM mode: this page could not read images/manifest.json, so the default guest boots with the command line "${FALLBACK_CMDLINE}".`;
  }
  return plan;
}

/** The next boot's options: `overrides` over `current`, where a new kernel of one kind replaces the other kind's images (as the in-browser VM does). */
export function mergeBootOptions(current: VMOptions, overrides: Partial<VMOptions>): VMOptions {
  const next = { ...current, ...overrides };
  if (overrides.kernel !== undefined && overrides.multiboot === undefined) delete next.multiboot;
  if (overrides.multiboot !== undefined && overrides.kernel === undefined) { delete next.kernel; delete next.initrd; }
  return next;
}
