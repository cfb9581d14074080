// The ts86-relay command as operators run it: the bin shim through tsx,
// option errors, the start-up banner with its token, a VM through the real
// process, and a clean shutdown that takes the VMs with it.

import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { RelayClient } from '../src/ui/kvm/relay-client.ts';
import { generateToken } from './auth.ts';
import { ECHO_GUEST_BANNER } from './guest/test-guests.ts';
import { writeEchoGuest } from './test-support/echo-guest-file.ts';
import { TextCollector } from './test-support/text-collector.ts';

const BIN = path.resolve(import.meta.dirname, '..', 'bin', 'ts86-relay.js');
let imagesDir: string;

beforeAll(async () => {
  imagesDir = await mkdtemp(path.join(os.tmpdir(), 'ts86-relay-cli-'));
  await mkdir(path.join(imagesDir, 'guests'));
  await writeEchoGuest(path.join(imagesDir, 'guests'));
});
afterAll(() => rm(imagesDir, { recursive: true, force: true }));

interface Run {
  child: ChildProcessWithoutNullStreams;
  stdout: TextCollector;
  stderr: TextCollector;
  exit: Promise<number | null>;
}

function relay(args: string[], env: Record<string, string> = {}): Run {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env } });
  const stdout = new TextCollector();
  const stderr = new TextCollector();
  child.stdout.on('data', (d: Buffer) => stdout.push(d));
  child.stderr.on('data', (d: Buffer) => stderr.push(d));
  const exit = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  return { child, stdout, stderr, exit };
}

/** PIDs of processes whose command line mentions `needle` (our QEMUs). */
function processesMentioning(needle: string): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(needle);
      } catch {
        return false; // exited meanwhile
      }
    })
    .map(Number);
}

describe('ts86-relay', () => {
  it('--help works through the bin shim', async () => {
    const r = relay(['--help']);
    expect(await r.exit).toBe(0);
    expect(r.stdout.all).toMatch(/^Usage: ts86-relay/);
    expect(r.stdout.all).toContain('--accel MODE');
  });

  it('refuses bad options and a missing images directory with exit status 2', async () => {
    const bad = relay(['--accel', 'fast']);
    expect(await bad.exit).toBe(2);
    expect(bad.stderr.all).toMatch(/--accel must be auto, kvm or tcg.*\nTry --help/s);
    const missing = relay(['--images', path.join(imagesDir, 'nope'), '--accel', 'tcg']);
    expect(await missing.exit).toBe(2);
    expect(missing.stderr.all).toMatch(/images directory .*nope does not exist/);
  });

  it('prints its URL and token, serves a VM, and takes the VM with it on SIGTERM', async () => {
    const token = generateToken();
    const r = relay(['--port', '0', '--accel', 'tcg', '--images', imagesDir], { TS86_RELAY_TOKEN: token });
    try {
      const banner = await r.stdout.waitFor(/open the page: .*\n/, 30_000);
      const url = /listening on (ws:\/\/127\.0\.0\.1:\d+\/)/.exec(r.stdout.all)?.[1];
      expect(url).toBeDefined();
      expect(r.stdout.all).toContain(`token:           ${token}`);
      expect(banner).toContain(`#relay=${encodeURIComponent(url!)}&token=${token}`);
      expect(r.stderr.all).toContain('accelerator: tcg (TCG chosen with --accel tcg)');
      expect(r.stderr.all).not.toContain('WARNING');

      const client = await RelayClient.connect({ url: url!, token, WebSocket });
      expect(client.hello).toMatchObject({ accel: 'tcg', server: expect.stringMatching(/^ts86-relay\/\d/) });
      const out = new TextCollector();
      client.onConsoleData((d) => out.push(d));
      await client.start({ kernel: 'guests/echo.elf', memoryMiB: 16 });
      await out.waitFor(ECHO_GUEST_BANNER, 10_000);
      const kernel = path.join(imagesDir, 'guests', 'echo.elf'); // on QEMU's command line, not the relay's
      expect(processesMentioning(kernel).length).toBe(1);

      const closed = new Promise<number>((res) => client.onClose((i) => res(i.code)));
      r.child.kill('SIGTERM');
      expect(await r.exit).toBe(0);
      expect(await closed).toBe(1001);
      expect(processesMentioning(kernel)).toEqual([]);
    } finally {
      r.child.kill('SIGKILL');
    }
  });

  it('warns when told to listen beyond loopback', async () => {
    const r = relay(['--listen-any', '--port', '0', '--accel', 'tcg', '--images', imagesDir]);
    try {
      await r.stdout.waitFor(/listening on ws:\/\/0\.0\.0\.0:\d+\//, 30_000);
      expect(r.stderr.all).toMatch(/WARNING: listening on 0\.0\.0\.0, not loopback/);
      expect(r.stdout.all).toMatch(/token: +[A-Za-z0-9_-]{32}\n/); // a fresh random token
    } finally {
      r.child.kill('SIGTERM');
      expect(await r.exit).toBe(0);
    }
  });
});
