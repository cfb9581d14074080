// Opens the disk a boot request asks for as a storage stack (src/storage):
// a URL image under a persistent IndexedDB copy-on-write overlay, a blank
// persistent IndexedDB disk, or a picked file in memory. Failures are
// StorageErrors (name 'StorageError', which survives comlink) whose messages
// say what to do.
import {
  HttpBlockDevice,
  IdbChunkDevice,
  MemoryBlockDevice,
  SECTOR_SIZE,
  StorageError,
  buildDiskStack,
  isStorageError,
  type BlockDevice,
  type DiskStack,
} from '../../storage/index.ts';
import type { DiskRequest } from './protocol.ts';

export interface OpenDiskOptions {
  fetch?: typeof fetch;
  /** Cache budget; default 16 MiB. */
  cacheBytes?: number;
}

/** The IndexedDB disk name (database "ts86-disk:<name>") of a URL disk's overlay. */
export function overlayName(url: string): string {
  return `overlay:${url}`;
}

export function blankName(name: string): string {
  return `blank:${name}`;
}

/** A short human description of the disk, for messages. */
export function describeDisk(d: DiskRequest): string {
  switch (d.kind) {
    case 'url': return `the disk image ${d.url}`;
    case 'blank': return `the blank disk "${d.name}"`;
    case 'file': return `the disk image file ${d.name}`;
  }
}

export function explainDiskError(e: unknown, d: DiskRequest): StorageError {
  const what = describeDisk(d);
  if (isStorageError(e)) {
    switch (e.code) {
      case 'quota-exceeded':
        return new StorageError('quota-exceeded',
          `The browser refused to store more data for ${what} (storage quota exceeded). Free space by deleting disks of this site ` +
          `(site settings → storage), or use a smaller disk. (${e.message})`, { cause: e });
      case 'range-unsupported':
        return new StorageError('range-unsupported',
          `${what} cannot be used as a disk: its server does not support HTTP Range requests, which ts86 needs to read the image piece by piece. ` +
          `Serve it from a server that does (most static servers do), or download it and pick the file instead. (${e.message})`, { cause: e });
      case 'locked':
        return new StorageError('locked', `${what} is in use by another tab of this page; close it and boot again. (${e.message})`, { cause: e });
      default:
        return e;
    }
  }
  const err = e instanceof Error ? e : new Error(String(e));
  return new StorageError('io', `Opening ${what} failed: ${err.message}`, { cause: e });
}

/** Opens the disk stack for `d`; the caller closes it. */
export async function openRequestedDisk(d: DiskRequest, options: OpenDiskOptions = {}): Promise<DiskStack> {
  const cacheBytes = options.cacheBytes ?? 16 << 20;
  const opened: BlockDevice[] = [];
  try {
    switch (d.kind) {
      case 'url': {
        const base = await HttpBlockDevice.open({ url: d.url, fetch: options.fetch });
        opened.push(base);
        const device = await IdbChunkDevice.open({ name: overlayName(d.url), capacity: base.capacity });
        opened.push(device);
        return await buildDiskStack({
          base,
          overlay: { device, metadata: device.metadataStore('cow-map'), baseId: d.url },
          cacheBytes,
          log: () => {},
        });
      }
      case 'blank': {
        if (!Number.isSafeInteger(d.sectors) || d.sectors <= 0) throw new StorageError('io', `a blank disk needs a positive size, got ${d.sectors} sectors`);
        const base = await IdbChunkDevice.open({ name: blankName(d.name), capacity: d.sectors });
        opened.push(base);
        return await buildDiskStack({ base, cacheBytes, log: () => {} });
      }
      case 'file': {
        if (d.file.size % SECTOR_SIZE !== 0) {
          throw new StorageError('misaligned',
            `The disk image file ${d.name} is ${d.file.size} bytes, not a whole number of ${SECTOR_SIZE}-byte sectors; pad it (truncate -s) first.`);
        }
        const bytes = new Uint8Array(await d.file.arrayBuffer());
        return await buildDiskStack({ base: MemoryBlockDevice.fromImage(bytes, { name: d.name }), cacheBytes: 0, journalPolicy: false });
      }
    }
  } catch (e) {
    for (const dev of opened.reverse()) await dev.close().catch(() => {});
    throw explainDiskError(e, d);
  }
}

/**
 * The error to throw to the page: comlink carries only name and message, so
 * the StorageError code goes in front of the message as "[code] " (the page
 * strips it and picks the error kind from it).
 */
export function forThePage(e: unknown): Error {
  if (!isStorageError(e)) return e instanceof Error ? e : new Error(String(e));
  const err = new Error(`[${e.code}] ${e.message}`);
  err.name = 'StorageError';
  return err;
}
