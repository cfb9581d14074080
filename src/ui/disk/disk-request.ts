// From the public DiskOptions (createVM({ disk })) to the worker's
// DiskRequest: URLs resolved against the page, sizes checked, so mistakes
// show as readable errors before a machine is built. Also parses the
// `disk=` URL parameter, describes a disk for the UI and names its download.
import type { DiskRequest } from '../../machine/worker/protocol.ts';
import type { DiskOptions } from '../vm/types.ts';
import { vmError } from '../vm/errors.ts';

export const SECTOR_BYTES = 512;
const GIB = 1024 ** 3;
/** The largest blank disk offered (sparse, but the guest may fill it). */
export const MAX_BLANK_GIB = 1024;

export function diskRequest(d: DiskOptions, base: string | URL | undefined = globalThis.location?.href): DiskRequest {
  switch (d.kind) {
    case 'url': {
      let url: URL;
      try {
        url = new URL(String(d.url), base);
      } catch {
        throw vmError('config', `"${String(d.url)}" is not a valid disk image URL.`);
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') {
        throw vmError('config', `The disk image URL ${url.href} is not http(s); ts86 reads disk images over HTTP with Range requests.`);
      }
      return { kind: 'url', url: url.href };
    }
    case 'blank': {
      const n = d.sizeGiB;
      if (typeof n !== 'number' || !Number.isFinite(n) || n <= 0 || n > MAX_BLANK_GIB) {
        throw vmError('config', `A blank disk needs a size between a fraction of a GiB and ${MAX_BLANK_GIB} GiB, not ${String(n)}.`);
      }
      const sectors = Math.floor((n * GIB) / SECTOR_BYTES);
      if (sectors < 1) throw vmError('config', `A blank disk of ${n} GiB is smaller than one sector.`);
      const name = (d.name ?? 'default').trim() || 'default';
      return { kind: 'blank', name, sectors };
    }
    case 'file': {
      const name = d.name ?? ((d.file as Partial<File>).name || 'disk.img');
      if (d.file.size === 0) throw vmError('config', `The disk image file ${name} is empty.`);
      if (d.file.size % SECTOR_BYTES !== 0) {
        throw vmError('config',
          `The disk image file ${name} is ${d.file.size} bytes, not a whole number of ${SECTOR_BYTES}-byte sectors. ` +
          'Raw disk images always are; pad it (truncate -s) or convert it to raw (qemu-img convert -O raw).');
      }
      return { kind: 'file', file: d.file, name };
    }
    default:
      throw vmError('config', `Unknown disk kind "${String((d as { kind?: unknown }).kind)}"; use 'url', 'blank' or 'file'.`);
  }
}

/**
 * The `disk=` URL parameter: a URL (relative to the page) of a raw image, or
 * `blank:N` for a blank persistent disk of N GiB (`blank:N:name` names it).
 */
export function parseDiskParam(value: string): { disk?: DiskOptions; problem?: string } {
  const v = value.trim();
  const blank = /^blank:([^:]*)(?::(.*))?$/i.exec(v);
  if (blank) {
    const n = Number(blank[1]!.replace(/G(iB)?$/i, ''));
    if (!Number.isFinite(n) || n <= 0 || n > MAX_BLANK_GIB) {
      return { problem: `The blank disk size "${blank[1]}" is not a number of GiB between 0 and ${MAX_BLANK_GIB}; booting without a disk.` };
    }
    const name = blank[2]?.trim();
    return { disk: name ? { kind: 'blank', sizeGiB: n, name } : { kind: 'blank', sizeGiB: n } };
  }
  return { disk: { kind: 'url', url: v } };
}

export function formatGiB(bytes: number): string {
  const g = bytes / GIB;
  return g >= 1 ? `${+g.toFixed(2)} GiB` : `${+(bytes / 1024 ** 2).toFixed(1)} MiB`;
}

/** One line for the UI: what the disk is. */
export function describeDiskOptions(d: DiskOptions | undefined): string {
  if (!d) return 'no disk';
  switch (d.kind) {
    case 'url': return `image ${String(d.url)} (changes kept in this browser)`;
    case 'blank': return `blank ${d.sizeGiB} GiB disk "${d.name ?? 'default'}" (kept in this browser)`;
    case 'file': {
      // The worker keeps a File's changes under its name, size and date; a plain Blob has none of those to find them by.
      const kept = typeof (d.file as Partial<File>).lastModified === 'number' ? 'changes kept in this browser' : 'changes lost when the machine is rebuilt';
      return `file ${d.name ?? ((d.file as Partial<File>).name || 'disk.img')} (${formatGiB(d.file.size)}, ${kept})`;
    }
  }
}

/** The VMError kind for a StorageError code from the worker: fetching a URL disk's image is a download, the rest config. */
export function diskErrorKind(code: string | undefined, disk?: DiskOptions['kind']): 'download' | 'config' {
  const fetching = code === 'not-found' || code === 'network' || code === 'range-unsupported';
  return fetching && disk !== 'file' && disk !== 'blank' ? 'download' : 'config';
}

/** The name a downloaded copy of the disk is saved under: the disk's own name, as a raw .img. */
export function diskImageFileName(d: DiskOptions): string {
  let name: string;
  switch (d.kind) {
    case 'url': {
      name = '';
      try {
        name = new URL(String(d.url), 'http://host/').pathname.split('/').pop() ?? '';
        name = decodeURIComponent(name);
      } catch { /* keep what there is */ }
      break;
    }
    case 'blank': name = d.name ?? 'default'; break;
    case 'file': name = d.name ?? ((d.file as Partial<File>).name || ''); break;
  }
  const base = name.replace(/\.(img|raw|bin)$/i, '').replace(/[\\/:*?"<>|\x00-\x1f]/g, '_').trim();
  return `${base || 'disk'}.img`;
}

/**
 * A StorageError from the worker: comlink keeps only name and message, and a
 * stream's error not even the name, so the code travels as a "[code] "
 * prefix of the message (disk-open.ts forThePage).
 */
export function storageErrorParts(e: unknown): { code: string; message: string } | null {
  const message = typeof e === 'object' && e !== null && typeof (e as { message?: unknown }).message === 'string' ? (e as { message: string }).message : null;
  const m = message === null ? null : /^\[([a-z-]+)\] ([\s\S]*)$/.exec(message);
  return m ? { code: m[1]!, message: m[2]! } : null;
}
