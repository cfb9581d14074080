import { describe, expect, it } from 'vitest';
import { DEFAULT_ALLOWED_ORIGINS } from './auth.ts';
import { DEFAULT_PORT, isLoopback, parseRelayArgs, type RelayConfig } from './cli-args.ts';

const defaults = { imagesDir: '/repo/public/images' };
function run(...argv: string[]): RelayConfig {
  const r = parseRelayArgs(argv, defaults);
  if (r.kind !== 'run') throw new Error(`expected run, got ${r.kind}`);
  return r.config;
}

describe('parseRelayArgs', () => {
  it('defaults to loopback, port 8086, KVM probe, local dev origins', () => {
    expect(run()).toEqual({
      host: '127.0.0.1',
      port: DEFAULT_PORT,
      exposed: false,
      imagesDir: '/repo/public/images',
      accel: 'auto',
      allowedOrigins: [...DEFAULT_ALLOWED_ORIGINS],
      requireOrigin: false,
      maxSessions: 4,
      maxMemoryMiB: 2048,
      allowNetwork: false,
      writableDisks: false,
      probeTimeoutMs: 8000,
      sandbox: true,
    });
  });

  it('needs an explicit flag to listen beyond loopback, and marks it exposed', () => {
    expect(run('--listen-any')).toMatchObject({ host: '0.0.0.0', exposed: true });
    expect(run('--host', '192.168.1.5')).toMatchObject({ host: '192.168.1.5', exposed: true });
    expect(run('--host', '127.0.0.2')).toMatchObject({ exposed: false });
    expect(run('--host', '::1')).toMatchObject({ exposed: false });
    expect(() => run('--host', '0.0.0.0', '--listen-any')).toThrow(/either/);
  });

  it('parses the other options', () => {
    const c = run(
      '--port', '0', '--images', 'imgs', '--accel', 'tcg', '--allow-origin', 'http://a.test:8080,https://b.test',
      '--allow-origin', 'http://A.test:8080', '--require-origin', '--max-sessions', '2', '--max-memory', '512',
      '--allow-network', '--writable-disks', '--probe-timeout', '3', '--no-sandbox',
    );
    expect(c).toMatchObject({
      port: 0, imagesDir: 'imgs', accel: 'tcg', allowedOrigins: ['http://a.test:8080', 'https://b.test'], requireOrigin: true,
      maxSessions: 2, maxMemoryMiB: 512, allowNetwork: true, writableDisks: true, probeTimeoutMs: 3000, sandbox: false,
    });
  });

  it('refuses bad values with a message that names the option', () => {
    expect(() => run('--accel', 'hvf')).toThrow(/--accel must be auto, kvm or tcg/);
    expect(() => run('--port', '70000')).toThrow(/--port must be an integer/);
    expect(() => run('--port', '-1')).toThrow();
    expect(() => run('--port', '12abc')).toThrow(/--port/);
    expect(() => run('--max-sessions', '0')).toThrow(/--max-sessions/);
    expect(() => run('--allow-origin', '*')).toThrow(/not an origin/);
    expect(() => run('--bogus')).toThrow(/bogus/);
    expect(() => run('stray')).toThrow();
  });

  it('recognizes --help and --version', () => {
    expect(parseRelayArgs(['--help'], defaults)).toEqual({ kind: 'help' });
    expect(parseRelayArgs(['-h'], defaults)).toEqual({ kind: 'help' });
    expect(parseRelayArgs(['--version'], defaults)).toEqual({ kind: 'version' });
  });
});

describe('isLoopback', () => {
  it('knows the loopback names', () => {
    expect(['127.0.0.1', '127.1.2.3', 'localhost', '::1'].every(isLoopback)).toBe(true);
    expect(['0.0.0.0', '::', '10.0.0.1', 'example.org'].some(isLoopback)).toBe(false);
  });
});
