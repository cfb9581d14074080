// Shared by the storage e2e tests and bench/disk.ts: serve the repo, open the
// storage test page in Chromium and call the worker's API.

import type { Page } from 'playwright-core';
import type { StorageWorkerApi } from './storage-worker.ts';

export const STORAGE_PAGE = 'e2e/storage/index.html';

type Api = StorageWorkerApi;

/** Calls a worker method through the page's comlink proxy. */
export async function callWorker<K extends keyof Api>(page: Page, method: K, ...args: Parameters<Api[K]>): Promise<Awaited<ReturnType<Api[K]>>> {
  return page.evaluate(
    ({ method, args }) => (window.ts86Storage as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[method]!(...args),
    { method: method as string, args: args as unknown[] },
  ) as Promise<Awaited<ReturnType<Api[K]>>>;
}

export async function openStoragePage(page: Page, url: string): Promise<void> {
  await page.goto(url);
  await page.waitForFunction(() => window.ts86Ready === true);
}
