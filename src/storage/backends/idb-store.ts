// An idb-keyval UseStore whose read-write transactions use strict durability.
// Chromium commits IndexedDB transactions with "relaxed" durability by
// default (the OS may still hold the data in its cache when `complete`
// fires); a guest flush must mean "on disk", so every write transaction here
// asks for 'strict'.

import { promisifyRequest, type UseStore } from 'idb-keyval';
import { StorageError } from '../errors.ts';

export interface DurableStore {
  readonly use: UseStore;
  readonly dbName: string;
  close(): Promise<void>;
}

export function openDurableStore(dbName: string, storeName: string): DurableStore {
  if (typeof indexedDB === 'undefined') {
    throw new StorageError('not-found', `IndexedDB is not available in this context, so disk '${dbName}' cannot be opened; use OPFS, a file or memory`);
  }
  let dbp: Promise<IDBDatabase> | undefined;
  const getDB = (): Promise<IDBDatabase> => {
    if (dbp) return dbp;
    const request = indexedDB.open(dbName);
    request.onupgradeneeded = () => request.result.createObjectStore(storeName);
    const opened = promisifyRequest(request);
    dbp = opened;
    opened.then(
      (db) => {
        db.onclose = () => (dbp = undefined);
        // Let another tab delete or upgrade the database instead of blocking it forever.
        db.onversionchange = () => {
          db.close();
          dbp = undefined;
        };
      },
      () => (dbp = undefined),
    );
    return opened;
  };
  const use: UseStore = (txMode, callback) =>
    getDB().then((db) =>
      callback(db.transaction(storeName, txMode, txMode === 'readwrite' ? { durability: 'strict' } : undefined).objectStore(storeName)),
    );
  return {
    use,
    dbName,
    async close() {
      const p = dbp;
      dbp = undefined;
      if (p) (await p.catch(() => undefined))?.close();
    },
  };
}

export async function deleteDatabase(dbName: string): Promise<void> {
  await promisifyRequest(indexedDB.deleteDatabase(dbName));
}
