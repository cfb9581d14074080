// Issue #6's bad-input cases with a running guest, in Chromium: our
// bare-metal writer (guest/disk-writer.asm) writes 64 KiB chunks, flushing
// after each and printing "flushed N" only once the FLUSH completed.
//   - The origin's storage quota runs out under it: the VM pauses with a
//     message saying so; after space is freed, Resume retries the held
//     request and the guest finishes. Closing the page while paused instead
//     loses nothing the guest saw flushed.
//   - The HTTP base image disappears mid-run (404): the VM pauses with a
//     message; once the image is back, Resume continues.
//   - A damaged overlay (its dirty-chunk map) is refused at boot with a clear
//     message, not used.
// Afterwards the same disk is booted with the guest in verify mode, which
// prints one letter per chunk: W = its pattern, . = never written, X = torn.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page, Route } from 'playwright-core';
import { launchChromium, watchPage } from '../support/browser.ts';
import { serveRepo, REPO_ROOT, type ServedRepo } from '../support/server.ts';
import { serveGuests, consoleText, waitForConsole, waitForMessage } from '../page/support-page.ts';
import { buildKernel } from '../../tests/guest/build-kernel.ts';
import { damageCowMap } from '../disk/damage-overlay.ts';

const CHUNKS = 48; // as in disk-writer.asm
const WRITER = '/test-guests/disk-writer.elf';
const IMAGE_BYTES = 4 << 20;
let server: ServedRepo;
let browser: Browser;
let kernel: Uint8Array;
const run = Math.random().toString(36).slice(2, 8);

async function newPage(context: BrowserContext): Promise<{ page: Page; problems: string[] }> {
  const page = await context.newPage();
  const problems = watchPage(page);
  await serveGuests(page, { 'disk-writer.elf': kernel });
  return { page, problems };
}

function flushedCount(text: string): number {
  return (text.match(/^flushed [0-9A-F]{8}\r?$/gm) ?? []).length;
}

async function state(page: Page): Promise<string | null> {
  return page.getAttribute('#status [data-field="state"]', 'data-state');
}

/** Boots the disk with the writer in verify mode; returns its letter per chunk. */
async function verify(page: Page, disk: string): Promise<string> {
  await page.goto(server.url(`/?multiboot=${WRITER}&append=verify&disk=${encodeURIComponent(disk)}`));
  const text = await waitForConsole(page, /verify done/);
  return /chunks: ([W.X]+)/.exec(text)![1]!;
}

/** The origin's storage quota (null: the browser's own). The override lasts as long as the page's CDP session, so it is kept open. */
async function setQuota(page: Page, bytes: number | null): Promise<void> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Storage.overrideQuotaForOrigin', { origin: server.origin, ...(bytes === null ? {} : { quotaSize: bytes }) });
}

describe('disk failures under a running guest, in Chromium', () => {
  beforeAll(async () => {
    kernel = new Uint8Array(readFileSync(buildKernel(join(REPO_ROOT, 'e2e', 'disk-errors', 'guest', 'disk-writer.asm'))));
    [server, browser] = await Promise.all([serveRepo(), launchChromium()]);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('a full storage quota pauses the VM with a clear message; Resume after freeing space completes every write', async () => {
    const context = await browser.newContext();
    const { page, problems } = await newPage(context);
    const disk = `blank:1:quota-${run}`;
    await page.goto(server.url('/e2e/storage/index.html')); // same origin, so the quota applies before the VM starts
    await setQuota(page, 1 << 20);
    await page.goto(server.url(`/?multiboot=${WRITER}&disk=${encodeURIComponent(disk)}`));
    const message = await waitForMessage(page, 'disk', 60_000);
    expect(message).toMatch(/^The machine is paused because the disk failed: The browser refused to store more data for the blank disk "quota-\w+" \(storage quota exceeded\)\. Free space by deleting disks of this site/);
    expect(message).toMatch(/Writes the guest had flushed are stored\. Fix the cause and resume to retry\.$/);
    expect(await state(page)).toBe('paused');
    const flushed = flushedCount(await consoleText(page));
    expect(flushed).toBeGreaterThan(0);
    expect(flushed).toBeLessThan(CHUNKS);
    // Paused means paused: the guest makes no progress while its request is held.
    await page.waitForTimeout(1000);
    expect(flushedCount(await consoleText(page))).toBe(flushed);
    expect(await consoleText(page)).not.toMatch(/I\/O error/);

    await setQuota(page, null);
    await page.click('button[data-action="pause"]'); // it reads "Resume" now
    await waitForConsole(page, /writer done/);
    expect(flushedCount(await consoleText(page))).toBe(CHUNKS);
    expect(await waitForMessage(page, 'powered-off')).toMatch(/status 33/);
    await page.waitForSelector('#status [data-field="state"][data-state="stopped"]');

    expect(await verify(page, disk)).toBe('W'.repeat(CHUNKS));
    expect(problems.filter((p) => !/quota|QuotaExceeded/i.test(p))).toEqual([]);
    await context.close();
  });

  it('closing the page while a full quota holds the VM paused loses no chunk the guest saw flushed', async () => {
    const context = await browser.newContext();
    const { page } = await newPage(context);
    const disk = `blank:1:quota-close-${run}`;
    await page.goto(server.url('/e2e/storage/index.html'));
    await setQuota(page, 1 << 20);
    await page.goto(server.url(`/?multiboot=${WRITER}&disk=${encodeURIComponent(disk)}`));
    await waitForMessage(page, 'disk', 60_000);
    const flushed = flushedCount(await consoleText(page));
    expect(flushed).toBeGreaterThan(0);
    await page.close();

    const { page: again } = await newPage(context);
    await again.goto(server.url('/e2e/storage/index.html'));
    await setQuota(again, null);
    const chunks = await verify(again, disk);
    // Every flushed chunk is whole; the one whose flush was held may or may not have landed, and nothing is torn.
    expect(chunks).toMatch(new RegExp(`^W{${flushed}}W?\\.*$`));
    await context.close();
  });

  it('an HTTP base image that disappears mid-run pauses the VM; Resume once it is back continues', async () => {
    const context = await browser.newContext();
    const { page, problems } = await newPage(context);
    const base = new Uint8Array(IMAGE_BYTES);
    let served = 0;
    let gone = false;
    await page.route((url) => url.pathname === `/test-disks/vanishing-${run}.img`, async (route: Route) => {
      const range = (await route.request().allHeaders())['range'] ?? '';
      const m = /^bytes=(\d+)-(\d+)$/.exec(range);
      if (!m) return route.fulfill({ status: 400, body: 'range required' });
      // The size probe and two chunks are served; then the image is gone until the test brings it back.
      if (++served > 3 && served < 1e6) gone = true;
      if (gone) return route.fulfill({ status: 404, contentType: 'text/plain', body: 'not found' });
      const start = Number(m[1]), end = Math.min(Number(m[2]), IMAGE_BYTES - 1);
      return route.fulfill({
        status: 206,
        headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': `bytes ${start}-${end}/${IMAGE_BYTES}` },
        body: Buffer.from(base.subarray(start, end + 1)),
      });
    });
    const url = `/test-disks/vanishing-${run}.img`;
    await page.goto(server.url(`/?multiboot=${WRITER}&disk=${encodeURIComponent(url)}`));
    const message = await waitForMessage(page, 'disk', 60_000);
    expect(message).toMatch(/^The machine is paused because the disk failed: disk image http:\/\/127\.0\.0\.1:\d+\/test-disks\/vanishing-\w+\.img was not found \(HTTP 404\)/);
    expect(await state(page)).toBe('paused');
    const flushed = flushedCount(await consoleText(page));
    expect(flushed).toBeLessThan(CHUNKS);

    served = 1e6; // back
    gone = false;
    await page.click('button[data-action="pause"]');
    await waitForConsole(page, /writer done/);
    expect(flushedCount(await consoleText(page))).toBe(CHUNKS);
    await page.waitForSelector('#status [data-field="state"][data-state="stopped"]');
    expect(await verify(page, url)).toBe('W'.repeat(CHUNKS));
    expect(problems.filter((p) => !/404|Not Found/i.test(p))).toEqual([]);

    // A damaged dirty-chunk map: the overlay is refused with a clear message, not trusted.
    await damageCowMap(page, server.url(url));
    await page.goto(server.url(`/?multiboot=${WRITER}&append=verify&disk=${encodeURIComponent(url)}`));
    const refused = await waitForMessage(page, 'config');
    expect(refused).toMatch(/^The disk could not be opened: .*(damaged|integrity)/);
    expect(await consoleText(page)).not.toMatch(/chunks:/);
    await context.close();
  });
});
