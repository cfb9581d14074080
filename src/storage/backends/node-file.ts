// Host files for the Node CLI (fs/promises). Data goes straight between the
// caller's segments and the file; flush() is fsync. Node-only: browser code
// must not import this module.

import { open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { toStorageError } from '../errors.ts';
import type { RandomAccessFile } from '../random-access-file.ts';
import { SlotRecordStore } from '../cow/slot-record-store.ts';
import type { MetadataStore } from '../cow/metadata-store.ts';
import { FileBlockDevice, type FileDiskOptions } from './file.ts';
import { SECTOR_SIZE } from '../block-device.ts';

export interface NodeFileOptions {
  readOnly?: boolean;
  /** Create the file if missing. */
  create?: boolean;
}

export async function openNodeFile(path: string, options: NodeFileOptions = {}): Promise<RandomAccessFile> {
  const what = (op: string) => `${op} ${path}`;
  let fh: FileHandle;
  let created = false;
  try {
    if (options.readOnly) fh = await open(path, 'r');
    else {
      try {
        fh = await open(path, 'r+');
      } catch (e) {
        if (!options.create || (e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
        fh = await open(path, 'wx+');
        created = true;
      }
    }
  } catch (e) {
    throw toStorageError(e, what('opening'));
  }
  // A new file's directory entry must be durable too, or a crash can lose the whole file.
  if (created) await syncDirectory(dirname(path)).catch(() => {});
  const guard = async <T>(op: string, run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (e) {
      throw toStorageError(e, what(op));
    }
  };
  return {
    name: path,
    read: (at, dst) =>
      guard('reading', async () => {
        let done = 0;
        while (done < dst.length) {
          const { bytesRead } = await fh.read(dst, done, dst.length - done, at + done);
          if (bytesRead === 0) break;
          done += bytesRead;
        }
        return done;
      }),
    write: (at, src) =>
      guard('writing', async () => {
        let done = 0;
        while (done < src.length) {
          const { bytesWritten } = await fh.write(src, done, src.length - done, at + done);
          done += bytesWritten;
        }
      }),
    flush: () => guard('fsync of', () => fh.sync()),
    size: () => guard('stat of', async () => (await fh.stat()).size),
    truncate: (size) => guard('truncating', () => fh.truncate(size)),
    close: () => guard('closing', () => fh.close()),
  };
}

async function syncDirectory(dir: string): Promise<void> {
  const d = await open(dir, 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}

/**
 * A disk in a host file. With `create` and `capacity`, a missing file is
 * created and sized (sparse) to the capacity.
 */
export async function openFileDisk(path: string, options: NodeFileOptions & FileDiskOptions = {}): Promise<FileBlockDevice> {
  const file = await openNodeFile(path, options);
  try {
    if (options.create && options.capacity !== undefined && (await file.size()) < options.capacity * SECTOR_SIZE) {
      await file.truncate(options.capacity * SECTOR_SIZE);
    }
    return await FileBlockDevice.open(file, { ...options, kind: 'file' });
  } catch (e) {
    await file.close();
    throw e;
  }
}

/** Atomic metadata next to a host file: `<path>.meta-a` / `<path>.meta-b`. */
export async function openFileMetadata(path: string): Promise<MetadataStore> {
  const a = await openNodeFile(`${path}.meta-a`, { create: true });
  const b = await openNodeFile(`${path}.meta-b`, { create: true }).catch(async (e) => {
    await a.close();
    throw e;
  });
  return new SlotRecordStore([a, b]);
}
