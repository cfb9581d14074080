// The disk's activity as the status bar shows it, read from the storage
// stack's own counters (src/storage/stats.ts): what the guest moved, how much
// of a URL image has been fetched, the cache's hit rate, and what is written
// but not yet flushed.
import type { DiskStack } from '../../storage/index.ts';
import type { DiskActivity } from './protocol.ts';

interface HttpExtra {
  http?: { fetchedBytes?: number; totalBytes?: number };
}

export function diskActivity(disk: DiskStack): DiskActivity {
  const top = disk.stats();
  const http = (disk.base.stats().extra as HttpExtra | undefined)?.http;
  const cache = disk.cache?.cacheStats();
  return {
    readBytes: top.read.bytes,
    writtenBytes: top.write.bytes,
    fetchedBytes: http?.fetchedBytes ?? null,
    imageBytes: http?.totalBytes ?? null,
    cacheHitRate: cache?.hitRate ?? null,
    dirtyBytes: cache?.dirtyBytes ?? 0,
  };
}
