// Assembles the standard disk: policy → LRU cache → COW overlay → backend.
// Every layer is optional except the base; the machine hands `top` to its
// disk controller (virtio-blk, IDE) and `stats()` to the UI.

import type { BlockDevice } from './block-device.ts';
import { CachedBlockDevice } from './cache/block-cache.ts';
import { CowOverlay } from './cow/overlay.ts';
import type { MetadataStore } from './cow/metadata-store.ts';
import { JournalAwarePolicy } from './journal/policy.ts';
import type { LayerStats } from './stats.ts';

export interface DiskStackOptions {
  base: BlockDevice;
  /** Makes a read-only base writable; changes persist in `device` + `metadata`. */
  overlay?: { device: BlockDevice; metadata: MetadataStore; chunkSize?: number; baseId?: string };
  /** Cache budget in bytes; 0 leaves the cache out. Default 32 MiB. */
  cacheBytes?: number;
  cacheBlockSize?: number;
  /** Journal-aware policy; default on (only meaningful with a cache). */
  journalPolicy?: boolean;
  log?: (message: string) => void;
}

export interface DiskStack {
  top: BlockDevice;
  /** The image at the bottom (read-only under an overlay). */
  base: BlockDevice;
  policy: JournalAwarePolicy | null;
  cache: CachedBlockDevice | null;
  cow: CowOverlay | null;
  stats(): LayerStats;
  /** Flushes, then closes every layer. */
  close(): Promise<void>;
}

export async function buildDiskStack(options: DiskStackOptions): Promise<DiskStack> {
  let top: BlockDevice = options.base;
  const cow = options.overlay
    ? await CowOverlay.open(options.base, options.overlay.device, options.overlay.metadata, {
        chunkSize: options.overlay.chunkSize,
        baseId: options.overlay.baseId,
      })
    : null;
  if (cow) top = cow;
  const cacheBytes = options.cacheBytes ?? 32 << 20;
  const cache = cacheBytes > 0 ? new CachedBlockDevice(top, { budgetBytes: cacheBytes, blockSize: options.cacheBlockSize }) : null;
  if (cache) top = cache;
  const policy =
    cache && options.journalPolicy !== false ? await JournalAwarePolicy.attach(top, { cache, log: options.log }) : null;
  if (policy) top = policy;
  const finalTop = top;
  return {
    top: finalTop,
    base: options.base,
    policy,
    cache,
    cow,
    stats: () => finalTop.stats(),
    async close() {
      if (!finalTop.readOnly) await finalTop.flush();
      await finalTop.close();
    },
  };
}
