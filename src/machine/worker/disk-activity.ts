// The disk's activity as the status bar shows it, read from the storage
// stack's own counters (src/storage/stats.ts): what the guest moved, how much
// of a URL image has been fetched, the cache's hit rate, and what is written
// but not yet stored (held by a layer until the next flush).
import type { DiskStack, LayerStats } from '../../storage/index.ts';
import type { DiskActivity } from './protocol.ts';

interface Extra {
  http?: { fetchedBytes?: number; totalBytes?: number };
  cache?: { dirtyBytes?: number; hitRate?: number | null };
  idb?: { stagedBytes?: number };
}

/** Every layer's extra figures, top to bottom: one stats() walk serves all the fields. */
function extras(layer: LayerStats, out: Extra[] = []): Extra[] {
  if (layer.extra) out.push(layer.extra as Extra);
  for (const l of layer.lower) extras(l, out);
  return out;
}

export function diskActivity(disk: DiskStack): DiskActivity {
  const top = disk.stats();
  const all = extras(top);
  const http = all.find((e) => e.http)?.http;
  const cache = all.find((e) => e.cache)?.cache;
  // Held in memory until the next flush: the cache's dirty blocks and IndexedDB's staged chunks.
  const unflushed = all.reduce((n, e) => n + (e.cache?.dirtyBytes ?? 0) + (e.idb?.stagedBytes ?? 0), 0);
  return {
    readBytes: top.read.bytes,
    writtenBytes: top.write.bytes,
    fetchedBytes: http?.fetchedBytes ?? null,
    imageBytes: http?.totalBytes ?? null,
    cacheHitRate: cache?.hitRate ?? null,
    dirtyBytes: unflushed,
  };
}
