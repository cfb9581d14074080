// A disk held in one ArrayBuffer: tests, scratch disks, and the base of
// benchmarks. Flush is trivially durable for the lifetime of the process.

import { SECTOR_SIZE } from '../block-device.ts';
import { BlockLayer } from '../layer.ts';
import { StorageError, formatBytes } from '../errors.ts';
import type { Clock } from '../stats.ts';

export interface MemoryDiskOptions {
  name?: string;
  readOnly?: boolean;
  clock?: Clock;
}

export class MemoryBlockDevice extends BlockLayer {
  private readonly bytes: Uint8Array;

  /** A zero-filled disk of `capacity` sectors. */
  static create(capacity: number, options: MemoryDiskOptions = {}): MemoryBlockDevice {
    const size = capacity * SECTOR_SIZE;
    if (!Number.isSafeInteger(size) || size > 2 ** 32) {
      throw new StorageError('io', `a memory disk of ${formatBytes(size)} is too large; use OPFS, IndexedDB or a file`);
    }
    return new MemoryBlockDevice(new Uint8Array(size), options);
  }

  /** A disk over an existing image; the bytes are used in place, not copied. */
  static fromImage(image: Uint8Array, options: MemoryDiskOptions = {}): MemoryBlockDevice {
    if (image.length % SECTOR_SIZE !== 0) {
      throw new StorageError(
        'misaligned',
        `image of ${image.length} bytes is not a whole number of ${SECTOR_SIZE}-byte sectors; pad it (truncate -s) first`,
      );
    }
    return new MemoryBlockDevice(image, options);
  }

  private constructor(bytes: Uint8Array, options: MemoryDiskOptions) {
    super(options.name ?? 'memory', bytes.length / SECTOR_SIZE, options.readOnly ?? false, options.clock);
    this.bytes = bytes;
  }

  /** The disk's bytes (a live view, for tests and export). */
  get image(): Uint8Array {
    return this.bytes;
  }

  protected async doReadv(sector: number, segments: readonly Uint8Array[]): Promise<void> {
    let pos = sector * SECTOR_SIZE;
    for (const s of segments) {
      s.set(this.bytes.subarray(pos, pos + s.length));
      pos += s.length;
    }
  }

  protected async doWritev(sector: number, segments: readonly Uint8Array[]): Promise<void> {
    let pos = sector * SECTOR_SIZE;
    for (const s of segments) {
      this.bytes.set(s, pos);
      pos += s.length;
    }
  }

  protected async doFlush(): Promise<void> {}

  protected async doDiscard(sector: number, count: number): Promise<void> {
    this.bytes.fill(0, sector * SECTOR_SIZE, (sector + count) * SECTOR_SIZE);
  }
}
