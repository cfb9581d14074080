// struct virtio_blk_config (virtio 1.2 §5.2.4), little-endian, 96 bytes.

export const BLK_CONFIG_SIZE = 96;

export const BlkConfigOffset = {
  capacity: 0,
  sizeMax: 8,
  segMax: 12,
  geometryCylinders: 16,
  geometryHeads: 18,
  geometrySectors: 19,
  blkSize: 20,
  physicalBlockExp: 24,
  alignmentOffset: 25,
  minIoSize: 26,
  optIoSize: 28,
  writeback: 32,
  numQueues: 34,
  maxDiscardSectors: 36,
  maxDiscardSeg: 40,
  discardSectorAlignment: 44,
  maxWriteZeroesSectors: 48,
  maxWriteZeroesSeg: 52,
  writeZeroesMayUnmap: 56,
  maxSecureEraseSectors: 60,
  maxSecureEraseSeg: 64,
  secureEraseSectorAlignment: 68,
  zoned: 72,
} as const;

export interface BlkConfigValues {
  capacity: number;
  segMax: number;
  blkSize: number;
  physicalBlockExp: number;
  minIoSize: number;
  optIoSize: number;
  numQueues: number;
  maxDiscardSectors: number;
  maxDiscardSeg: number;
  discardSectorAlignment: number;
}

/** Fields of features that are not offered stay zero, as do the padding bytes (§5.2.5). */
export function encodeBlkConfig(v: BlkConfigValues): Uint8Array {
  const bytes = new Uint8Array(BLK_CONFIG_SIZE);
  const dv = new DataView(bytes.buffer);
  const o = BlkConfigOffset;
  dv.setUint32(o.capacity, v.capacity % 2 ** 32, true);
  dv.setUint32(o.capacity + 4, Math.floor(v.capacity / 2 ** 32), true);
  dv.setUint32(o.segMax, v.segMax, true);
  dv.setUint32(o.blkSize, v.blkSize, true);
  dv.setUint8(o.physicalBlockExp, v.physicalBlockExp);
  dv.setUint16(o.minIoSize, v.minIoSize, true);
  dv.setUint32(o.optIoSize, v.optIoSize, true);
  dv.setUint16(o.numQueues, v.numQueues, true);
  dv.setUint32(o.maxDiscardSectors, v.maxDiscardSectors, true);
  dv.setUint32(o.maxDiscardSeg, v.maxDiscardSeg, true);
  dv.setUint32(o.discardSectorAlignment, v.discardSectorAlignment, true);
  return bytes;
}
