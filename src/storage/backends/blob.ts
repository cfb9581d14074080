// A read-only disk over a Blob or File, such as an image picked in the page.
// Nothing is read up front: each request slices the Blob, so a multi-GiB image
// costs no memory and the browser reads the bytes from the user's disk on
// demand. Make it writable with a copy-on-write overlay (buildDiskStack).
//
// A picked File is a snapshot: once the file on disk is changed, moved or
// deleted, browsers refuse to read it (NotReadableError / NotFoundError). That
// becomes a 'not-found' StorageError asking the user to pick the file again,
// rather than a generic I/O error the guest would retry forever.
//
// Reads are async (Blob.arrayBuffer). FileReaderSync, which dedicated workers
// have, measured only 5-15% faster per read in Chromium (4 KiB-1 MiB reads of
// a picked file) while blocking the worker, and so the guest CPU, for the
// whole read; async lets the machine run on while the browser reads.

import { SECTOR_SIZE } from '../block-device.ts';
import { StorageError, formatBytes, toStorageError } from '../errors.ts';
import { BlockLayer } from '../layer.ts';
import { scatter } from '../segments.ts';
import type { Clock } from '../stats.ts';

export interface BlobDiskOptions {
  /** For messages and stats; default the File's name, else "blob". */
  name?: string;
  clock?: Clock;
}

export class BlobBlockDevice extends BlockLayer {
  readonly blob: Blob;
  private readonly fileName: string;

  static open(blob: Blob, options: BlobDiskOptions = {}): BlobBlockDevice {
    const name = options.name ?? ((blob as Partial<File>).name || 'blob');
    if (blob.size % SECTOR_SIZE !== 0) {
      throw new StorageError(
        'misaligned',
        `${name} is ${blob.size} bytes, not a whole number of ${SECTOR_SIZE}-byte sectors; pad it (truncate -s ${Math.ceil(blob.size / SECTOR_SIZE) * SECTOR_SIZE}) first`,
      );
    }
    return new BlobBlockDevice(blob, name, options);
  }

  private constructor(blob: Blob, name: string, options: BlobDiskOptions) {
    super(`blob:${name}`, blob.size / SECTOR_SIZE, true, options.clock);
    this.blob = blob;
    this.fileName = name;
  }

  protected async doReadv(sector: number, segments: readonly Uint8Array[], bytes: number): Promise<void> {
    if (bytes === 0) return;
    const start = sector * SECTOR_SIZE;
    const piece = this.blob.slice(start, start + bytes);
    let data: ArrayBuffer;
    try {
      data = await piece.arrayBuffer();
    } catch (e) {
      throw this.readFailure(e, start, bytes);
    }
    if (data.byteLength !== bytes) throw this.readFailure(null, start, bytes, `got ${data.byteLength} of ${bytes} bytes`);
    // One slice per request, scattered: far fewer browser reads than one per segment.
    scatter(new Uint8Array(data), segments);
  }

  private readFailure(e: unknown, start: number, bytes: number, detail?: string): StorageError {
    const name = typeof e === 'object' && e !== null && 'name' in e ? String((e as { name: unknown }).name) : '';
    if (e === null || name === 'NotReadableError' || name === 'NotFoundError') {
      const why = detail ?? (e instanceof Error ? e.message : String(e));
      return new StorageError(
        'not-found',
        `The disk image file ${this.fileName} can no longer be read: it was changed, moved or deleted after it was picked. ` +
          `Pick the file again. (${why})`,
        { cause: e ?? undefined },
      );
    }
    return toStorageError(e, `reading ${formatBytes(bytes)} at byte ${start} of the disk image file ${this.fileName}`);
  }

  protected async doWritev(): Promise<void> {
    throw new StorageError('read-only', `${this.name} is read-only`);
  }
  protected async doFlush(): Promise<void> {}
  protected async doDiscard(): Promise<void> {
    throw new StorageError('read-only', `${this.name} is read-only`);
  }

  override toString(): string {
    return `${this.name} (${formatBytes(this.blob.size)})`;
  }
}
