// The main page in Chromium, end to end, with our own multiboot test
// kernels (the Debian guest's full boot is in boot.e2e.pending.ts): the
// worker starts, guest output reaches xterm through the serial ring and
// typed keys reach the guest through the other ring, guest RAM and the VGA
// registers are read by the page from the shared memory, the guest's exit is
// shown as the machine stopping with its status, and every error path shows
// its message.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, watchPage } from '../support/browser.ts';
import { serveRepo, type ServedRepo } from '../support/server.ts';
import { testKernels, serveGuests, consoleText, waitForConsole, waitForMessage, messages, screenshot } from './support-page.ts';

let server: ServedRepo;
let browser: Browser;
let kernels: Record<string, Uint8Array>;

async function open(path: string, width = 1400): Promise<{ page: Page; problems: string[] }> {
  const context = await browser.newContext({ viewport: { width, height: 900 } });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.origin });
  const page = await context.newPage();
  page.on('close', () => { void context.close().catch(() => {}); });
  const problems = watchPage(page);
  await serveGuests(page, kernels);
  await page.goto(server.url(path));
  return { page, problems };
}

describe('ts86 in Chromium', () => {
beforeAll(async () => {
  kernels = testKernels();
  [server, browser] = await Promise.all([serveRepo(), launchChromium()]);
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe('the main page', () => {

  it('runs a multiboot kernel from ?multiboot=: its COM1 output appears in xterm and its isa-debug-exit stops the machine with a status', async () => {
    const { page, problems } = await open('/?multiboot=/test-guests/hello.elf');
    expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
    await waitForConsole(page, /54321/);
    // The kernel sends bare LFs; a terminal moves down without returning to column 0, and so does xterm.
    expect(await consoleText(page)).toBe(`hello from ts86 multiboot\n${' '.repeat(25)}54321`);
    const stopped = await waitForMessage(page, 'powered-off');
    expect(stopped).toBe('The machine stopped: the guest exited with status 67 (isa-debug-exit).');
    await page.waitForSelector('#status [data-field="state"][data-state="stopped"]');
    expect(await page.textContent('#status [data-field="state"]')).toBe('Stopped');
    // The worker loaded the kernel into guest RAM; the page reads it from the shared memory.
    const magic = await page.evaluate(() => new DataView(window.ts86.ram!.buffer, window.ts86.ram!.byteOffset + 0x100000, 4).getUint32(0, true));
    expect(magic).toBe(0x1badb002);
    expect(await page.evaluate(() => window.ts86.ram!.buffer instanceof SharedArrayBuffer)).toBe(true);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('carries typed keys to the guest and its answers back, and draws the guest\'s VGA text screen from shared memory', async () => {
    const { page, problems } = await open('/?multiboot=/test-guests/echo.elf');
    await waitForConsole(page, /echo guest ready/);
    await page.click('#console .xterm');
    await page.keyboard.type('hello ts86');
    await page.keyboard.press('Enter');
    // The guest upper-cases what it receives: this is its answer, not a local echo.
    await waitForConsole(page, /HELLO TS86/);

    // The guest CPU (in the worker) wrote the banner into the text buffer; the page sees it without a message.
    const banner = await page.evaluate(() => {
      const ram = window.ts86.ram!;
      return String.fromCharCode(...Array.from({ length: 20 }, (_, k) => ram[0xb8000 + k * 2]));
    });
    expect(banner).toBe(' ts86 VGA text mode ');
    // The renderer drew it: the banner's cells are yellow on blue (attribute 0x1E) on the canvas.
    await page.waitForFunction(() => {
      const c = document.querySelector<HTMLCanvasElement>('#screen canvas')!;
      const px = (x: number, y: number): number[] => Array.from(c.getContext('2d')!.getImageData(x, y, 1, 1).data.slice(0, 3));
      const bg = px(9 * 3 + 1, 1).join(','); // top-left pixel of cell 3 (row 0): background
      return bg === '0,0,170';
    }, undefined, { timeout: 10_000 });
    const yellowPixels = await page.evaluate(() => {
      const c = document.querySelector<HTMLCanvasElement>('#screen canvas')!;
      const d = c.getContext('2d')!.getImageData(0, 0, 9 * 20, 16).data;
      let n = 0;
      for (let i = 0; i < d.length; i += 4) if (d[i] === 255 && d[i + 1] === 255 && d[i + 2] === 85) n++;
      return n;
    });
    expect(yellowPixels).toBeGreaterThan(100); // the banner's glyphs, from the bitmap font
    // The typed text reached the screen too, at the cursor the guest moves through the CRTC.
    const row5 = await page.evaluate(() => {
      const ram = window.ts86.ram!;
      return String.fromCharCode(...Array.from({ length: 10 }, (_, k) => ram[0xb8000 + (5 * 80 + k) * 2]));
    });
    expect(row5).toBe('HELLO TS86');

    // Paste (Ctrl+Shift+V) goes to the guest like typing; copy (Ctrl+Shift+C) takes xterm's selection.
    await page.evaluate(() => navigator.clipboard.writeText(' and pasted'));
    await page.keyboard.press('Control+Shift+V');
    // The guest echoed Enter as a bare CR, so the pasted text overwrites its line from column 0.
    await waitForConsole(page, /^ AND PASTED$/m);
    await page.evaluate(() => (window.ts86 as unknown as { console: { terminal: { selectAll(): void } } }).console.terminal.selectAll());
    await page.keyboard.press('Control+Shift+C');
    await expect.poll(() => page.evaluate(() => navigator.clipboard.readText())).toMatch(/^echo guest ready\n AND PASTED\n/);
    await screenshot(page, 'page-echo-guest.png');

    await page.keyboard.type('q');
    expect(await waitForMessage(page, 'powered-off')).toMatch(/exited with status 33/);
    expect(await consoleText(page)).toBe('echo guest ready\n AND PASTED\nbye');
    expect(problems.filter((p) => !/willReadFrequently/.test(p))).toEqual([]); // that warning is about this test's own pixel reads
    await page.close();
  });

  it('keys pressed on the focused VGA screen reach the guest\'s PS/2 keyboard: set 2 into the ring, set 1 out of the i8042', async () => {
    const { page } = await open('/?multiboot=/test-guests/echo.elf');
    await waitForConsole(page, /echo guest ready/);
    await page.evaluate(() => {
      const vm = window.ts86 as unknown as { sendScancodes(b: ArrayLike<number>): void; sent: number[][] };
      const pass = vm.sendScancodes.bind(vm);
      vm.sent = [];
      vm.sendScancodes = (b) => { vm.sent.push(Array.from(b)); pass(b); };
    });
    await page.click('#screen canvas');
    await page.keyboard.press('a');
    await page.keyboard.press('ArrowUp');
    await page.keyboard.press('Tab'); // the guest's, not the browser's: focus stays on the screen
    const sent = await page.evaluate(() => (window.ts86 as unknown as { sent: number[][] }).sent);
    expect(sent).toEqual([[0x1c], [0xf0, 0x1c], [0xe0, 0x75], [0xe0, 0xf0, 0x75], [0x0d], [0xf0, 0x0d]]);
    expect(await page.evaluate(() => document.activeElement?.tagName)).toBe('CANVAS');
    // The guest read them from port 0x60 and reported them on COM1.
    await waitForConsole(page, /k1e k9e ke0 k48 ke0 kc8 k0f k8f/);
    await page.click('button[data-action="stop"]');
    await page.close();
  });

  it('pause stops the guest clock and the instruction count; resume continues', async () => {
    const { page } = await open('/?multiboot=/test-guests/echo.elf');
    await waitForConsole(page, /echo guest ready/);
    await page.click('button[data-action="pause"]');
    await page.waitForSelector('#status [data-state="paused"]');
    expect(await page.textContent('button[data-action="pause"]')).toBe('Resume');
    const a = await page.evaluate(() => window.ts86.stats());
    await page.waitForTimeout(400);
    const b = await page.evaluate(() => window.ts86.stats());
    expect(b.instructions).toBe(a.instructions);
    expect(b.uptimeSeconds).toBe(a.uptimeSeconds);
    await page.click('button[data-action="pause"]');
    await page.waitForSelector('#status [data-state="running"]');
    await page.waitForFunction((n) => window.ts86.stats().then((s) => s.instructions > n), a.instructions);
    await page.click('button[data-action="stop"]');
    await page.waitForSelector('#status [data-state="stopped"]');
    await page.close();
  });

  it('shows a readable message for a kernel URL that answers 404', async () => {
    // No initrd: in a fresh clone the default images may still be building, and its own 404 would race this one.
    const { page } = await open('/?kernel=/images/no-such-kernel');
    const text = await waitForMessage(page, 'download');
    expect(text).toMatch(/Could not download the kernel from http:\/\/127\.0\.0\.1:\d+\/images\/no-such-kernel: the server answered HTTP 404/);
    await page.waitForSelector('#status [data-state="error"]');
    expect(await page.isEnabled('button[data-action="start"]')).toBe(true);
    await screenshot(page, 'page-404.png');
    await page.close();
  });

  it('shows a readable message for a file that is not a bzImage', async () => {
    const { page } = await open('/?kernel=/test-guests/hello.elf');
    expect(await waitForMessage(page, 'image')).toBe('The boot image was refused: hello.elf is not a Linux bzImage (no boot sector signature and "HdrS" setup header).');
    expect((await messages(page)).filter((m) => m.error)).toHaveLength(1);
    await page.close();
  });

  it('says plainly what is wrong when the page is served without cross-origin isolation', async () => {
    const page = await browser.newPage();
    // Serve the document without COOP/COEP, as a misconfigured server would.
    await page.route((url) => url.pathname === '/', async (route) => {
      const response = await route.fetch();
      const headers = { ...response.headers() };
      delete headers['cross-origin-opener-policy'];
      delete headers['cross-origin-embedder-policy'];
      await route.fulfill({ response, headers });
    });
    await page.goto(server.url('/'));
    expect(await page.evaluate(() => crossOriginIsolated)).toBe(false);
    const text = await waitForMessage(page, 'isolation', 15_000);
    expect(text).toMatch(/not cross-origin isolated/);
    expect(text).toMatch(/Cross-Origin-Opener-Policy: same-origin/);
    expect(text).toMatch(/Cross-Origin-Embedder-Policy: require-corp/);
    // Nothing was downloaded or started.
    expect(await page.evaluate(() => window.ts86.state)).toBe('idle');
    await page.click('button[data-action="start"]');
    await page.waitForSelector('#status [data-state="error"]');
    expect((await messages(page)).filter((m) => m.kind === 'isolation')).toHaveLength(1);
    await screenshot(page, 'page-not-isolated.png');
    await page.close();
  });
});

describe('<ts86-vm> on the docs page', () => {
  it('renders its two widgets, and a widget added with a multiboot attribute boots and fires events', async () => {
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    const problems = watchPage(page);
    await serveGuests(page, kernels);
    // Keep the page's own widgets from booting Linux here (the full boot is in boot.e2e.pending.ts).
    await page.route((url) => url.pathname.startsWith('/images/'), (route) => route.fulfill({ status: 404, body: '' }));
    await page.goto(server.url('/docs/embed.html'));
    await page.waitForFunction(() => document.querySelectorAll('ts86-vm .ts86-console .xterm').length === 2);
    expect(await page.$$eval('ts86-vm', (els) => els.map((e) => (e as unknown as { vm: { state: string } }).vm.state))).toEqual(['error', 'idle']);
    expect(await page.textContent('#vm-one .message[data-kind="download"] .text')).toMatch(/The default guest images are missing/);

    const events = await page.evaluate(async () => {
      const el = document.createElement('ts86-vm');
      el.setAttribute('multiboot', '/test-guests/hello.elf');
      el.setAttribute('booted', '54321');
      el.setAttribute('autostart', '');
      const seen: string[] = [];
      const done = new Promise<void>((resolve) => {
        el.addEventListener('booted', () => seen.push('booted'));
        el.addEventListener('powered-off', (e) => { seen.push(`powered-off ${JSON.stringify((e as CustomEvent).detail)}`); resolve(); });
      });
      document.body.append(el);
      await done;
      return seen;
    });
    expect(events).toEqual(['booted', 'powered-off {"reason":"exit","status":67}']);
    expect(problems.filter((p) => !/404/.test(p))).toEqual([]);
    await screenshot(page, 'docs-embed.png');
    await page.close();
  });
});
});
