// KVM mode in the main page, end to end: a real ts86-relay process (QEMU
// with TCG), the page opened with the relay's link, the KVM mode switch,
// and the guest in the page's own xterm console, toolbar and status bar;
// QEMU killed, a new boot, and the guest powering itself off. Then what a
// user sees when it goes wrong: no relay on the port, a wrong token, a page
// origin the relay does not allow, and no token at all.
import { describe, it, expect, beforeAll, afterAll, afterEach } from 'vitest';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, watchPage } from '../support/browser.ts';
import { serveRepo, REPO_ROOT, type ServedRepo } from '../support/server.ts';
import { consoleText, waitForConsole, waitForMessage, messages, screenshot } from '../page/support-page.ts';
import { buildImages } from '../../scripts/images/build-images.ts';
import { startRelayProcess, closedPort, type RelayProcess } from './relay-process.ts';

const TOKEN = 'kvm-mode-e2e-token-0123456789';


let server: ServedRepo;
let browser: Browser;
let relay: RelayProcess;
/** Pages still open; closed after each test, so a failed test's VM does not outlive it (closing the page ends the VM). */
const pages = new Set<Page>();

const link = (url: string, token: string): string => `#relay=${encodeURIComponent(url)}&token=${encodeURIComponent(token)}`;

async function open(pageUrl: string): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  pages.add(page);
  page.on('close', () => pages.delete(page));
  const problems = watchPage(page);
  await page.goto(pageUrl);
  await page.waitForSelector('#kvm-mode');
  return { page, problems };
}

const backend = (page: Page): Promise<string> => page.evaluate(() => document.body.dataset.backend ?? '');
const stateOf = (page: Page): Promise<string> => page.evaluate(() => window.ts86.state);

describe('KVM mode in the page', () => {
  beforeAll(async () => {
    buildImages({ log: () => {} }); // the default guest, in public/images (the relay's and the page's)
    server = await serveRepo();
    [browser, relay] = await Promise.all([
      launchChromium(),
      startRelayProcess({ images: join(REPO_ROOT, 'public', 'images'), allowOrigins: [server.origin], token: TOKEN }),
    ]);
  });

  afterEach(async () => {
    await Promise.all([...pages].map((p) => p.close()));
    // The relay ends a VM when its page goes away.
    const end = Date.now() + 10_000;
    while (relay.qemuPids().length > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
  });

  afterAll(async () => {
    await browser?.close();
    await relay?.stop();
    await server?.close();
  });

  it('boots the default guest in QEMU through the relay, in the same console, toolbar and status bar', async () => {
    const { page, problems } = await open(server.url(`/${link(relay.url, TOKEN)}`));
    // The relay link fills in the settings and keeps the in-browser machine from booting meanwhile.
    expect(await page.inputValue('#relay-url')).toBe(relay.url);
    expect(await page.inputValue('#relay-token')).toBe(TOKEN);
    expect(await waitForMessage(page, 'kvm')).toMatch(/switch on KVM mode/);
    expect(await stateOf(page)).toBe('idle');
    expect(await backend(page)).toBe('browser');
    const xtermsBefore = await page.locator('#console .xterm').count();

    await page.click('#kvm-mode');
    expect(await page.isChecked('#kvm-mode')).toBe(true);
    expect(await backend(page)).toBe('kvm');
    await page.waitForSelector('#status [data-field="state"][data-state="running"]', { timeout: 60_000 });
    expect(relay.qemuPids()).toHaveLength(1);
    // Booted: the default guest's prompt (from its manifest) came through the relay.
    await page.waitForFunction(() => document.body.dataset.booted !== undefined, undefined, { timeout: 90_000 });
    await waitForConsole(page, /^~ #\s*$/m, 10_000);

    await page.click('#console .xterm');
    await page.keyboard.type('echo $((6*7))');
    await page.keyboard.press('Enter');
    // The shell's answer on a line of its own (the echoed command line holds "6*7", not "42").
    await waitForConsole(page, /^42\s*$/m, 30_000);
    const text = await consoleText(page);
    // The page's own note (xterm wraps it at the terminal's width, so compare it unwrapped).
    expect(text.replace(/\n/g, '')).toContain(`[ts86] KVM mode: booting the default guest in QEMU (TCG) through the relay at ${relay.url}`);
    expect(text).toMatch(/Linux version \d/); // the kernel's own boot log, through QEMU's COM1
    // Same console (no second terminal) and the same status bar, which now names the backend.
    expect(await page.locator('#console .xterm').count()).toBe(xtermsBefore);
    expect(await page.textContent('#status [data-field="backend"]')).toMatch(/^QEMU · TCG · ws:\/\/127\.0\.0\.1:\d+\/$/);
    expect(await page.textContent('#status [data-field="memory"]')).toBe('128 MiB');
    expect(await page.isVisible('#status [data-field="mips"]')).toBe(false);
    // Sent to the relay: what was typed ("echo $((6*7))" and Enter, 14 bytes) plus xterm's answers to the
    // shell's cursor-position queries. The field refreshes once a second.
    await expect.poll(async () => {
      const m = /^Serial \d+(\.\d)? KiB out · (\d+) B in$/.exec((await page.textContent('#status [data-field="serial"]')) ?? '');
      return m ? Number(m[2]) : -1;
    }).toBeGreaterThanOrEqual(14);
    const shot = await screenshot(page, 'kvm-mode.png');
    expect(shot).toMatch(/kvm-mode\.png$/);

    // Pause and Resume are the relay's: a paused QEMU does not even echo what is typed.
    await page.click('button[data-action="pause"]');
    await page.waitForSelector('#status [data-field="state"][data-state="paused"]');
    await page.click('#console .xterm');
    await page.keyboard.type('echo resumed-$((40+2))');
    await page.keyboard.press('Enter');
    await page.waitForTimeout(1000);
    expect(await consoleText(page)).not.toMatch(/resumed/);
    await page.click('button[data-action="pause"]'); // now labelled Resume
    await page.waitForSelector('#status [data-field="state"][data-state="running"]');
    await waitForConsole(page, /^resumed-42\s*$/m, 30_000);

    // QEMU dies: the page says so in its error display, and the state is Error.
    const [qemu] = relay.qemuPids();
    process.kill(qemu!, 'SIGKILL');
    const crash = await waitForMessage(page, 'crash', 30_000);
    expect(crash).toMatch(/^KVM mode: QEMU ended unexpectedly and the guest with it: QEMU died \(.*SIGKILL.*\)/);
    await page.waitForSelector('#status [data-field="state"][data-state="error"]');
    expect(await page.isEnabled('button[data-action="start"]')).toBe(true);
    await screenshot(page, 'kvm-mode-qemu-killed.png');

    // Start boots a new VM; a guest that powers itself off ends QEMU, and the page says the machine powered off.
    await page.evaluate(() => { delete document.body.dataset.booted; });
    await page.click('button[data-action="start"]');
    await page.waitForFunction(() => document.body.dataset.booted !== undefined, undefined, { timeout: 90_000 });
    expect(await messages(page)).toEqual([]); // the crash message went with the new boot
    await page.click('#console .xterm');
    await page.keyboard.type('poweroff');
    await page.keyboard.press('Enter');
    expect(await waitForMessage(page, 'powered-off', 30_000)).toBe('The machine powered off.');
    await page.waitForSelector('#status [data-field="state"][data-state="stopped"]');
    expect(relay.qemuPids()).toEqual([]);

    // Off again: the in-browser machine is back (idle, nothing booted behind the user's back).
    await page.click('#kvm-mode');
    await page.waitForFunction(() => document.body.dataset.backend === 'browser');
    expect(await stateOf(page)).toBe('idle');
    expect(await page.textContent('#status [data-field="state"]')).toBe('Off');
    expect(await page.textContent('#status [data-field="backend"]')).toBe('');
    expect(await messages(page)).toEqual([]);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('says plainly that no relay is running when nothing listens on the port', async () => {
    const url = `ws://127.0.0.1:${await closedPort()}/`;
    const { page } = await open(server.url(`/${link(url, TOKEN)}`));
    await page.click('#kvm-mode');
    const text = await waitForMessage(page, 'worker');
    expect(text).toBe(
      `KVM mode: could not connect to the relay at ${url}. Either no relay is running there (start one with "npx ts86-relay"), ` +
      `or it runs but does not allow this page's origin, ${server.origin}: start it with "--allow-origin ${server.origin}". The browser does not say which.`);
    await page.waitForSelector('#status [data-field="state"][data-state="error"]');
    expect(await page.textContent('#status [data-field="backend"]')).toBe('QEMU · not connected');
    await screenshot(page, 'kvm-mode-no-relay.png');
    await page.close();
  });

  it('says the token is wrong when the relay refuses it', async () => {
    const { page } = await open(server.url(`/${link(relay.url, 'not-the-token-0123456789')}`));
    await page.click('#kvm-mode');
    const text = await waitForMessage(page, 'worker');
    expect(text).toBe(
      `KVM mode: the relay at ${relay.url} refused the token. Copy the token the relay printed when it started ` +
      '(it changes every time the relay starts), or open the link it printed.');
    await page.waitForSelector('#status [data-field="state"][data-state="error"]');
    expect(relay.qemuPids()).toEqual([]);
    await page.close();
  });

  it('names the page origin to allow when the relay refuses it', async () => {
    // The same page from http://localhost:PORT: an origin the relay was not told about.
    const origin = server.origin.replace('127.0.0.1', 'localhost');
    const { page } = await open(`${origin}/${link(relay.url, TOKEN)}`);
    await page.click('#kvm-mode');
    const text = await waitForMessage(page, 'worker');
    expect(text).toContain(`does not allow this page's origin, ${origin}: start it with "--allow-origin ${origin}"`);
    // It was the origin check (HTTP 403 before the WebSocket upgrade), not a closed port.
    expect(relay.log()).toContain(`refused connection from origin ${origin}`);
    await page.close();
  });

  it('asks for the token when there is none, and opens the relay settings', async () => {
    const { page } = await open(server.url('/?autostart=0'));
    await page.click('#kvm-mode');
    expect(await waitForMessage(page, 'config')).toMatch(/^KVM mode needs the relay's token, which it prints when it starts\./);
    expect(await page.evaluate(() => (document.querySelector('details.relay-settings') as HTMLDetailsElement).open)).toBe(true);
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('relay-token');
    await page.close();
  });
});
