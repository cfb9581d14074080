// The code scanner in the page: ?signatures=URL loads ClamAV signatures, the
// worker scans every guest code page the first time it runs after a write,
// and each match is shown as a message; the status bar counts pages and
// detections. The guest is tests/scanner/asm/scan.asm, whose detections the
// Node tests pin down (tests/scanner/guest.test.ts): the same four here.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, watchPage } from '../support/browser.ts';
import { serveRepo, REPO_ROOT, type ServedRepo } from '../support/server.ts';
import { serveGuests, consoleText, messages, waitForConsole, waitForMessage } from '../page/support-page.ts';
import { buildKernel } from '../../tests/guest/build-kernel.ts';
import { PAYLOAD_NDB } from '../../tests/scanner/payload.ts';

let server: ServedRepo;
let browser: Browser;
let kernel: Uint8Array;

async function open(path: string, signatures: Record<string, string>): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.newPage();
  const problems = watchPage(page);
  await serveGuests(page, { 'scan.elf': kernel, ...Object.fromEntries(Object.entries(signatures).map(([k, v]) => [k, new TextEncoder().encode(v)])) });
  await page.goto(server.url(path));
  return { page, problems };
}

describe('the code scanner in Chromium', () => {
  beforeAll(async () => {
    kernel = new Uint8Array(readFileSync(buildKernel(join(REPO_ROOT, 'tests', 'scanner', 'asm', 'scan.asm'))));
    [server, browser] = await Promise.all([serveRepo(), launchChromium()]);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('reports each code page that matches when it first runs after a write, and counts in the status bar', async () => {
    const { page, problems } = await open('/?multiboot=/test-guests/scan.elf&signatures=/test-guests/payload.ndb', { 'payload.ndb': PAYLOAD_NDB });
    await waitForConsole(page, /scan guest done/);
    await waitForMessage(page, 'powered-off');
    const found = (await messages(page)).filter((m) => m.kind === 'detection').map((m) => m.text);
    const at = (n: number, addr: string) =>
      `Code scanner, detection ${n}: signature Test.Payload matched at guest physical address 0x${addr}, in a code page about to run for the first time since it was written.`;
    expect(found).toEqual([at(1, '00200100'), at(2, '00200100'), at(3, '00204800'), at(4, '00205ffa')]);
    const field = await page.waitForFunction(() => document.querySelector('#status [data-field="scanner"]')?.textContent || null);
    expect(await field.jsonValue()).toMatch(/^Scanner \d+ pages · 4 detections$/);
    expect(await consoleText(page)).toContain('scan guest done');
    expect(problems).toEqual([]);
    await page.close();
  });

  it('refuses a bad signature file with a message naming the line, and boots nothing', async () => {
    const { page } = await open('/?multiboot=/test-guests/scan.elf&signatures=/test-guests/bad.ndb', { 'bad.ndb': 'Good:0:*:aabbcc\nBad:0:*:aabb{3\n' });
    const message = await waitForMessage(page, 'config');
    expect(message).toContain('A code scanner signature file cannot be used: bad.ndb:2: "{" at character 5 is not closed');
    expect(await consoleText(page)).toBe('');
    await page.close();
  });
});
