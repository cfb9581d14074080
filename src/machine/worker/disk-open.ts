// Opens the disk a boot request asks for as a storage stack (src/storage):
// a URL image under a persistent IndexedDB copy-on-write overlay, a blank
// persistent IndexedDB disk, or a picked file read lazily under a persistent
// overlay (OPFS, else IndexedDB) keyed by the file's identity. Failures are
// StorageErrors (name 'StorageError', which survives comlink) whose messages
// say what to do.
import {
  BlobBlockDevice,
  HttpBlockDevice,
  IdbChunkDevice,
  MemoryBlockDevice,
  MemoryMetadataStore,
  SECTOR_SIZE,
  StorageError,
  buildDiskStack,
  isStorageError,
  openOpfsDisk,
  openOpfsMetadata,
  type BlockDevice,
  type DiskStack,
  type MetadataStore,
} from '../../storage/index.ts';
import { crc32 } from '../../storage/crc32.ts';
import { DISCARD_CHANGES_LABEL, type DiskRequest } from './protocol.ts';

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

/**
 * The identity a picked file's overlay is stored under: its name, size and
 * modification time, which together say "the same file, unchanged" across
 * page loads (a File cannot be reopened by path). A plain Blob has no such
 * identity, so it gets null: its changes live in memory only.
 */
export function fileIdentity(file: Blob): string | null {
  const f = file as Partial<File>;
  if (typeof f.name !== 'string' || typeof f.lastModified !== 'number') return null;
  return `file:${f.name}:${file.size}:${f.lastModified}`;
}

/**
 * The OPFS path of a picked file's overlay: readable, yet one short path
 * component whatever the file name holds ('/', '..', thousands of characters);
 * the checksum separates long names that share a prefix, and the overlay's
 * stored base identity catches what it cannot.
 */
export function opfsFileOverlayPath(identity: string): string {
  const f = identity.slice('file:'.length);
  const sum = crc32(new TextEncoder().encode(identity)).toString(16).padStart(8, '0');
  return `ts86-files/${encodeURIComponent(f).slice(0, 120)}.${sum}.overlay`;
}

/** OPFS sync access handles exist only in dedicated workers, and getDirectory() fails in some private modes. */
export async function opfsUsable(): Promise<boolean> {
  if (typeof FileSystemSyncAccessHandle === 'undefined' || typeof navigator === 'undefined' || !navigator.storage?.getDirectory) return false;
  try {
    await navigator.storage.getDirectory();
    return true;
  } catch {
    return false;
  }
}

interface Overlay {
  device: BlockDevice;
  metadata: MetadataStore;
}

/**
 * Where a picked file's changes go: OPFS (sparse file, fastest), else
 * IndexedDB, else (Node, or a Blob without identity) memory. The choice
 * depends only on the host, so each page load finds the overlay the last one
 * wrote.
 */
async function openFileOverlay(identity: string | null, capacity: number, opened: { close(): Promise<void> }[]): Promise<Overlay> {
  if (identity !== null && (await opfsUsable())) {
    const path = opfsFileOverlayPath(identity);
    const device = await openOpfsDisk(path, { create: true, capacity });
    opened.push(device);
    const metadata = await openOpfsMetadata(path);
    opened.push(metadata);
    return { device, metadata };
  }
  if (identity !== null && typeof indexedDB !== 'undefined') {
    const device = await IdbChunkDevice.open({ name: overlayName(identity), capacity });
    opened.push(device);
    return { device, metadata: device.metadataStore('cow-map') };
  }
  const device = MemoryBlockDevice.create(capacity, { name: 'memory-overlay' });
  opened.push(device);
  return { device, metadata: new MemoryMetadataStore() };
}

/** A short human description of the disk, for messages. */
export function describeDisk(d: DiskRequest): string {
  switch (d.kind) {
    case 'url': return `the disk image ${d.url}`;
    case 'blank': return `the blank disk "${d.name}"`;
    case 'file': return `the disk image file ${d.name}`;
  }
}

/** The storage layer's own advice ("reset the overlay") names an API call; the page has a button instead. */
function withoutAdvice(message: string): string {
  return message.replace(/;\s*(?:reset|open it with)[^;]*$/, '');
}

export function explainDiskError(e: unknown, d: DiskRequest): StorageError {
  const what = describeDisk(d);
  const discard = `press "${DISCARD_CHANGES_LABEL}" (under Boot images, disk and command line) to delete`;
  if (isStorageError(e)) {
    switch (e.code) {
      case 'corrupt':
        return new StorageError('corrupt', d.kind === 'blank'
          ? `The data of ${what} kept in this browser is damaged, so it is not used (${withoutAdvice(e.message)}). To start again with an empty disk, ${discard} it.`
          : `The changes kept in this browser for ${what} are damaged, so they are not used (${withoutAdvice(e.message)}). ` +
            `To boot the original image again, ${discard} them.`, { cause: e });
      case 'mismatch':
        return new StorageError('mismatch', d.kind === 'blank'
          ? `${what[0]!.toUpperCase()}${what.slice(1)} kept in this browser was created with another size (${withoutAdvice(e.message)}). ` +
            `Boot it with that size, or ${discard} it.`
          : `The changes kept in this browser for ${what} were made to a different image: it changed since (${withoutAdvice(e.message)}). ` +
            `Boot the image they belong to, or ${discard} them.`, { cause: e });
      case 'quota-exceeded':
        return new StorageError('quota-exceeded',
          `The browser refused to store more data for ${what} (storage quota exceeded). Free space by deleting disks of this site ` +
          `(site settings → storage), or use a smaller disk.`, { cause: e }); // the storage layer's wording repeats this advice
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
  const opened: { close(): Promise<void> }[] = [];
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
        const base = BlobBlockDevice.open(d.file, { name: d.name });
        opened.push(base);
        // A file changed or deleted since it was picked fails here, with "pick it again", instead of as guest I/O errors.
        await base.readv(0, [new Uint8Array(SECTOR_SIZE)]);
        const identity = fileIdentity(d.file);
        const overlay = await openFileOverlay(identity, base.capacity, opened);
        return await buildDiskStack({
          base,
          overlay: { ...overlay, baseId: identity ?? base.name },
          cacheBytes,
          log: () => {},
        });
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
