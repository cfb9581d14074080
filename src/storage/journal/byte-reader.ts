// Byte-granular reads on top of a sector device, for on-disk metadata parsers.

import { SECTOR_SIZE, type BlockDevice } from '../block-device.ts';
import { StorageError } from '../errors.ts';

export type ByteReader = (offset: number, length: number) => Promise<Uint8Array>;

export function deviceByteReader(dev: BlockDevice): ByteReader {
  return async (offset, length) => {
    const end = offset + length;
    if (!Number.isSafeInteger(offset) || offset < 0 || length < 0 || end > dev.capacity * SECTOR_SIZE) {
      throw new StorageError('out-of-range', `metadata read of ${length} bytes at byte ${offset} is outside ${dev.name}`);
    }
    const first = Math.floor(offset / SECTOR_SIZE);
    const last = Math.ceil(end / SECTOR_SIZE);
    const buf = new Uint8Array((last - first) * SECTOR_SIZE);
    await dev.readv(first, [buf]);
    return buf.subarray(offset - first * SECTOR_SIZE, offset - first * SECTOR_SIZE + length);
  };
}

export function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
