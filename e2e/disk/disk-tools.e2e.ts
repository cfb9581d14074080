// The disk picker's "Download disk image" and "Discard disk changes" in
// Chromium, with our bare-metal virtio-blk guest (guest/disk.asm, which
// writes sector 1) on a URL disk:
//   - the download is the image as the guest sees it (its write included),
//     saved as <name>.img; while the machine runs it is refused, paused it works;
//   - discarding asks first, then deletes the overlay (IndexedDB for a URL
//     disk, OPFS for a picked file): the next boot reads the original sector 1;
//   - a damaged overlay is refused at boot with a message naming the discard
//     button; discarding it from the page lets the disk boot again.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, watchPage } from '../support/browser.ts';
import { serveRepo, REPO_ROOT, type ServedRepo } from '../support/server.ts';
import { testKernels, serveGuests, consoleText, waitForConsole, waitForMessage, screenshot } from '../page/support-page.ts';
import { buildKernel } from '../../tests/guest/build-kernel.ts';
import { serveDisks } from './serve-disks.ts';
import { damageCowMap } from './damage-overlay.ts';

const SECTORS = 2048; // 1 MiB
const WRITTEN = 'written by the ts86 disk guest';
let server: ServedRepo;
let browser: Browser;
let kernels: Record<string, Uint8Array>;
let tmp: string;
const image = new Uint8Array(SECTORS * 512);
image.set(new TextEncoder().encode('ts86 disk tools image, sector 0'));
image.set(new TextEncoder().encode('the original sector 1'), 512);
const run = Math.random().toString(36).slice(2, 8);

async function open(path: string): Promise<{ page: Page; problems: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 }, acceptDownloads: true });
  const page = await context.newPage();
  page.on('close', () => { void context.close().catch(() => {}); });
  const problems = watchPage(page);
  await serveGuests(page, kernels);
  await serveDisks(page, () => image);
  await page.goto(server.url(path));
  return { page, problems };
}

/** What the last boot's guest printed (the console keeps earlier boots' output above it). */
async function lastRun(page: Page): Promise<string> {
  const text = await consoleText(page);
  return text.slice(text.lastIndexOf('capacity:'));
}

/** Boots the disk guest again with Start and waits for its report. */
async function reboot(page: Page): Promise<string> {
  const runs = (await consoleText(page)).split('disk test done').length;
  await page.click('button[data-action="start"]');
  await waitForConsole(page, new RegExp(`(disk test done[^]*){${runs}}`));
  return lastRun(page);
}

async function stopped(page: Page): Promise<void> {
  await page.waitForSelector('#status [data-field="state"][data-state="stopped"]');
}

async function status(page: Page, state: 'done' | 'error'): Promise<string> {
  const el = await page.waitForSelector(`.disk-actions-status[data-state="${state}"]`);
  return (await el.textContent()) ?? '';
}

async function discard(page: Page): Promise<string> {
  await page.click('button[data-action="discard-disk"]');
  await page.click('button[data-action="discard-disk-confirm"]');
  return status(page, 'done');
}

describe('downloading a disk and discarding its changes, in Chromium', () => {
  beforeAll(async () => {
    kernels = { ...testKernels(), 'disk.elf': new Uint8Array(readFileSync(buildKernel(join(REPO_ROOT, 'e2e', 'disk', 'guest', 'disk.asm')))) };
    [server, browser] = await Promise.all([serveRepo(), launchChromium()]);
    tmp = mkdtempSync(join(tmpdir(), 'ts86-disk-tools-e2e-'));
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('downloads the image with the guest\'s write; Discard (after a confirm) brings the original sector back', async () => {
    const name = `disk-tools-${run}`;
    const { page, problems } = await open(`/?multiboot=/test-guests/disk.elf&disk=/test-disks/${name}.img`);
    await waitForConsole(page, /disk test done/);
    expect(await lastRun(page)).toContain(`sector1 after: ${WRITTEN}`);
    await stopped(page);

    await page.click('.boot-settings summary');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('button[data-action="download-disk"]')]);
    expect(download.suggestedFilename()).toBe(`${name}.img`);
    const saved = readFileSync((await download.path())!);
    expect(saved.length).toBe(image.length);
    const expected = Buffer.from(image);
    expected.fill(0, 512, 1024);
    expected.write(WRITTEN, 512, 'latin1');
    expect(saved.equals(expected)).toBe(true);
    expect(await status(page, 'done')).toBe(`Saved ${name}.img (1.0 MiB).`);
    await screenshot(page, 'disk-tools-downloaded.png');

    // Cancelling the confirm step keeps the changes.
    await page.click('button[data-action="discard-disk"]');
    expect(await page.textContent('.disk-confirm .text')).toMatch(
      new RegExp(`^Delete the changes the guest made to /test-disks/${name}\\.img, kept in this browser\\? The disk goes back to the original image; this cannot be undone\\.`));
    await screenshot(page, 'disk-tools-confirm.png');
    await page.click('button[data-action="discard-disk-cancel"]');
    expect(await page.isHidden('.disk-confirm')).toBe(true);
    expect(await reboot(page)).toContain(`sector1 before: ${WRITTEN}`);
    await stopped(page);

    expect(await discard(page)).toBe(`Discarded the changes to /test-disks/${name}.img: the next boot starts from the original image.`);
    expect(await reboot(page)).toContain('sector1 before: the original sector 1');
    expect(problems).toEqual([]);
    await page.close();
  });

  it('refuses to download or discard while the machine runs on the disk; paused, the download works', async () => {
    const name = `disk-busy-${run}`;
    const { page, problems } = await open(`/?multiboot=/test-guests/echo.elf&disk=/test-disks/${name}.img`);
    await waitForConsole(page, /echo guest ready/);
    await page.click('.boot-settings summary');
    await page.click('button[data-action="download-disk"]');
    expect(await status(page, 'error')).toMatch(
      /^The disk image could not be downloaded: The running machine is using the disk image http:\/\/[^ ]+\.img: pause or power off the machine, then download it/);
    await page.click('button[data-action="discard-disk"]');
    await page.click('button[data-action="discard-disk-confirm"]');
    expect(await status(page, 'error')).toMatch(/^The disk changes could not be discarded: The running machine is using/);
    expect(await page.getAttribute('#status [data-field="state"]', 'data-state')).toBe('running');

    await page.click('button[data-action="pause"]');
    await page.waitForSelector('#status [data-field="state"][data-state="paused"]');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('button[data-action="download-disk"]')]);
    expect(readFileSync((await download.path())!).equals(Buffer.from(image))).toBe(true);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('discards a picked file\'s changes from OPFS; the next boot reads the file as it is', async () => {
    const picked = join(tmp, 'picked-tools.img');
    writeFileSync(picked, image.subarray(0, 64 * 512));
    const { page, problems } = await open('/?multiboot=/test-guests/hello.elf&autostart=0');
    const opfsFiles = (): Promise<string[]> => page.evaluate(async () => {
      const root = await navigator.storage.getDirectory();
      const dir = await root.getDirectoryHandle('ts86-files').catch(() => null);
      const names: string[] = [];
      if (dir) for await (const name of (dir as unknown as { keys(): AsyncIterable<string> }).keys()) names.push(name);
      return names;
    });
    await page.click('.boot-settings summary');
    await page.click('#disk-kind-file');
    await page.setInputFiles('#disk-file', picked);
    await page.setInputFiles('#multiboot-file', { name: 'disk.elf', mimeType: 'application/octet-stream', buffer: Buffer.from(kernels['disk.elf']!) });
    await page.click('.settings button[type="submit"]');
    await waitForConsole(page, /disk test done/);
    await stopped(page);
    expect(await opfsFiles()).toHaveLength(3); // the overlay and its two metadata slots

    const [download] = await Promise.all([page.waitForEvent('download'), page.click('button[data-action="download-disk"]')]);
    expect(download.suggestedFilename()).toBe('picked-tools.img');
    expect(readFileSync((await download.path())!).subarray(512, 512 + WRITTEN.length).toString('latin1')).toBe(WRITTEN);

    expect(await discard(page)).toBe('Discarded the changes to picked-tools.img: the next boot starts from the original image.');
    expect(await opfsFiles()).toEqual([]);
    expect(await reboot(page)).toContain('sector1 before: the original sector 1');
    expect(problems).toEqual([]);
    await page.close();
  });

  it('a damaged overlay is refused at boot with a message naming the button; discarding it from the page lets the disk boot', async () => {
    const path = `/test-disks/disk-damaged-${run}.img`;
    const { page, problems } = await open(`/?multiboot=/test-guests/disk.elf&disk=${path}`);
    await waitForConsole(page, /disk test done/);
    await stopped(page);
    await damageCowMap(page, server.url(path));

    await page.reload();
    expect(await waitForMessage(page, 'config')).toMatch(new RegExp(
      `^The disk could not be opened: The changes kept in this browser for the disk image http://[^ ]+${path.replace(/\./g, '\\.')} are damaged, so they are not used \\(.*\\)\\. ` +
      'To boot the original image again, press "Discard disk changes" \\(under Boot images, disk and command line\\) to delete them\\.$'));
    await page.click('.boot-settings summary');
    await page.click('button[data-action="download-disk"]');
    expect(await status(page, 'error')).toMatch(/^The disk image could not be downloaded: The changes kept in this browser for the disk image .* are damaged/);

    await discard(page);
    const text = await reboot(page);
    expect(text).toContain('sector1 before: the original sector 1');
    expect(text).toContain(`sector1 after: ${WRITTEN}`);
    expect(problems).toEqual([]);
    await page.close();
  });
});
