// An in-process relay for integration tests: TCG forced, a private images
// directory holding copies of the default guest, the generated echo guest
// and some traps (a symlink to /etc/passwd, a directory), and a record of
// every QEMU it launched so tests can kill one for real.

import { copyFile, mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { WebSocket } from 'ws';
import { buildImages } from '../../scripts/images/build-images.ts';
import type { ImageManifest } from '../../scripts/images/manifest.ts';
import { RelayClient, type RelayClientOptions } from '../../src/ui/kvm/relay-client.ts';
import { generateToken, DEFAULT_ALLOWED_ORIGINS } from '../auth.ts';
import { ImageDirectory } from '../path-policy.ts';
import type { ServerMessage } from '../protocol.ts';
import { installedArches, launchQemu, type QemuProcess } from '../qemu-process.ts';
import { DEFAULT_RATE_LIMITS } from '../rate-limit.ts';
import { RelayServer } from '../server.ts';
import { writeEchoGuest } from './echo-guest-file.ts';

export interface TestRelay {
  server: RelayServer;
  token: string;
  /** The default guest's manifest; null when started without it. */
  manifest: ImageManifest | null;
  imagesDir: string;
  /** Every QEMU launched, in order. */
  vms: QemuProcess[];
  logs: string[];
  connect(extra?: Partial<RelayClientOptions>): Promise<RelayClient>;
  close(): Promise<void>;
}

export interface TestRelayOptions {
  /** Copy in the default guest (Debian kernel + busybox initramfs); default true. */
  defaultGuest?: boolean;
  maxMemoryMiB?: number;
  helloTimeoutMs?: number;
}

export async function startTestRelay(opts: TestRelayOptions = {}): Promise<TestRelay> {
  const imagesDir = await mkdtemp(path.join(os.tmpdir(), 'ts86-relay-images-'));
  let manifest: ImageManifest | null = null;
  if (opts.defaultGuest ?? true) {
    // The default guest comes from scripts/images (built there if missing or stale).
    manifest = buildImages({ log: () => {} });
    const publicImages = path.resolve(import.meta.dirname, '..', '..', 'public', 'images');
    // Copies, not symlinks: links leading out of the images directory are
    // exactly what the relay refuses.
    await copyFile(path.join(publicImages, 'bzImage'), path.join(imagesDir, 'bzImage'));
    await copyFile(path.join(publicImages, 'initrd.img'), path.join(imagesDir, 'initrd.img'));
  }
  await mkdir(path.join(imagesDir, 'guests'));
  await writeEchoGuest(path.join(imagesDir, 'guests'));
  await symlink('/etc/passwd', path.join(imagesDir, 'escape'));
  await mkdir(path.join(imagesDir, 'a-directory'));

  const token = generateToken();
  const vms: QemuProcess[] = [];
  const logs: string[] = [];
  const server = await RelayServer.start({
    host: '127.0.0.1',
    port: 0,
    origins: { allowed: new Set(DEFAULT_ALLOWED_ORIGINS), requireOrigin: false },
    maxSessions: 16,
    session: {
      token,
      serverName: 'ts86-relay/test',
      accel: { accel: 'tcg', detail: 'forced by the tests' },
      arches: installedArches(),
      images: await ImageDirectory.open(imagesDir),
      maxMemoryMiB: opts.maxMemoryMiB ?? 1024,
      allowNetwork: false,
      writableDisks: false,
      rateLimits: DEFAULT_RATE_LIMITS,
      launch: async (spec) => {
        const vm = await launchQemu(spec);
        vms.push(vm);
        return vm;
      },
      log: (m) => logs.push(m),
      helloTimeoutMs: opts.helloTimeoutMs,
    },
  });
  return {
    server,
    token,
    manifest,
    imagesDir,
    vms,
    logs,
    connect: (extra = {}) =>
      RelayClient.connect({ url: server.url, token, WebSocket, clientName: 'vitest', ...extra }),
    close: async () => {
      await server.close();
      await rm(imagesDir, { recursive: true, force: true });
    },
  };
}

/**
 * A bare WebSocket for tests that must send what the real client never
 * would (bad JSON, huge frames, wrong Origin).
 */
export class RawConnection {
  private queue: ServerMessage[] = [];
  private waiters: ((m: ServerMessage) => void)[] = [];
  readonly binary: Buffer[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      if (isBinary) {
        this.binary.push(data as Buffer);
        return;
      }
      const msg = JSON.parse(data.toString()) as ServerMessage;
      const w = this.waiters.shift();
      if (w) w(msg);
      else this.queue.push(msg);
    });
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  /** Resolves when open; rejects with the HTTP status if the handshake is refused. */
  static open(url: string, origin?: string): Promise<RawConnection> {
    const ws = new WebSocket(url, origin === undefined ? {} : { origin });
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new RawConnection(ws)));
      ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      ws.once('error', reject);
    });
  }

  static async authenticated(relay: TestRelay, origin?: string): Promise<RawConnection> {
    const c = await RawConnection.open(relay.server.url, origin);
    c.send({ type: 'hello', versions: [1], token: relay.token });
    const hello = await c.next();
    if (hello.type !== 'hello') throw new Error(`hello refused: ${JSON.stringify(hello)}`);
    return c;
  }

  send(msg: unknown): void {
    this.ws.send(typeof msg === 'string' ? msg : JSON.stringify(msg));
  }

  sendBinary(data: Uint8Array): void {
    this.ws.send(data, { binary: true });
  }

  next(timeoutMs = 5000): Promise<ServerMessage> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const waiter = (m: ServerMessage) => {
        clearTimeout(timer);
        resolve(m);
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error('no message from the relay'));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /** Sends a request and returns the reply (skipping events). */
  async request(msg: Record<string, unknown>): Promise<ServerMessage> {
    this.send(msg);
    for (;;) {
      const m = await this.next();
      if (m.type !== 'event') return m;
    }
  }

  close(): void {
    this.ws.close();
  }
}
