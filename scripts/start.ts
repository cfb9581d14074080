// `npm start`: everything needed to see ts86 boot in a browser. Builds the
// default guest images on the first run (Debian packages via apt, see
// scripts/images/), writes the VGA font, starts the vite dev server on
// 127.0.0.1 (with the COOP/COEP headers from vite.config.ts) and opens the
// page when there is a display to open it on.
//
//   npm start [-- --port N] [--no-open]
import { existsSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer } from 'vite';
import { buildImages } from './images/build-images.ts';
import { ImageBuildError } from './images/exec.ts';
import { ensureVgaFontAsset } from '../src/ui/font/build-font-asset.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const IMAGES = join(ROOT, 'public', 'images');

function imagesPresent(): boolean {
  return ['bzImage', 'initrd.img', 'manifest.json'].every((f) => existsSync(join(IMAGES, f)));
}

/** A graphical session to open a browser in (not over plain SSH or in CI). */
function hasDisplay(): boolean {
  if (process.env.CI) return false;
  if (process.platform === 'darwin' || process.platform === 'win32') return true;
  return Boolean(process.env.DISPLAY || process.env.WAYLAND_DISPLAY);
}

function openBrowser(url: string): void {
  const [cmd, args] = process.platform === 'darwin' ? ['open', [url]]
    : process.platform === 'win32' ? ['cmd', ['/c', 'start', '', url]]
      : ['xdg-open', [url]];
  try {
    const child = spawn(cmd, args as string[], { stdio: 'ignore', detached: true });
    child.on('error', () => console.log(`ts86: could not open a browser (${cmd}); open ${url} yourself`));
    child.unref();
  } catch {
    console.log(`ts86: open ${url} in a browser`);
  }
}

function parseArgs(argv: string[]): { port: number; open: boolean } {
  let port = Number(process.env.PORT ?? 5173);
  let open = true;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--port' && argv[i + 1]) port = Number(argv[++i]);
    else if (argv[i] === '--no-open') open = false;
    else {
      console.error(`usage: npm start [-- --port N] [--no-open]  (unknown argument ${argv[i]})`);
      process.exit(2);
    }
  }
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`npm start: the port must be a number 0–65535, got ${port}`);
    process.exit(2);
  }
  return { port, open };
}

async function main(): Promise<void> {
  const { port, open } = parseArgs(process.argv.slice(2));
  if (!imagesPresent()) {
    console.log('ts86: first run: building the default guest images (Debian i386 kernel + busybox) into public/images/ …');
    try {
      buildImages();
    } catch (e) {
      if (!(e instanceof ImageBuildError)) throw e;
      console.error(`ts86: the guest images could not be built: ${e.message}`);
      console.error('ts86: starting anyway; the page will say the images are missing (fix the problem above and run "npm run images").');
    }
  }
  const font = ensureVgaFontAsset();
  if (!font.ok) console.warn(`ts86: ${font.reason}`);

  const server = await createServer({
    configFile: join(ROOT, 'vite.config.ts'),
    root: ROOT,
    clearScreen: false,
    server: { host: '127.0.0.1', port, strictPort: false },
  });
  await server.listen();
  const url = server.resolvedUrls?.local[0] ?? `http://127.0.0.1:${port}/`;
  console.log(`\n  ts86 is running at ${url}\n  (the default guest; see docs/embed.html for the <ts86-vm> element)\n  Press Ctrl+C to stop.\n`);
  if (open && hasDisplay()) openBrowser(url);

  const stop = (): void => {
    void server.close().finally(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

await main();
