// Virtio 1.2 constants used by the device side (split virtqueues, virtio-blk).

export const VIRTIO_ID_BLOCK = 2;

/** Device status bits (virtio 1.2 §2.1). */
export const STATUS_ACKNOWLEDGE = 1;
export const STATUS_DRIVER = 2;
export const STATUS_DRIVER_OK = 4;
export const STATUS_FEATURES_OK = 8;
export const STATUS_DEVICE_NEEDS_RESET = 64;
export const STATUS_FAILED = 128;

/** Reserved (transport/ring) feature bit numbers (§6). */
export const F_INDIRECT_DESC = 28;
export const F_EVENT_IDX = 29;
export const F_VERSION_1 = 32;
export const F_ACCESS_PLATFORM = 33;
export const F_RING_PACKED = 34;
export const F_IN_ORDER = 35;

/** virtio-blk feature bit numbers (§5.2.3). */
export const BLK_F_SIZE_MAX = 1;
export const BLK_F_SEG_MAX = 2;
export const BLK_F_GEOMETRY = 4;
export const BLK_F_RO = 5;
export const BLK_F_BLK_SIZE = 6;
export const BLK_F_FLUSH = 9;
export const BLK_F_TOPOLOGY = 10;
export const BLK_F_CONFIG_WCE = 11;
export const BLK_F_MQ = 12;
export const BLK_F_DISCARD = 13;
export const BLK_F_WRITE_ZEROES = 14;

/** Descriptor flags (§2.7.5). */
export const VIRTQ_DESC_F_NEXT = 1;
export const VIRTQ_DESC_F_WRITE = 2;
export const VIRTQ_DESC_F_INDIRECT = 4;
export const VIRTQ_AVAIL_F_NO_INTERRUPT = 1;
export const VIRTQ_USED_F_NO_NOTIFY = 1;

export const DESC_SIZE = 16;
export const MAX_QUEUE_SIZE = 32768;

/** virtio-blk request types (§5.2.6). */
export const BLK_T_IN = 0;
export const BLK_T_OUT = 1;
export const BLK_T_FLUSH = 4;
export const BLK_T_GET_ID = 8;
export const BLK_T_GET_LIFETIME = 10;
export const BLK_T_DISCARD = 11;
export const BLK_T_WRITE_ZEROES = 13;
export const BLK_T_SECURE_ERASE = 14;

/** virtio-blk status byte values. */
export const BLK_S_OK = 0;
export const BLK_S_IOERR = 1;
export const BLK_S_UNSUPP = 2;

export const BLK_REQ_HEADER_SIZE = 16;
export const BLK_DISCARD_SEGMENT_SIZE = 16;
export const BLK_ID_BYTES = 20;

/** 1n << bit, precomputed: feature tests sit on the per-request path. */
const FEATURE_BITS: readonly bigint[] = Array.from({ length: 64 }, (_, i) => 1n << BigInt(i));

export function featureBit(bit: number): bigint {
  return FEATURE_BITS[bit] ?? 1n << BigInt(bit);
}
