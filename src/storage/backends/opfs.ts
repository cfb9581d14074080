// Origin Private File System through FileSystemSyncAccessHandle. Sync handles
// exist only in dedicated Workers, which is where the machine runs. Reads and
// writes pass the caller's view straight to the handle (AllowSharedBufferSource),
// so a guest-RAM view from DmaSpace.view() is filled with no copy; flush()
// is handle.flush(), which makes the data durable.

import { StorageError, quotaExceeded, toStorageError } from '../errors.ts';
import type { RandomAccessFile } from '../random-access-file.ts';
import { SlotRecordStore } from '../cow/slot-record-store.ts';
import type { MetadataStore } from '../cow/metadata-store.ts';
import { FileBlockDevice, type FileDiskOptions } from './file.ts';

export interface OpfsOpenOptions {
  create?: boolean;
  /** How long to wait for a handle still held by a closing worker (e.g. a crashed page). Default 5000 ms. */
  lockWaitMs?: number;
}

function opfsAvailable(): boolean {
  return typeof navigator !== 'undefined' && !!navigator.storage?.getDirectory && typeof FileSystemFileHandle !== 'undefined';
}

async function resolveFile(path: string, create: boolean): Promise<FileSystemFileHandle> {
  const parts = path.split('/').filter((p) => p.length > 0);
  if (parts.length === 0) throw new StorageError('not-found', `empty OPFS path`);
  let dir = await navigator.storage.getDirectory();
  for (const p of parts.slice(0, -1)) dir = await dir.getDirectoryHandle(p, { create });
  return dir.getFileHandle(parts[parts.length - 1]!, { create });
}

export async function openOpfsFile(path: string, options: OpfsOpenOptions = {}): Promise<RandomAccessFile> {
  if (!opfsAvailable()) {
    throw new StorageError('not-found', `OPFS is not available here; it needs a browser with the Origin Private File System`);
  }
  const what = `opening OPFS file '${path}'`;
  let fileHandle: FileSystemFileHandle;
  try {
    fileHandle = await resolveFile(path, options.create ?? false);
  } catch (e) {
    throw toStorageError(e, what);
  }
  if (typeof fileHandle.createSyncAccessHandle !== 'function') {
    throw new StorageError('not-found', `OPFS sync access handles are only available in a dedicated Worker; open '${path}' from the machine's worker`);
  }
  const handle = await withLockRetry(() => fileHandle.createSyncAccessHandle(), options.lockWaitMs ?? 5000, what);
  return syncHandleFile(path, handle);
}

/** A previous owner (a worker being torn down after its page died) may still hold the exclusive handle for a moment. */
async function withLockRetry<T>(open: () => Promise<T>, waitMs: number, what: string): Promise<T> {
  const deadline = Date.now() + waitMs;
  for (let delay = 10; ; delay = Math.min(delay * 2, 250)) {
    try {
      return await open();
    } catch (e) {
      const err = toStorageError(e, what);
      if (err.code !== 'locked' || Date.now() + delay > deadline) throw err;
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

function syncHandleFile(name: string, handle: FileSystemSyncAccessHandle): RandomAccessFile {
  const guard = <T>(what: string, run: () => T): T => {
    try {
      return run();
    } catch (e) {
      throw toStorageError(e, `${what} OPFS file '${name}'`);
    }
  };
  return {
    name,
    async read(at, dst) {
      return guard('reading', () => handle.read(dst, { at }));
    },
    async write(at, src) {
      const n = guard('writing', () => handle.write(src, { at }));
      // A short write is how a sync handle reports a full origin.
      if (n !== src.length) throw quotaExceeded(`writing OPFS file '${name}'`, `the file accepted ${n} of ${src.length} bytes`);
    },
    async flush() {
      guard('flushing', () => handle.flush());
    },
    async size() {
      return guard('sizing', () => handle.getSize());
    },
    async truncate(size) {
      guard('truncating', () => handle.truncate(size));
    },
    async close() {
      handle.close();
    },
  };
}

/** A disk in an OPFS file. With `create`, a missing file is created (sparse: it grows as written). */
export async function openOpfsDisk(path: string, options: FileDiskOptions & OpfsOpenOptions = {}): Promise<FileBlockDevice> {
  const file = await openOpfsFile(path, options);
  try {
    return await FileBlockDevice.open(file, { ...options, kind: 'opfs' });
  } catch (e) {
    await file.close();
    throw e;
  }
}

/** Atomic metadata (a COW dirty map) next to an OPFS disk: `<path>.meta-a` / `<path>.meta-b`. */
export async function openOpfsMetadata(path: string): Promise<MetadataStore> {
  const [pathA, pathB] = metadataPaths(path);
  const a = await openOpfsFile(pathA, { create: true });
  const b = await openOpfsFile(pathB, { create: true }).catch(async (e) => {
    await a.close();
    throw e;
  });
  return new SlotRecordStore([a, b]);
}

function metadataPaths(path: string): [string, string] {
  return [`${path}.meta-a`, `${path}.meta-b`];
}

/**
 * Deletes an OPFS disk and the metadata openOpfsMetadata() keeps next to it,
 * without reading either (so a damaged one goes too). Missing files are no
 * error; open handles are ('locked').
 */
export async function removeOpfsDisk(path: string): Promise<void> {
  for (const p of [path, ...metadataPaths(path)]) await removeOpfsFile(p);
}

/** Deletes an OPFS file (no error if missing). Its handles must be closed. */
export async function removeOpfsFile(path: string): Promise<void> {
  const parts = path.split('/').filter((p) => p.length > 0);
  let dir = await navigator.storage.getDirectory();
  try {
    for (const p of parts.slice(0, -1)) dir = await dir.getDirectoryHandle(p);
    await dir.removeEntry(parts[parts.length - 1]!);
  } catch (e) {
    if ((e as { name?: string }).name !== 'NotFoundError') throw toStorageError(e, `deleting OPFS file '${path}'`);
  }
}
