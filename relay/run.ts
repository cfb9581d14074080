// Start-up of the relay process: options, images directory, QEMU binaries,
// accelerator choice, the server, the banner with the token, and clean
// shutdown on SIGINT/SIGTERM (every VM is ended with the relay).

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateToken } from './auth.ts';
import { HELP, parseRelayArgs, type RelayConfig } from './cli-args.ts';
import { chooseAccel } from './kvm-probe.ts';
import { ImageDirectory } from './path-policy.ts';
import { installedArches, launchQemu } from './qemu-process.ts';
import { DEFAULT_RATE_LIMITS } from './rate-limit.ts';
import { RelayServer } from './server.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const DEFAULT_IMAGES_DIR = path.join(repoRoot, 'public', 'images');
const VERSION = (JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;
const SERVER_NAME = `ts86-relay/${VERSION}`;

/** Where a page served by `npm run dev` picks the relay and token up from. */
const PAGE_URL = 'http://localhost:5173/';

function log(message: string): void {
  process.stderr.write(`${new Date().toISOString()} ${message}\n`);
}

function tokenFromEnv(): string {
  const t = process.env.TS86_RELAY_TOKEN;
  if (t === undefined) return generateToken();
  if (t.length < 16) throw new Error('TS86_RELAY_TOKEN must be at least 16 characters');
  return t;
}

/** Runs the relay until a signal; returns the process exit code. */
export async function runRelay(argv: string[]): Promise<number> {
  let config: RelayConfig;
  try {
    const parsed = parseRelayArgs(argv, { imagesDir: DEFAULT_IMAGES_DIR });
    if (parsed.kind === 'help') {
      process.stdout.write(HELP);
      return 0;
    }
    if (parsed.kind === 'version') {
      process.stdout.write(`${SERVER_NAME}\n`);
      return 0;
    }
    config = parsed.config;
  } catch (e) {
    process.stderr.write(`ts86-relay: ${(e as Error).message}\nTry --help.\n`);
    return 2;
  }

  let images: ImageDirectory;
  let token: string;
  try {
    token = tokenFromEnv();
    images = await ImageDirectory.open(config.imagesDir);
  } catch (e) {
    const hint = config.imagesDir === DEFAULT_IMAGES_DIR ? ': build the default guest with `npm run images`, or pass --images DIR' : '';
    process.stderr.write(`ts86-relay: ${(e as Error).message}${hint}\n`);
    return 2;
  }
  const arches = installedArches();
  if (arches.length === 0) {
    process.stderr.write('ts86-relay: neither qemu-system-i386 nor qemu-system-x86_64 is on PATH (Debian: apt-get install qemu-system-x86)\n');
    return 2;
  }
  if (config.exposed) {
    log(`WARNING: listening on ${config.host}, not loopback: anyone who can reach this port and learns the token can run VMs here`);
  }

  if (config.accel === 'auto') log('probing KVM (booting a test guest)...');
  const accel = await chooseAccel(config.accel, { timeoutMs: config.probeTimeoutMs, arch: arches[0] });
  log(`accelerator: ${accel.accel} (${accel.detail})`);
  if (accel.notice) log(`NOTICE: ${accel.notice}`);

  let server: RelayServer;
  try {
    server = await RelayServer.start({
      host: config.host,
      port: config.port,
      origins: { allowed: new Set(config.allowedOrigins), requireOrigin: config.requireOrigin },
      maxSessions: config.maxSessions,
      session: {
        token,
        serverName: SERVER_NAME,
        accel,
        arches,
        images,
        maxMemoryMiB: config.maxMemoryMiB,
        allowNetwork: config.allowNetwork,
        writableDisks: config.writableDisks,
        rateLimits: DEFAULT_RATE_LIMITS,
        launch: (spec) => launchQemu(spec, { sandbox: config.sandbox }),
        log,
      },
    });
  } catch (e) {
    process.stderr.write(`ts86-relay: cannot listen on ${config.host}:${config.port}: ${(e as Error).message}\n`);
    return 1;
  }

  // Signal handlers go in before the banner: whoever reads the banner may
  // stop the relay right away, and must get the clean shutdown.
  const stopped = new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log(`${signal}: stopping all VMs`);
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });

  const fragment = `#relay=${encodeURIComponent(server.url)}&token=${token}`;
  process.stdout.write(
    [
      `${SERVER_NAME} listening on ${server.url}`,
      `  accelerator:     ${accel.accel}${accel.notice ? ' (KVM unusable, see NOTICE above)' : ''}`,
      `  images:          ${images.root}`,
      `  allowed origins: ${config.allowedOrigins.join(' ')}`,
      `  token:           ${token}`,
      `  open the page:   ${PAGE_URL}${fragment}`,
      '',
    ].join('\n'),
  );

  await stopped;
  await server.close();
  return 0;
}
