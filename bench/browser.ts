// `npm run bench:browser`: boots the default guest and runs the reference
// workload in Chromium, under ts86 (the main page) and under v86 (npm `v86`
// with Debian's SeaBIOS), on the same images in the same browser session,
// and prints the times and the ts86/v86 ratio. Absolute times on a shared
// machine are noise; the ratio is the number.
//
//   npm run bench:browser [-- --boot-timeout S] [--workload-timeout S] [--memory MiB] [--only ts86|v86] [--skip-workload]
//
// Both guests get the same kernel, initrd, command line and memory size.
// "Boot" is from starting the machine to the shell prompt on COM1; the
// workload is tests/fixtures/workload.sh typed through the serial console
// the way scripts/transcript types it into QEMU, and its transcript is
// checked against QEMU's (tests/fixtures/workload.qemu.txt).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, chromiumAvailable, CHROMIUM_PATH } from '../e2e/support/browser.ts';
import { serveRepo, REPO_ROOT, type ServedRepo } from '../e2e/support/server.ts';
import { ensureVgaFontAsset } from '../src/ui/font/build-font-asset.ts';
import { SerialConsole } from '../scripts/transcript/serial-driver.ts';
import { runWorkload, QEMU_FIXTURE_PATH } from '../scripts/transcript/workload.ts';

interface Options { bootTimeout: number; workloadTimeout: number; memoryMiB: number; only: 'ts86' | 'v86' | null; workload: boolean }

interface Result {
  emulator: 'ts86' | 'v86';
  bootSeconds: number | null;
  workloadSeconds: number | null;
  transcriptMatchesQemu: boolean | null;
  error: string | null;
}

const IMAGES = join(REPO_ROOT, 'public', 'images');
const V86_BUILD = join(REPO_ROOT, 'node_modules', 'v86', 'build');
const SEABIOS = ['/usr/share/seabios/bios.bin', '/usr/share/seabios/bios-256k.bin'];
const VGABIOS = ['/usr/share/seabios/vgabios-stdvga.bin', '/usr/share/seabios/vgabios.bin'];

function parseArgs(argv: string[]): Options {
  const o: Options = { bootTimeout: 300, workloadTimeout: 600, memoryMiB: 128, only: null, workload: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i], v = argv[i + 1];
    if (a === '--boot-timeout' && v) { o.bootTimeout = Number(v); i++; }
    else if (a === '--workload-timeout' && v) { o.workloadTimeout = Number(v); i++; }
    else if (a === '--memory' && v) { o.memoryMiB = Number(v); i++; }
    else if (a === '--only' && (v === 'ts86' || v === 'v86')) { o.only = v; i++; }
    else if (a === '--skip-workload') o.workload = false;
    else throw new Error(`unknown argument ${a}; usage: npm run bench:browser [-- --boot-timeout S] [--workload-timeout S] [--memory MiB] [--only ts86|v86] [--skip-workload]`);
  }
  return o;
}

function firstExisting(paths: string[], what: string, fix: string): string {
  const p = paths.find((x) => existsSync(x));
  if (!p) throw new Error(`${what} not found (${paths.join(', ')}); ${fix}`);
  return p;
}

/** The page side of a serial line: `window.__bench` with write(text) and take() (output since the last take). */
interface BenchGuest { page: Page; started: number }

// In-page code is passed as source text: tsx compiles this file with esbuild's keepNames, whose
// __name() helper would otherwise be serialized into functions that do not have it in the page.
const BENCH_LINE = `window.__bench = { buf: '', take() { const s = this.buf; this.buf = ''; return s; }, write(s) {} };`;

const TS86_START = `(() => {
  ${BENCH_LINE}
  const vm = window.ts86;
  window.__bench.write = (s) => vm.write(Uint8Array.from(s, (c) => c.charCodeAt(0)));
  vm.onData((bytes) => { for (const b of bytes) window.__bench.buf += String.fromCharCode(b); });
  vm.on('error', (e) => { window.__bench.buf += '\\r\\n[ts86 error: ' + e.kind + ': ' + e.message + ']\\r\\n'; });
  vm.start().catch(() => {});
})()`;

function v86Start(memoryMiB: number, cmdline: string): string {
  return `(() => {
  ${BENCH_LINE}
  const emulator = new V86({
    wasm_path: '/bench-v86/v86.wasm', memory_size: ${memoryMiB} << 20, vga_memory_size: 8 << 20,
    bios: { url: '/bench-v86/bios.bin' }, vga_bios: { url: '/bench-v86/vgabios.bin' },
    bzimage: { url: '/images/bzImage' }, initrd: { url: '/images/initrd.img' }, cmdline: ${JSON.stringify(cmdline)},
    autostart: true, disable_keyboard: true, disable_mouse: true, disable_speaker: true,
  });
  emulator.add_listener('serial0-output-byte', (b) => { window.__bench.buf += String.fromCharCode(b); });
  window.__bench.write = (s) => emulator.serial0_send(s);
})()`;
}

/** Bridges the page's serial line to the Node streams SerialConsole drives (as it drives QEMU's stdio). */
function consoleFor(g: BenchGuest): { con: SerialConsole; stop(): void } {
  const output = new PassThrough();
  let stopped = false;
  const input = new Writable({
    write(chunk: Buffer, _enc, cb) {
      g.page.evaluate(`window.__bench.write(${JSON.stringify(chunk.toString('latin1'))})`).then(() => cb(), (e: Error) => cb(e));
    },
  });
  void (async () => {
    while (!stopped) {
      const text = await g.page.evaluate<string>('window.__bench.take()').catch(() => null);
      if (text === null) { output.end(); return; }
      if (text) output.write(Buffer.from(text, 'latin1'));
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  return { con: new SerialConsole(input, output, { failOn: [/Kernel panic/] }), stop: () => { stopped = true; } };
}

async function startTs86(browser: Browser, server: ServedRepo, o: Options): Promise<BenchGuest> {
  const page = await browser.newPage();
  await page.goto(server.url(`/?autostart=0&memory=${o.memoryMiB}`));
  await page.waitForFunction('"ts86" in window');
  const started = Date.now();
  await page.evaluate(TS86_START);
  return { page, started };
}

async function startV86(browser: Browser, server: ServedRepo, o: Options, cmdline: string): Promise<BenchGuest> {
  const bios = firstExisting(SEABIOS, 'SeaBIOS', 'install it with "apt-get install seabios"');
  const vgabios = firstExisting(VGABIOS, 'the SeaBIOS VGA BIOS', 'install it with "apt-get install seabios"');
  const page = await browser.newPage();
  const files: Record<string, [string, string]> = {
    'libv86.js': [join(V86_BUILD, 'libv86.js'), 'text/javascript'],
    'v86.wasm': [join(V86_BUILD, 'v86.wasm'), 'application/wasm'],
    'bios.bin': [bios, 'application/octet-stream'],
    'vgabios.bin': [vgabios, 'application/octet-stream'],
  };
  // v86 gets a blank page of its own on the same origin, with its files served from node_modules and Debian.
  await page.route((url) => url.pathname.startsWith('/bench-v86/'), (route) => {
    const name = new URL(route.request().url()).pathname.slice('/bench-v86/'.length);
    if (name === '') return route.fulfill({ contentType: 'text/html', body: '<!doctype html><title>v86</title><script src="/bench-v86/libv86.js"></script>' });
    const f = files[name];
    return f ? route.fulfill({ contentType: f[1], body: readFileSync(f[0]) }) : route.fulfill({ status: 404, body: '' });
  });
  await page.goto(server.url('/bench-v86/'));
  const started = Date.now();
  await page.evaluate(v86Start(o.memoryMiB, cmdline));
  return { page, started };
}

async function measure(name: 'ts86' | 'v86', start: () => Promise<BenchGuest>, prompt: string, o: Options): Promise<Result> {
  const r: Result = { emulator: name, bootSeconds: null, workloadSeconds: null, transcriptMatchesQemu: null, error: null };
  let g: BenchGuest | null = null;
  let bridge: ReturnType<typeof consoleFor> | null = null;
  try {
    g = await start();
    bridge = consoleFor(g);
    const con = bridge.con;
    try {
      await con.waitFor(prompt, o.bootTimeout * 1000);
    } catch (e) {
      const tail = con.received.slice(-600).replace(/\r/g, '');
      throw new Error(`${name} did not reach the shell prompt ${JSON.stringify(prompt)} within ${o.bootTimeout} s.\n` +
        `  Last serial output:\n${tail ? tail.split('\n').map((l) => `    | ${l}`).join('\n') : '    (none)'}\n  (${(e as Error).message.split('\n')[0]})`);
    }
    r.bootSeconds = (Date.now() - g.started) / 1000;
    console.log(`  ${name}: booted to the prompt in ${r.bootSeconds.toFixed(1)} s`);
    if (o.workload) {
      const t0 = Date.now();
      const transcript = await runWorkload(con, { prompt, timeoutMs: o.workloadTimeout * 1000 });
      r.workloadSeconds = (Date.now() - t0) / 1000;
      r.transcriptMatchesQemu = existsSync(QEMU_FIXTURE_PATH) ? transcript === readFileSync(QEMU_FIXTURE_PATH, 'utf8') : null;
      console.log(`  ${name}: workload in ${r.workloadSeconds.toFixed(1)} s; transcript ${r.transcriptMatchesQemu === null ? 'not compared (no QEMU fixture)' : r.transcriptMatchesQemu ? 'matches QEMU' : 'DIFFERS from QEMU'}`);
    }
  } catch (e) {
    r.error = (e as Error).message;
    console.log(`  ${name}: FAILED: ${r.error}`);
  } finally {
    bridge?.stop();
    await g?.page.close().catch(() => {});
  }
  return r;
}

function ratio(a: number | null, b: number | null): string {
  return a !== null && b !== null && b > 0 ? `${(a / b).toFixed(2)}×` : 'n/a';
}

async function main(): Promise<number> {
  const o = parseArgs(process.argv.slice(2));
  if (!chromiumAvailable()) throw new Error(`Chromium not found at ${CHROMIUM_PATH}; install Debian's chromium package`);
  if (!existsSync(join(IMAGES, 'manifest.json'))) throw new Error('the guest images are missing; run "npm run images" first');
  const manifest = JSON.parse(readFileSync(join(IMAGES, 'manifest.json'), 'utf8')) as { cmdline: string; prompt: string; kernel: { release: string } };
  ensureVgaFontAsset();
  console.log(`bench:browser: Debian ${manifest.kernel.release}, cmdline "${manifest.cmdline}", ${o.memoryMiB} MiB, Chromium ${CHROMIUM_PATH}`);
  const [server, browser] = await Promise.all([serveRepo(), launchChromium()]);
  const results: Result[] = [];
  try {
    // One at a time: on 2 shared cores, running both at once would measure the scheduler.
    if (o.only !== 'ts86') results.push(await measure('v86', () => startV86(browser, server, o, manifest.cmdline), manifest.prompt, o));
    if (o.only !== 'v86') results.push(await measure('ts86', () => startTs86(browser, server, o), manifest.prompt, o));
  } finally {
    await browser.close();
    await server.close();
  }
  const v86 = results.find((r) => r.emulator === 'v86');
  const ts86 = results.find((r) => r.emulator === 'ts86');
  const fmt = (n: number | null | undefined): string => (n === null || n === undefined ? '—' : n.toFixed(1));
  console.log('\n  emulator   boot (s)   workload (s)   transcript');
  for (const r of results) {
    const t = r.error ? 'FAILED' : r.transcriptMatchesQemu === null ? '—' : r.transcriptMatchesQemu ? 'matches QEMU' : 'differs from QEMU';
    console.log(`  ${r.emulator.padEnd(9)}  ${fmt(r.bootSeconds).padStart(8)}   ${fmt(r.workloadSeconds).padStart(12)}   ${t}`);
  }
  if (ts86 && v86) {
    console.log(`\n  ts86/v86 time ratio: boot ${ratio(ts86.bootSeconds, v86.bootSeconds)}, workload ${ratio(ts86.workloadSeconds, v86.workloadSeconds)} (above 1: ts86 is slower)`);
  }
  if (ts86?.error) console.log('\n  ts86 produced no numbers: it did not complete the run (see above).');
  const out = join(REPO_ROOT, '.test-results');
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'bench-browser.json'), JSON.stringify({ date: new Date().toISOString(), memoryMiB: o.memoryMiB, results }, null, 2) + '\n');
  return results.every((r) => !r.error) ? 0 : 1;
}

main().then((code) => { process.exitCode = code; }, (e: Error) => {
  console.error(`bench:browser: ${e.message}`);
  process.exitCode = 2;
});
