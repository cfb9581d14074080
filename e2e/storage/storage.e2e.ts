// The storage stack in a real Chromium: IndexedDB and OPFS backends under the
// COW overlay, cache and policy, inside a dedicated Worker.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { baseImage } from './sector-pattern.ts';
import { chromiumAvailable, launchChromium, watchPage } from '../support/browser.ts';
import { serveRepo, type ServedRepo } from '../support/server.ts';
import { STORAGE_PAGE, callWorker, openStoragePage } from './harness.ts';

let site: ServedRepo;
let browser: Browser;
let images: Server;
let imagesOrigin: string;

/** A cross-origin image server, as a CDN would be: byte ranges + CORS exposing Content-Range. */
function startImageServer(): Promise<void> {
  const image = baseImage(2048);
  images = createServer((req, res) => {
    const cors = {
      'Access-Control-Allow-Origin': '*',
      'Access-Control-Allow-Headers': 'Range',
      'Access-Control-Expose-Headers': 'Content-Range',
    };
    if (req.method === 'OPTIONS') return void res.writeHead(204, cors).end();
    if (req.url === '/missing.img') return void res.writeHead(404, cors).end();
    if (req.url === '/norange.img') return void res.writeHead(200, cors).end(Buffer.from(image));
    const m = /bytes=(\d+)-(\d+)/.exec(req.headers.range ?? '');
    if (!m) return void res.writeHead(200, cors).end(Buffer.from(image));
    const start = Number(m[1]);
    const end = Math.min(Number(m[2]), image.length - 1);
    res.writeHead(206, { ...cors, 'Content-Range': `bytes ${start}-${end}/${image.length}` });
    res.end(Buffer.from(image.subarray(start, end + 1)));
  });
  return new Promise((resolve) =>
    images.listen(0, '127.0.0.1', () => {
      imagesOrigin = `http://127.0.0.1:${(images.address() as AddressInfo).port}`;
      resolve();
    }),
  );
}

beforeAll(async () => {
  if (!chromiumAvailable()) throw new Error('Chromium not found at /usr/bin/chromium (set TS86_CHROMIUM)');
  site = await serveRepo();
  browser = await launchChromium();
  await startImageServer();
});

afterAll(async () => {
  await browser?.close();
  await site?.close();
  await new Promise((r) => images?.close(r));
});

async function freshPage(): Promise<{ page: Page; problems: string[] }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  const problems = watchPage(page);
  await openStoragePage(page, site.url(STORAGE_PAGE));
  return { page, problems };
}

describe('storage stack in Chromium', () => {
  for (const backend of ['idb', 'opfs'] as const) {
    it(`${backend}: writes through policy, cache and COW overlay, flushes, reopens and reads back`, async () => {
      const { page, problems } = await freshPage();
      const spec = { backend, name: `roundtrip-${backend}`, sectors: 4096, cacheBytes: 64 * 1024, journalPolicy: true };
      await callWorker(page, 'destroy', spec);
      const result = await callWorker(page, 'roundTrip', spec);
      expect(result.mismatches, problems.join('\n')).toEqual([]);
      expect(result.directViewOk).toBe(true);
      // The flush reached the backend: the cache wrote back and the backend flushed.
      const find = (s: typeof result.stats, prefix: string): typeof result.stats | undefined =>
        s.layer.startsWith(prefix) ? s : s.lower.map((l) => find(l, prefix)).find(Boolean);
      const backendStats = find(result.stats, backend === 'idb' ? 'idb:' : 'opfs:')!;
      expect(backendStats.flush.ops).toBeGreaterThan(0);
      expect(backendStats.write.bytes).toBeGreaterThan(0);
      await callWorker(page, 'destroy', spec);
      await page.context().close();
    });
  }

  it('http: a cross-origin base image is read lazily by range under an IndexedDB overlay', async () => {
    const { page, problems } = await freshPage();
    const r = await callWorker(page, 'httpOverlay', `${imagesOrigin}/disk.img`, 'http-overlay');
    expect(r.before, problems.join('\n')).toEqual([0, 0, 0, 0, 0]);
    expect(r.after).toEqual([0, 0, 5, 0, 6]);
    expect(r.progress?.totalBytes).toBe(2048 * 512);
    // Lazy: five sampled sectors in 64 KiB chunks fetch far less than the 1 MiB image.
    expect(r.progress!.fetchedBytes).toBeLessThan(512 * 1024);
    await page.context().close();
  });

  it('http: a missing image and a server without Range support give clear errors in the browser', async () => {
    const { page } = await freshPage();
    expect(await callWorker(page, 'httpOpenError', `${imagesOrigin}/missing.img`)).toMatchObject({ code: 'not-found', message: expect.stringMatching(/was not found \(HTTP 404\)/) });
    expect(await callWorker(page, 'httpOpenError', `${imagesOrigin}/norange.img`)).toMatchObject({ code: 'range-unsupported', message: expect.stringMatching(/ignored the Range header/) });
    await page.context().close();
  });

  for (const backend of ['idb', 'opfs'] as const) {
    it(`${backend}: a full origin quota gives a clear quota-exceeded error`, async () => {
      const { page } = await freshPage();
      const cdp = await page.context().newCDPSession(page);
      await cdp.send('Storage.overrideQuotaForOrigin', { origin: site.origin, quotaSize: 3 * 1024 * 1024 });
      const result = await callWorker(page, 'fillUntilQuota', backend, `quota-${backend}`, 64 * 1024 * 1024);
      expect(result.code, result.message).toBe('quota-exceeded');
      expect(result.message).toMatch(/Storage quota exceeded while .*; data flushed before this point is safe/);
      expect(result.writtenBytes).toBeLessThan(8 * 1024 * 1024);
      await cdp.send('Storage.overrideQuotaForOrigin', { origin: site.origin });
      await page.context().close();
    });
  }
});
