// A disk stored in one file (OPFS or a host file), through RandomAccessFile.
// Reads and writes go straight between the caller's segments and the file:
// with OPFS this is the zero-copy path from guest RAM views.
// A file shorter than the disk reads as zeros past its end (sparse overlays
// grow only as they are written, which keeps browser quota usage honest).

import { SECTOR_SIZE, type WriteOptions } from '../block-device.ts';
import { StorageError, formatBytes } from '../errors.ts';
import { BlockLayer } from '../layer.ts';
import type { RandomAccessFile } from '../random-access-file.ts';
import type { Clock } from '../stats.ts';

export interface FileDiskOptions {
  /** Disk size in sectors; default: the file's size (which must then be a whole number of sectors). */
  capacity?: number;
  readOnly?: boolean;
  /** Layer name prefix, e.g. "opfs" or "file". */
  kind?: string;
  clock?: Clock;
}

export class FileBlockDevice extends BlockLayer {
  static async open(file: RandomAccessFile, options: FileDiskOptions = {}): Promise<FileBlockDevice> {
    let capacity = options.capacity;
    if (capacity === undefined) {
      const size = await file.size();
      if (size % SECTOR_SIZE !== 0) {
        throw new StorageError(
          'misaligned',
          `${file.name} is ${size} bytes, not a whole number of ${SECTOR_SIZE}-byte sectors; pad it (truncate -s ${Math.ceil(size / SECTOR_SIZE) * SECTOR_SIZE}) first`,
        );
      }
      capacity = size / SECTOR_SIZE;
    }
    return new FileBlockDevice(file, capacity, options);
  }

  private constructor(
    private readonly file: RandomAccessFile,
    capacity: number,
    options: FileDiskOptions,
  ) {
    super(`${options.kind ?? 'file'}:${file.name}`, capacity, options.readOnly ?? false, options.clock);
  }

  protected async doReadv(sector: number, segments: readonly Uint8Array[]): Promise<void> {
    let pos = sector * SECTOR_SIZE;
    for (const s of segments) {
      const n = await this.file.read(pos, s);
      if (n < s.length) s.fill(0, n); // past the end of a sparse file
      pos += s.length;
    }
  }

  protected async doWritev(sector: number, segments: readonly Uint8Array[], _bytes: number, options: WriteOptions): Promise<void> {
    let pos = sector * SECTOR_SIZE;
    for (const s of segments) {
      await this.file.write(pos, s);
      pos += s.length;
    }
    if (options.fua) await this.file.flush();
  }

  protected async doFlush(): Promise<void> {
    if (!this.readOnly) await this.file.flush();
  }

  /** Files have no portable hole punching; discard is advisory, so contents simply stay. */
  protected async doDiscard(): Promise<void> {}

  protected override async doClose(): Promise<void> {
    await this.file.close();
  }

  /** Bytes the file occupies (for quota displays). */
  async fileSize(): Promise<number> {
    return this.file.size();
  }

  override toString(): string {
    return `${this.name} (${formatBytes(this.capacity * SECTOR_SIZE)})`;
  }
}
