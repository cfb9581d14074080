// The one interface every storage layer and backend implements. Requests are
// asynchronous; a resolved write is visible to later reads but only durable
// after a resolved flush() (or when it was written with `fua`).

import type { LayerStats } from './stats.ts';

export const SECTOR_SIZE = 512;
export const SECTOR_SHIFT = 9;

export interface WriteOptions {
  /**
   * Force unit access: the write is durable when the promise resolves, as if
   * followed by a flush that covers only this write.
   */
  fua?: boolean;
  /**
   * 'bypass' asks caching layers not to allocate cache space for this write
   * and to pass it straight down (write-through). Set by the journal-aware
   * policy; layers without a cache ignore it.
   */
  cacheHint?: 'normal' | 'bypass';
}

export interface BlockDevice {
  /** Layer kind and name for stats and messages, e.g. "opfs:hda". */
  readonly name: string;
  /** Size in 512-byte sectors. */
  readonly capacity: number;
  readonly readOnly: boolean;
  /**
   * Reads consecutive sectors starting at `sector` into the segments, in
   * order. Segments may have any length (a DMA buffer list), but their total
   * must be a whole number of sectors. Segments may be views onto guest RAM;
   * a layer writes only inside them.
   */
  readv(sector: number, segments: readonly Uint8Array[]): Promise<void>;
  /** Writes the segments' bytes to consecutive sectors starting at `sector`. */
  writev(sector: number, segments: readonly Uint8Array[], options?: WriteOptions): Promise<void>;
  /** Resolves once every write that resolved before this call is durable. */
  flush(): Promise<void>;
  /**
   * Tells the device the range's contents are no longer needed. Later reads
   * of the range return unspecified data (old contents, zeros, or the base
   * image under an overlay).
   */
  discard(sector: number, count: number): Promise<void>;
  /** Counters for this layer and the layers below it. */
  stats(): LayerStats;
  /** Releases handles; unflushed writes are not flushed implicitly. */
  close(): Promise<void>;
}

/** Convenience for single-buffer callers. */
export function read(dev: BlockDevice, sector: number, buf: Uint8Array): Promise<void> {
  return dev.readv(sector, [buf]);
}

export function write(dev: BlockDevice, sector: number, buf: Uint8Array, options?: WriteOptions): Promise<void> {
  return dev.writev(sector, [buf], options);
}

/**
 * The device's contents in order, in pieces of about `pieceBytes` (whole
 * sectors), each read only when the consumer asks for it: a raw image of any
 * size is exported with one piece in memory at a time.
 */
export async function* readPieces(dev: BlockDevice, pieceBytes = 1 << 20): AsyncGenerator<Uint8Array> {
  const total = dev.capacity * SECTOR_SIZE;
  const step = Math.max(SECTOR_SIZE, Math.floor(pieceBytes / SECTOR_SIZE) * SECTOR_SIZE);
  for (let pos = 0; pos < total; pos += step) {
    const piece = new Uint8Array(Math.min(step, total - pos));
    await dev.readv(pos / SECTOR_SIZE, [piece]);
    yield piece;
  }
}
