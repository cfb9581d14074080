// Issue #6's page part in Chromium: the disk picker and disk= parameter.
// Our bare-metal virtio-blk driver (guest/disk.asm) runs as a multiboot
// kernel against
//   - a raw image served with Range support (disk=URL): read lazily, the
//     guest's write lands in the IndexedDB overlay, and a reload of the page
//     boots the same disk with that write still there;
//   - a blank persistent disk (disk=blank:GiB:name);
//   - an image file picked in the settings form: read lazily from the file,
//     the guest's write lands in an OPFS overlay keyed by the file's name,
//     size and date, so picking the same file after a reload resumes it and
//     another file does not see it;
// and the error paths show readable messages: a 404 image, a server without
// Range support, a picked file that is not whole sectors, a picked file
// changed on disk before the boot read it.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, watchPage } from '../support/browser.ts';
import { serveRepo, type ServedRepo } from '../support/server.ts';
import { serveDisks } from './serve-disks.ts';
import { testKernels, serveGuests, consoleText, waitForConsole, waitForMessage, screenshot } from '../page/support-page.ts';
import { buildKernel } from '../../tests/guest/build-kernel.ts';
import { REPO_ROOT } from '../support/server.ts';
import { join } from 'node:path';

const SECTORS = 2048; // 1 MiB
let server: ServedRepo;
let browser: Browser;
let kernels: Record<string, Uint8Array>;
let image: Uint8Array;
const ranges: string[] = [];
let tmp: string;

function makeImage(): Uint8Array {
  const img = new Uint8Array(SECTORS * 512);
  img.set(new TextEncoder().encode('ts86 e2e disk image, sector 0'));
  return img;
}

async function open(path: string): Promise<{ page: Page; problems: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  const page = await context.newPage();
  page.on('close', () => { void context.close().catch(() => {}); });
  const problems = watchPage(page);
  await serveGuests(page, kernels);
  await serveDisks(page, () => image, ranges);
  await page.goto(server.url(path));
  return { page, problems };
}

const run = Math.random().toString(36).slice(2, 8);

describe('the disk picker in Chromium', () => {
  beforeAll(async () => {
    kernels = { ...testKernels(), 'disk.elf': new Uint8Array(readFileSync(buildKernel(join(REPO_ROOT, 'e2e', 'disk', 'guest', 'disk.asm')))) };
    image = makeImage();
    [server, browser] = await Promise.all([serveRepo(), launchChromium()]);
    tmp = mkdtempSync(join(tmpdir(), 'ts86-disk-e2e-'));
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('boots with disk=URL: lazy Range reads, the write persists in IndexedDB across a reload of the page', async () => {
    const { page, problems } = await open(`/?multiboot=/test-guests/disk.elf&disk=/test-disks/disk-${run}.img`);
    await waitForConsole(page, /disk test done/);
    const first = await consoleText(page);
    expect(first).toContain('capacity: 0000000000000800');
    expect(first).toContain('sector0: ts86 e2e disk image, sector 0');
    expect(first).toMatch(/sector1 before: *\n/);
    expect(first).toContain('sector1 after: written by the ts86 disk guest');
    expect(await waitForMessage(page, 'powered-off')).toMatch(/status 33/);
    expect(ranges.length).toBeGreaterThan(0);
    expect(ranges.every((r) => /^bytes=\d+-\d+$/.test(r))).toBe(true);
    // The overlay is flushed when the guest exits, before the machine reports stopped; the same URL on a new page load resumes the same disk.
    await page.waitForSelector('#status [data-field="state"][data-state="stopped"]');
    // The status bar reports the disk: the guest's three one-sector reads and one write, and what was fetched of the 1 MiB image.
    const diskField = await page.waitForFunction(() => document.querySelector('#status [data-field="disk"]')?.textContent || null);
    expect(await diskField.jsonValue()).toMatch(/^Disk 1\.5 KiB read · 512 B written · \d+\.\d KiB of 1\.0 MiB fetched · cache \d+% hits$/);
    await page.reload();
    await waitForConsole(page, /disk test done/);
    expect(await consoleText(page)).toContain('sector1 before: written by the ts86 disk guest');
    expect(problems).toEqual([]);
    await page.close();
  });

  it('boots with a blank persistent disk (disk=blank:1:name)', async () => {
    const { page, problems } = await open(`/?multiboot=/test-guests/disk.elf&disk=blank:1:e2e-${run}`);
    await waitForConsole(page, /disk test done/);
    const text = await consoleText(page);
    expect(text).toContain('capacity: 0000000000200000');
    expect(text).toMatch(/sector0: *\n/);
    expect(text).toContain('sector1 after: written by the ts86 disk guest');
    expect(problems).toEqual([]);
    await page.close();
  });

  it('shows readable errors for a missing image and a server without Range support', async () => {
    const { page } = await open('/?multiboot=/test-guests/disk.elf&disk=/test-disks/missing.img');
    const missing = await waitForMessage(page, 'download');
    expect(missing).toMatch(/^The disk could not be opened: disk image http:\/\/[^ ]+\/test-disks\/missing\.img was not found \(HTTP 404\)/);
    await page.goto(server.url('/?multiboot=/test-guests/disk.elf&disk=/test-disks/norange.img'));
    const noRange = await waitForMessage(page, 'download');
    expect(noRange).toMatch(/does not support HTTP Range requests/);
    await page.close();
  });

  it('takes an image file from the picker; a file that is not whole sectors is refused with a message', async () => {
    const { page, problems } = await open('/?multiboot=/test-guests/hello.elf&autostart=0');
    await page.click('.boot-settings summary');
    await page.click('#disk-kind-url');
    await page.fill('#disk-url', 'https://example.org/disk.img');
    await screenshot(page, 'disk-picker-url.png');
    await page.click('#disk-kind-file');
    await page.setInputFiles('#disk-file', { name: 'odd.img', mimeType: 'application/octet-stream', buffer: Buffer.alloc(1000) });
    expect(await page.textContent('.disk-problem')).toMatch(/odd\.img is 1000 bytes, not a whole number of 512-byte sectors/);
    await screenshot(page, 'disk-picker-file-problem.png');
    await page.setInputFiles('#multiboot-file', { name: 'disk.elf', mimeType: 'application/octet-stream', buffer: Buffer.from(kernels['disk.elf']!) });
    await page.click('.settings button[type="submit"]');
    expect(await waitForMessage(page, 'config')).toMatch(/odd\.img is 1000 bytes, not a whole number of 512-byte sectors/);

    const img = makeImage();
    img.set(new TextEncoder().encode('picked file'), 0);
    await page.setInputFiles('#disk-file', { name: 'picked.img', mimeType: 'application/octet-stream', buffer: Buffer.from(img.subarray(0, 64 * 512)) });
    expect(await page.textContent('.disk-problem')).toBe('');
    await page.click('.settings button[type="submit"]');
    await waitForConsole(page, /disk test done/);
    const text = await consoleText(page);
    expect(text).toContain('capacity: 0000000000000040');
    expect(text).toContain('sector0: picked file');
    expect(problems).toEqual([]);
    await page.close();
  });

  it('keeps a picked file\'s guest writes in OPFS: the same file after a reload resumes them, another file does not', async () => {
    const img = makeImage().subarray(0, 64 * 512);
    img.set(new TextEncoder().encode('picked file'), 0);
    // Real files on disk (not buffers), as a person picks them: a File backed by the file, with its own date.
    const picked = join(tmp, 'picked.img');
    writeFileSync(picked, img);
    utimesSync(picked, new Date('2024-01-02T03:04:05Z'), new Date('2024-01-02T03:04:05Z'));
    mkdirSync(join(tmp, 'other'));
    const other = join(tmp, 'other', 'picked.img');
    writeFileSync(other, img);
    utimesSync(other, new Date('2024-05-06T07:08:09Z'), new Date('2024-05-06T07:08:09Z'));

    const { page, problems } = await open('/?multiboot=/test-guests/hello.elf&autostart=0');
    const bootWith = async (path: string): Promise<string> => {
      await page.click('.boot-settings summary');
      await page.click('#disk-kind-file');
      await page.setInputFiles('#disk-file', path);
      await page.setInputFiles('#multiboot-file', { name: 'disk.elf', mimeType: 'application/octet-stream', buffer: Buffer.from(kernels['disk.elf']!) });
      await page.click('.settings button[type="submit"]');
      await waitForConsole(page, /disk test done/);
      // The overlay is flushed when the guest exits, before the machine reports stopped.
      await page.waitForSelector('#status [data-field="state"][data-state="stopped"]');
      return consoleText(page);
    };

    const first = await bootWith(picked);
    expect(first).toContain('capacity: 0000000000000040');
    expect(first).toContain('sector0: picked file');
    expect(first).toMatch(/sector1 before: *\n/);
    expect(first).toContain('sector1 after: written by the ts86 disk guest');
    const opfs = await page.evaluate(async () => {
      const dir = await (await navigator.storage.getDirectory()).getDirectoryHandle('ts86-files');
      const names: string[] = [];
      for await (const name of (dir as unknown as { keys(): AsyncIterable<string> }).keys()) names.push(name);
      return names.sort();
    });
    expect(opfs).toHaveLength(3);
    expect(opfs[0]).toMatch(/^picked\.img%3A32768%3A1704164645000\.[0-9a-f]{8}\.overlay$/);
    expect(opfs.slice(1)).toEqual([`${opfs[0]}.meta-a`, `${opfs[0]}.meta-b`]);
    expect(readFileSync(picked)).toEqual(Buffer.from(img)); // the picked file itself is never written

    await page.reload();
    expect(await bootWith(picked)).toContain('sector1 before: written by the ts86 disk guest');

    await page.reload();
    const another = await bootWith(other); // same name and size, another date: another disk
    expect(another).toMatch(/sector1 before: *\n/);

    // A file changed on disk after it was picked can no longer be read: the boot says to pick it again.
    await page.reload();
    await page.click('.boot-settings summary');
    await page.click('#disk-kind-file');
    await page.setInputFiles('#disk-file', picked);
    await page.setInputFiles('#multiboot-file', { name: 'disk.elf', mimeType: 'application/octet-stream', buffer: Buffer.from(kernels['disk.elf']!) });
    writeFileSync(picked, img.map((b) => b ^ 1));
    await page.click('.settings button[type="submit"]');
    expect(await waitForMessage(page, 'config')).toMatch(
      /^The disk could not be opened: The disk image file picked\.img can no longer be read: it was changed, moved or deleted after it was picked\. Pick the file again\./,
    );
    expect(problems).toEqual([]);
    await page.close();
  });
});
