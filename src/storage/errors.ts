// Storage failures are typed values with a message a person can act on. Every
// layer rejects with StorageError only, so callers (virtio-blk, IDE, the UI)
// can map `code` to their own status without parsing strings.

export type StorageErrorCode =
  | 'out-of-range' // request beyond the disk's capacity
  | 'misaligned' // byte count not a whole number of sectors
  | 'read-only' // write/discard on a read-only disk
  | 'quota-exceeded' // the browser/host refused to store more bytes
  | 'not-found' // image URL / file / database does not exist
  | 'range-unsupported' // HTTP server ignores Range requests
  | 'network' // fetch failed after all retries
  | 'locked' // another tab/worker holds the exclusive handle
  | 'mismatch' // persisted state does not match the disk being opened
  | 'corrupt' // persisted state failed its integrity check
  | 'closed' // device already closed
  | 'io'; // any other backend failure

export class StorageError extends Error {
  constructor(
    readonly code: StorageErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'StorageError';
  }
}

export function isStorageError(e: unknown, code?: StorageErrorCode): e is StorageError {
  return e instanceof StorageError && (code === undefined || e.code === code);
}

function errorName(e: unknown): string {
  return typeof e === 'object' && e !== null && 'name' in e ? String((e as { name: unknown }).name) : '';
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Translates a host exception (DOMException from IndexedDB/OPFS, Node errno
 * errors) into a StorageError. `what` says which operation failed, e.g.
 * "writing 64 KiB to IndexedDB disk 'hda'".
 */
export function toStorageError(e: unknown, what: string): StorageError {
  if (e instanceof StorageError) return e;
  const name = errorName(e);
  const code = typeof e === 'object' && e !== null && 'code' in e ? String((e as { code: unknown }).code) : '';
  if (name === 'QuotaExceededError' || code === 'ENOSPC' || code === 'EDQUOT') return quotaExceeded(what, errorMessage(e), e);
  if (name === 'NoModificationAllowedError' || (name === 'InvalidStateError' && /lock|access handle/i.test(errorMessage(e)))) {
    return new StorageError(
      'locked',
      `Could not get exclusive access while ${what}: another tab or worker has this disk open. Close it and retry. (${errorMessage(e)})`,
      { cause: e },
    );
  }
  if (name === 'NotFoundError' || code === 'ENOENT') {
    return new StorageError('not-found', `Not found while ${what}. (${errorMessage(e)})`, { cause: e });
  }
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
    return new StorageError('read-only', `Permission denied while ${what}. (${errorMessage(e)})`, { cause: e });
  }
  return new StorageError('io', `I/O error while ${what}: ${errorMessage(e)}`, { cause: e });
}

/** The one wording for a full browser origin / host disk, whichever backend noticed. */
export function quotaExceeded(what: string, detail: string, cause?: unknown): StorageError {
  return new StorageError(
    'quota-exceeded',
    `Storage quota exceeded while ${what}. Free space (delete old disks or site data) or use a smaller disk; ` +
      `data flushed before this point is safe.${detail ? ` (${detail})` : ''}`,
    { cause },
  );
}

/** "4 KiB", "1.5 MiB": sizes in messages people read. */
export function formatBytes(n: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} bytes` : `${Number.isInteger(v) ? v : v.toFixed(1)} ${units[i]}`;
}
