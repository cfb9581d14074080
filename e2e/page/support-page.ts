// Helpers for the page tests: serving our test kernels to the page, reading
// what the page shows (console text, messages, status), and screenshots
// under .test-results/.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { REPO_ROOT } from '../support/server.ts';
import { buildKernel } from '../../tests/guest/build-kernel.ts';
import { ensureVgaFontAsset } from '../../src/ui/font/build-font-asset.ts';

export const RESULTS_DIR = join(REPO_ROOT, '.test-results');
export const ECHO_ASM = join(REPO_ROOT, 'e2e', 'page', 'guest', 'echo.asm');

/** The test kernels, assembled at test time (cached by tests/guest/build-kernel.ts). */
export function testKernels(): Record<string, Uint8Array> {
  ensureVgaFontAsset();
  return {
    'hello.elf': new Uint8Array(readFileSync(buildKernel('hello.asm'))),
    'echo.elf': new Uint8Array(readFileSync(buildKernel(ECHO_ASM))),
  };
}

/**
 * Serves files under /test-guests/ from memory, as the page's own origin
 * would (the page fetches them like any kernel URL).
 */
export async function serveGuests(page: Page, files: Record<string, Uint8Array>): Promise<void> {
  await page.route((url) => url.pathname.startsWith('/test-guests/'), async (route) => {
    const name = new URL(route.request().url()).pathname.split('/').pop()!;
    const body = files[name];
    if (!body) return route.fulfill({ status: 404, contentType: 'text/plain', body: 'not found' });
    return route.fulfill({ status: 200, contentType: 'application/octet-stream', body: Buffer.from(body) });
  });
}

/** The serial console's text (xterm's buffer, through the page's VM handle). */
export function consoleText(page: Page): Promise<string> {
  return page.evaluate(() => (window as unknown as { ts86: { console: { text(): string } | null } }).ts86.console?.text() ?? '');
}

export async function waitForConsole(page: Page, pattern: RegExp, timeoutMs = 60_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = await consoleText(page);
    if (pattern.test(text)) return text;
    if (Date.now() > deadline) throw new Error(`console never matched ${pattern}; it shows:\n${text}`);
    await page.waitForTimeout(200);
  }
}

/** Messages shown in #messages: kind and text. */
export function messages(page: Page): Promise<{ kind: string; text: string; error: boolean }[]> {
  return page.$$eval('#messages .message', (els) => els.map((e) => ({
    kind: (e as HTMLElement).dataset.kind ?? '',
    text: e.querySelector('.text')?.textContent ?? '',
    error: e.classList.contains('error'),
  })));
}

export async function waitForMessage(page: Page, kind: string, timeoutMs = 30_000): Promise<string> {
  const el = await page.waitForSelector(`#messages .message[data-kind="${kind}"] .text`, { timeout: timeoutMs });
  return (await el.textContent()) ?? '';
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const path = join(RESULTS_DIR, name);
  await page.screenshot({ path, fullPage: true });
  return path;
}
