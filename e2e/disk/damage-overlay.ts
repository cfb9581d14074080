// Damages a URL disk's overlay as a crash or a bug might: one byte of its
// dirty-chunk map ('cow-map' in the overlay's IndexedDB database) flipped,
// so its checksum no longer matches.
import type { Page } from 'playwright-core';

/** `diskUrl` is the absolute URL the page booted the disk from. */
export async function damageCowMap(page: Page, diskUrl: string): Promise<void> {
  await page.evaluate(async (dbName) => {
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const r = indexedDB.open(dbName);
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error);
    });
    await new Promise<void>((resolve, reject) => {
      const tx = db.transaction('chunks', 'readwrite');
      const store = tx.objectStore('chunks');
      const get = store.get('cow-map');
      get.onsuccess = () => {
        if (!get.result) return tx.abort(); // nothing to damage: the test's premise is wrong
        const bytes = new Uint8Array(get.result as Uint8Array);
        bytes[bytes.length >> 1] ^= 0xff;
        store.put(bytes, 'cow-map');
      };
      tx.oncomplete = () => resolve();
      tx.onabort = () => reject(new Error(`${dbName} has no cow-map record`));
      tx.onerror = () => reject(tx.error);
    });
    db.close();
  }, `ts86-disk:overlay:${diskUrl}`);
}
