// What the page can do with a disk besides booting it: export it as a raw
// image (streamed, one piece in memory at a time) and delete the changes
// this browser keeps for it. Deleting removes the stored data without
// opening it, so a damaged overlay can always be discarded.
import { IdbChunkDevice, StorageError, readPieces, removeOpfsDisk, type BlockDevice } from '../../storage/index.ts';
import { toStorageError } from '../../storage/errors.ts';
import { blankName, describeDisk, explainDiskError, fileIdentity, forThePage, opfsFileOverlayPath, opfsUsable, overlayName } from './disk-open.ts';
import type { DiskRequest } from './protocol.ts';

const PIECE_BYTES = 1 << 20;

/** What identifies a disk's stored data, so two requests for it (a boot's and a tool's) can be matched. */
function diskKey(d: DiskRequest): string {
  switch (d.kind) {
    case 'url': return overlayName(d.url);
    case 'blank': return blankName(d.name);
    // Without a name and date its changes are in memory only, so name and size are the best match there is.
    case 'file': return fileIdentity(d.file) ?? `blob:${d.name}:${d.file.size}`;
  }
}

export function sameDisk(a: DiskRequest, b: DiskRequest): boolean {
  return diskKey(a) === diskKey(b);
}

/** Deletes the changes kept for `d` (for a blank disk: the disk), wherever this host keeps them. */
export async function deleteStoredDisk(d: DiskRequest): Promise<void> {
  const what = `deleting the stored data of ${describeDisk(d)}`;
  try {
    switch (d.kind) {
      case 'url': return await deleteIdb(overlayName(d.url));
      case 'blank': return await deleteIdb(blankName(d.name));
      case 'file': {
        const identity = fileIdentity(d.file);
        if (identity === null) return; // a Blob's changes live in its machine's memory only
        // openFileOverlay picks OPFS or IndexedDB by what the host offers; clear both in case that changed.
        if (await opfsUsable()) await removeOpfsDisk(opfsFileOverlayPath(identity));
        await deleteIdb(overlayName(identity));
        return;
      }
    }
  } catch (e) {
    throw explainDiskError(toStorageError(e, what), d);
  }
}

async function deleteIdb(name: string): Promise<void> {
  if (typeof indexedDB === 'undefined') return; // nothing can have been stored in it here
  await IdbChunkDevice.destroy(name);
}

interface Export {
  disk: DiskRequest;
  /** Errors the stream (if still open) and resolves once its disk is released. */
  fail(reason: Error): Promise<void>;
}

/**
 * The exports in progress. Each reads its disk piece by piece as the page
 * pulls, so something that would change the disk meanwhile (the machine
 * resuming, a reset, a shutdown, a discard) fails the exports of that disk
 * first: a torn image must not look like a finished one.
 */
export class DiskExports {
  private readonly active = new Set<Export>();

  /** A stream of `device`'s contents; `release` runs once when it ends, fails or is cancelled. */
  stream(disk: DiskRequest, device: BlockDevice, release: () => Promise<void> = async () => {}): ReadableStream<Uint8Array> {
    const pieces = readPieces(device, PIECE_BYTES);
    let failed: Error | null = null;
    let controller!: ReadableStreamDefaultController<Uint8Array>;
    let released: Promise<void> | null = null;
    const finish = (): Promise<void> => {
      if (!released) {
        this.active.delete(entry);
        // return() waits for a read in flight, so the disk is never closed under it.
        released = pieces.return(undefined).then(() => release(), () => release()).catch(() => {});
      }
      return released;
    };
    const entry: Export = {
      disk,
      fail: (reason) => {
        failed ??= reason;
        try { controller.error(forThePage(reason)); } catch { /* already closed */ }
        return finish();
      },
    };
    this.active.add(entry);
    return new ReadableStream<Uint8Array>({
      start: (c) => { controller = c; },
      pull: async (c) => {
        try {
          if (failed) return;
          const next = await pieces.next();
          if (failed) return; // the piece may have been read while the disk changed
          if (next.done) {
            c.close();
            await finish();
          } else {
            c.enqueue(next.value);
          }
        } catch (e) {
          await entry.fail(explainDiskError(e, disk));
        }
      },
      cancel: () => finish(),
    }, { highWaterMark: 1 });
  }

  /** Fails the exports of disks `which` picks with `reason`, and waits until they let go of their disks. */
  async fail(which: (d: DiskRequest) => boolean, reason: Error): Promise<void> {
    await Promise.all([...this.active].filter((x) => which(x.disk)).map((x) => x.fail(reason)));
  }
}

export function exportInterrupted(d: DiskRequest, why: string): StorageError {
  return new StorageError('io', `The download of ${describeDisk(d)} stopped because ${why}; the image would not be consistent. Download it again.`);
}
