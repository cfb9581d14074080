// Opens the full ts86 disk stack inside the Worker for a test disk:
// policy → LRU cache → COW overlay (IndexedDB or OPFS) → deterministic base.

import {
  IdbChunkDevice,
  MemoryBlockDevice,
  MemoryMetadataStore,
  buildDiskStack,
  openOpfsDisk,
  openOpfsMetadata,
  removeOpfsFile,
  type BlockDevice,
  type DiskStack,
  type MetadataStore,
} from '../../src/storage/index.ts';
import { baseImage } from './sector-pattern.ts';

export type Backend = 'idb' | 'opfs' | 'memory';

export interface DiskSpec {
  backend: Backend;
  /** Names the IndexedDB database / OPFS file. */
  name: string;
  sectors: number;
  cacheBytes: number;
  /** COW chunk size; default 64 KiB. */
  chunkSize?: number;
  journalPolicy?: boolean;
}

const bases = new Map<number, Uint8Array>();

export async function openOverlay(spec: DiskSpec): Promise<{ device: BlockDevice; metadata: MetadataStore }> {
  switch (spec.backend) {
    case 'idb': {
      const device = await IdbChunkDevice.open({ name: spec.name, capacity: spec.sectors, chunkSize: spec.chunkSize ?? 64 * 1024 });
      return { device, metadata: device.metadataStore('cow-map') };
    }
    case 'opfs':
      return {
        device: await openOpfsDisk(`ts86-test/${spec.name}.overlay`, { create: true, capacity: spec.sectors }),
        metadata: await openOpfsMetadata(`ts86-test/${spec.name}.overlay`),
      };
    case 'memory':
      return { device: MemoryBlockDevice.create(spec.sectors), metadata: new MemoryMetadataStore() };
  }
}

export async function openDisk(spec: DiskSpec): Promise<DiskStack> {
  let image = bases.get(spec.sectors);
  if (!image) bases.set(spec.sectors, (image = baseImage(spec.sectors)));
  const base = MemoryBlockDevice.fromImage(image, { name: 'base', readOnly: true });
  const overlay = await openOverlay(spec);
  return buildDiskStack({
    base,
    overlay: { ...overlay, chunkSize: spec.chunkSize, baseId: `pattern-${spec.sectors}` },
    cacheBytes: spec.cacheBytes,
    journalPolicy: spec.journalPolicy ?? false,
    log: () => {},
  });
}

export async function destroyDisk(spec: DiskSpec): Promise<void> {
  if (spec.backend === 'idb') await IdbChunkDevice.destroy(spec.name);
  if (spec.backend === 'opfs') {
    for (const suffix of ['', '.meta-a', '.meta-b']) await removeOpfsFile(`ts86-test/${spec.name}.overlay${suffix}`);
  }
}
