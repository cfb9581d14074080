// The page's end of exporting and discarding a disk (the worker's is
// src/machine/worker/disk-tools.ts): the exported stream collected into a
// Blob, and the worker's refusals and storage failures as VMErrors.
import type { DiskOptions } from '../vm/types.ts';
import { VMErrorException, vmError } from '../vm/errors.ts';
import { diskErrorKind, storageErrorParts } from './disk-request.ts';

/**
 * Collects an exported image into a Blob. Pieces are folded into the Blob
 * every `foldBytes`, so they move into the browser's blob storage (which can
 * spill to disk) instead of piling up on the page's heap.
 */
export async function streamToBlob(stream: ReadableStream<Uint8Array>, type = 'application/octet-stream', foldBytes = 16 << 20): Promise<Blob> {
  const reader = stream.getReader();
  let blob = new Blob([], { type });
  let pending: BlobPart[] = [];
  let pendingBytes = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    pending.push(value as Uint8Array<ArrayBuffer>);
    pendingBytes += value.length;
    if (pendingBytes >= foldBytes) {
      blob = new Blob([blob, ...pending], { type });
      pending = [];
      pendingBytes = 0;
    }
  }
  return pending.length ? new Blob([blob, ...pending], { type }) : blob;
}

/** What failed, for the start of the message: the worker's own messages say why and what to do. */
const FAILED = { download: 'The disk image could not be downloaded', discard: 'The disk changes could not be discarded' };

export function diskToolError(e: unknown, action: keyof typeof FAILED, disk: DiskOptions): VMErrorException {
  if (e instanceof VMErrorException) return e;
  const storage = storageErrorParts(e);
  if (storage) return vmError(diskErrorKind(storage.code, disk.kind), `${FAILED[action]}: ${storage.message}`);
  return vmError('config', `${FAILED[action]}: ${e instanceof Error ? e.message : String(e)}`);
}
