// Storage stack, host-neutral entry point (browser Worker, Node, tests).
// Node-only pieces (host files) are in ./node.ts.

export { SECTOR_SIZE, read, readPieces, write, type BlockDevice, type WriteOptions } from './block-device.ts';
export { StorageError, isStorageError, type StorageErrorCode } from './errors.ts';
export { histogramQuantileMs, type LayerStats, type OpStats, type LatencyHistogram, type Clock } from './stats.ts';
export { BlockLayer } from './layer.ts';
export { MemoryBlockDevice } from './backends/memory.ts';
export { HttpBlockDevice, type HttpDiskOptions, type HttpProgress } from './backends/http.ts';
export { IdbChunkDevice, type IdbDiskOptions } from './backends/idb-chunks.ts';
export { FileBlockDevice } from './backends/file.ts';
export { BlobBlockDevice, type BlobDiskOptions } from './backends/blob.ts';
export { openOpfsDisk, openOpfsFile, openOpfsMetadata, removeOpfsDisk, removeOpfsFile } from './backends/opfs.ts';
export type { RandomAccessFile } from './random-access-file.ts';
export { CowOverlay, type CowOptions } from './cow/overlay.ts';
export { MemoryMetadataStore, type MetadataStore } from './cow/metadata-store.ts';
export { SlotRecordStore } from './cow/slot-record-store.ts';
export { CachedBlockDevice, type BlockCacheOptions, type CacheStats } from './cache/block-cache.ts';
export type { HitRateSample } from './cache/hit-rate.ts';
export { JournalAwarePolicy, type JournalPolicyOptions, type JournalPolicyStats } from './journal/policy.ts';
export { locateJournals, type JournalLocation, type JournalScan } from './journal/locate.ts';
export { buildDiskStack, type DiskStack, type DiskStackOptions } from './stack.ts';
export { TracingBlockDevice, parseDiskTrace, type DiskTraceRecord } from './trace.ts';
