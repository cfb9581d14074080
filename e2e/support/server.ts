// Serves the repository over loopback with the project's vite.config.ts (so
// pages get COOP/COEP and are cross-origin isolated: SharedArrayBuffer works),
// on a free port, for Playwright tests and browser benchmarks.

import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { createServer, mergeConfig, type InlineConfig, type ViteDevServer } from 'vite';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface ServedRepo {
  /** e.g. "http://127.0.0.1:41234" (no trailing slash). */
  origin: string;
  /** Absolute URL of a repo-relative path, e.g. url('e2e/storage/index.html'). */
  url(path: string): string;
  server: ViteDevServer;
  close(): Promise<void>;
}

export interface ServeOptions {
  /** Extra vite config merged over the repo's. */
  vite?: InlineConfig;
  /** Vite log level. Default 'warn'. */
  logLevel?: InlineConfig['logLevel'];
}

export async function serveRepo(options: ServeOptions = {}): Promise<ServedRepo> {
  const base: InlineConfig = {
    configFile: join(REPO_ROOT, 'vite.config.ts'),
    root: REPO_ROOT,
    logLevel: options.logLevel ?? 'warn',
    clearScreen: false,
    server: {
      host: '127.0.0.1',
      port: 0, // the OS picks a free port
      strictPort: true,
      hmr: false,
      watch: null, // tests never edit files; watching the repo only burns CPU
    },
    // Discovering dependencies at runtime makes vite reload the page mid-test; serve them as-is instead.
    optimizeDeps: { noDiscovery: true, include: [] },
  };
  const server = await createServer(mergeConfig(base, options.vite ?? {}));
  await server.listen();
  const address = server.httpServer?.address() as AddressInfo | null;
  if (!address || typeof address !== 'object') {
    await server.close();
    throw new Error('vite did not start an HTTP server');
  }
  const origin = `http://127.0.0.1:${address.port}`;
  return {
    origin,
    url: (path) => `${origin}/${path.replace(/^\/+/, '')}`,
    server,
    close: () => server.close(),
  };
}
