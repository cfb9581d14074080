// The default guest boots in the page: the main page and a <ts86-vm> on the
// docs page each reach the busybox prompt, run `echo $((6*7))` typed into
// xterm, and show 42. Screenshots go to .test-results/.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, watchPage } from '../support/browser.ts';
import { serveRepo, REPO_ROOT, type ServedRepo } from '../support/server.ts';
import { screenshot } from './support-page.ts';
import { ensureVgaFontAsset } from '../../src/ui/font/build-font-asset.ts';
import { buildImages } from '../../scripts/images/build-images.ts';

const MANIFEST = join(REPO_ROOT, 'public', 'images', 'manifest.json');
/** A cold boot in Chromium on a loaded 2-core machine: v86 takes ~30 s; allow ts86 a good deal more. */
const BOOT_MS = 420_000;

let server: ServedRepo;
let browser: Browser;

/** Text of the xterm inside `root` (its buffer, with trailing blanks trimmed). */
function terminalText(page: Page, root: string): Promise<string> {
  return page.$eval(`${root} .xterm-rows`, (el) => Array.from(el.children, (row) => (row.textContent ?? '').trimEnd()).join('\n'));
}

async function typeAndExpect(page: Page, root: string, command: string, answer: RegExp): Promise<void> {
  await page.click(`${root} .xterm`);
  await page.keyboard.type(command);
  await page.keyboard.press('Enter');
  await page.waitForFunction(({ root, source }) => {
    const rows = document.querySelector(`${root} .xterm-rows`);
    return new RegExp(source, 'm').test(Array.from(rows?.children ?? [], (r) => (r.textContent ?? '').trimEnd()).join('\n'));
  }, { root, source: answer.source }, { timeout: 60_000 });
}

describe('the default guest boots in the browser', () => {
  beforeAll(async () => {
    buildImages({ log: () => {} });
    ensureVgaFontAsset();
    [server, browser] = await Promise.all([serveRepo(), launchChromium()]);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('boots on the main page; echo $((6*7)) typed into xterm prints 42', async () => {
    const prompt = (JSON.parse(readFileSync(MANIFEST, 'utf8')) as { prompt: string }).prompt;
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const problems = watchPage(page);
    await page.goto(server.url('/'));
    // main.ts records the VM's `booted` event (the manifest's prompt on COM1) on <body>.
    await page.waitForSelector('body[data-booted]', { timeout: BOOT_MS });
    expect(await terminalText(page, '#console')).toContain(prompt.trimEnd());
    await typeAndExpect(page, '#console', 'echo $((6*7))', /^42$/);
    await page.waitForSelector('#status [data-field="uptime"]:not(:empty)');
    await screenshot(page, 'boot-main-page.png');
    expect(await page.evaluate(() => window.ts86.state)).toBe('running');
    expect(problems).toEqual([]);
    await page.close();
  }, BOOT_MS + 120_000);

  it('boots in a <ts86-vm> on the docs page; the same command prints 42 there', async () => {
    const page = await browser.newPage({ viewport: { width: 1100, height: 1000 } });
    const problems = watchPage(page);
    await page.goto(server.url('/docs/embed.html'));
    // The first widget autostarts; wait for its `booted` DOM event.
    await page.evaluate((ms) => new Promise<void>((resolve, reject) => {
      const el = document.querySelector('#vm-one')!;
      el.addEventListener('booted', () => resolve(), { once: true });
      el.addEventListener('error', (e) => reject(new Error((e as CustomEvent).detail.message)), { once: true });
      setTimeout(() => reject(new Error('no booted event')), ms);
    }), BOOT_MS);
    await typeAndExpect(page, '#vm-one', 'echo $((6*7))', /^42$/);
    await screenshot(page, 'boot-docs-element.png');
    // The second widget waits for its Start button.
    expect(await page.$eval('#vm-two', (el) => (el as unknown as { vm: { state: string } }).vm.state)).toBe('idle');
    expect(problems).toEqual([]);
    await page.close();
  }, BOOT_MS + 120_000);
});
