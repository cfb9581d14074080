import { describe, expect, it } from 'vitest';
import { buildDiskStack } from '../../src/storage/stack.ts';
import { MemoryBlockDevice } from '../../src/storage/backends/memory.ts';
import { MemoryMetadataStore } from '../../src/storage/cow/metadata-store.ts';
import { SECTOR_SIZE } from '../../src/storage/block-device.ts';
import type { LayerStats } from '../../src/storage/stats.ts';
import { TestDisk, firstDifference, sectors } from './fakes.ts';

function layers(s: LayerStats): string[] {
  return [s.layer, ...s.lower.flatMap(layers)];
}

describe('buildDiskStack', () => {
  it('stacks policy → cache → COW overlay → backend and reports every layer', async () => {
    const base = MemoryBlockDevice.fromImage(sectors(1024, 1), { name: 'base', readOnly: true });
    const overlay = new TestDisk(1024, { name: 'overlay' });
    const stack = await buildDiskStack({ base, overlay: { device: overlay, metadata: new MemoryMetadataStore() }, cacheBytes: 64 * 1024, log: () => {} });
    expect(stack.top.readOnly).toBe(false);
    expect(layers(stack.stats())).toEqual(['policy', 'cache', 'cow', 'overlay', 'base']);
    expect(stack.policy?.policyStats().active).toBe(false);
    await stack.top.writev(10, [sectors(4, 2)]);
    await stack.top.flush();
    expect(firstDifference(overlay.durable.subarray(10 * SECTOR_SIZE, 14 * SECTOR_SIZE), sectors(4, 2))).toBeNull();
    const s = stack.stats();
    expect(s.write.ops).toBe(1);
    expect(s.lower[0]!.extra).toHaveProperty('cache.hits');
    await stack.close();
  });

  it('leaves out the cache and policy when asked, and stays read-only without an overlay', async () => {
    const base = MemoryBlockDevice.create(64, { name: 'ro', readOnly: true });
    const stack = await buildDiskStack({ base, cacheBytes: 0 });
    expect(stack.top).toBe(base);
    expect(stack.top.readOnly).toBe(true);
    await expect(stack.top.writev(0, [new Uint8Array(512)])).rejects.toMatchObject({ code: 'read-only' });
    await stack.close();
  });
});
