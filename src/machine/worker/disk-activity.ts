// The disk's activity as the status bar shows it, read from the storage
// stack's own counters (src/storage/stats.ts): what the guest moved, how much
// of a URL image has been fetched, the cache's hit rate, and what is written
// but not yet stored (held by a layer until the next flush).
import type { DiskStack, LayerStats } from '../../storage/index.ts';
import type { DiskActivity } from './protocol.ts';

interface Extra {
  http?: { fetchedBytes?: number; totalBytes?: number };
  cache?: { dirtyBytes?: number };
  idb?: { stagedBytes?: number };
}

/** Bytes held in memory by any layer until the next flush: the cache's dirty blocks and IndexedDB's staged chunks. */
function unflushedBytes(layer: LayerStats): number {
  const extra = layer.extra as Extra | undefined;
  const own = (extra?.cache?.dirtyBytes ?? 0) + (extra?.idb?.stagedBytes ?? 0);
  return layer.lower.reduce((n, l) => n + unflushedBytes(l), own);
}

export function diskActivity(disk: DiskStack): DiskActivity {
  const top = disk.stats();
  const http = (disk.base.stats().extra as Extra | undefined)?.http;
  const cache = disk.cache?.cacheStats();
  return {
    readBytes: top.read.bytes,
    writtenBytes: top.write.bytes,
    fetchedBytes: http?.fetchedBytes ?? null,
    imageBytes: http?.totalBytes ?? null,
    cacheHitRate: cache?.hitRate ?? null,
    dirtyBytes: unflushedBytes(top),
  };
}
