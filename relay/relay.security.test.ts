// What the relay refuses, and that refusing never costs it a connection it
// should keep, or the process: tokens, origins, protocol versions, paths,
// message size and shape, rate limits, and requests in the wrong state.
// Uses the in-process relay with TCG; VMs here are the echo guest.

import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { RelayClient, RelayClientError } from '../src/ui/kvm/relay-client.ts';
import { CLOSE_CODES, LIMITS, type ErrorReply, type ServerMessage } from './protocol.ts';
import { RawConnection, startTestRelay, type TestRelay } from './test-support/relay-harness.ts';
import { sleep } from './test-support/text-collector.ts';

let relay: TestRelay;
beforeAll(async () => {
  relay = await startTestRelay({ defaultGuest: false, maxMemoryMiB: 512, helloTimeoutMs: 1000 });
});
afterAll(async () => {
  await relay?.close();
});

/** The relay still works: a fresh client authenticates and gets a status. */
async function relayStillServes(): Promise<void> {
  const c = await relay.connect();
  expect(await c.requestStatus()).toMatchObject({ state: 'none' });
  c.close();
}

function expectError(m: ServerMessage, code: string, id?: number | string): ErrorReply {
  expect(m).toMatchObject({ type: 'error', code, ...(id !== undefined && { id }) });
  return m as ErrorReply;
}

describe('authentication', () => {
  it('refuses a wrong token with bad-token and closes', async () => {
    const err = await relay.connect({ token: 'not-the-token' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RelayClientError);
    expect(err).toMatchObject({ code: 'bad-token', message: /copy the token the relay printed/ });

    const raw = await RawConnection.open(relay.server.url);
    raw.send({ type: 'hello', versions: [1], token: '' });
    expect(expectError(await raw.next(), 'bad-token').fatal).toBe(true);
    expect((await raw.closed).code).toBe(CLOSE_CODES.badToken);
  });

  it('refuses everything before hello, and a hello without a token', async () => {
    const raw = await RawConnection.open(relay.server.url);
    expectError(await raw.request({ type: 'start', id: 1, kernel: 'guests/echo.elf' }), 'not-authenticated', 1);
    expectError(await raw.request({ type: 'status', id: 2 }), 'not-authenticated', 2);
    raw.sendBinary(Buffer.from('ls\n'));
    expectError(await raw.next(), 'not-authenticated');
    expect(expectError(await raw.request({ type: 'hello', versions: [1] }), 'bad-message').message).toMatch(/token is required/);
    // None of that was fatal: the right token still gets in on this connection.
    raw.send({ type: 'hello', versions: [1], token: relay.token });
    expect(await raw.next()).toMatchObject({ type: 'hello', version: 1, accel: 'tcg', status: { state: 'none' } });
    expectError(await raw.request({ type: 'hello', versions: [1], token: relay.token }), 'already-authenticated');
    expect(relay.vms.length).toBe(0); // nothing was launched for the unauthenticated start
    raw.close();
  });

  it('closes connections that never say hello', async () => {
    const raw = await RawConnection.open(relay.server.url);
    expectError(await raw.next(3000), 'hello-timeout');
    expect((await raw.closed).code).toBe(CLOSE_CODES.helloTimeout);
  });

  it('refuses a client with no common protocol version', async () => {
    const err = await relay.connect({ versions: [99] }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'version-mismatch', message: /client speaks 99, relay speaks 1/ });
  });

  it('says clearly when no relay is running', async () => {
    const port = await freePort();
    const err = await RelayClient.connect({ url: `ws://127.0.0.1:${port}/`, token: 'x', WebSocket }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'relay-unreachable', message: /could not connect to the relay .*ECONNREFUSED.*is it running/ });
  });
});

describe('origin check', () => {
  it('accepts the local dev origins, and non-browser clients without Origin', async () => {
    for (const origin of ['http://localhost:5173', 'http://127.0.0.1:5173', undefined]) {
      (await RawConnection.authenticated(relay, origin)).close();
    }
  });

  it('refuses foreign origins before the WebSocket exists', async () => {
    for (const origin of ['http://evil.example', 'http://localhost:5174', 'null', 'https://localhost:5173']) {
      await expect(RawConnection.open(relay.server.url, origin), origin).rejects.toThrow('HTTP 403');
    }
    expect(relay.logs.some((l) => l.includes('refused connection from origin http://evil.example'))).toBe(true);
    await relayStillServes();
  });

  it('serves only on /', async () => {
    await expect(RawConnection.open(relay.server.url.replace(/\/$/, '/other'))).rejects.toThrow('HTTP 404');
  });
});

describe('file paths', () => {
  it('refuses traversal, absolute paths and symlinks out of the images directory, without starting QEMU', async () => {
    const raw = await RawConnection.authenticated(relay);
    const cases: [Record<string, string>, string][] = [
      [{ kernel: '../../etc/passwd' }, 'bad-path'],
      [{ kernel: '/etc/passwd' }, 'bad-path'],
      [{ kernel: 'guests/../../etc/passwd' }, 'bad-path'],
      [{ kernel: 'escape' }, 'bad-path'], // symlink to /etc/passwd inside the directory
      [{ kernel: 'guests/echo.elf', initrd: '../../../etc/shadow' }, 'bad-path'],
      [{ kernel: 'guests/echo.elf', disk: '/dev/sda' }, 'bad-path'],
      [{ kernel: 'no-such-kernel' }, 'not-found'],
      [{ kernel: 'a-directory' }, 'not-found'],
    ];
    let id = 100;
    for (const [fields, code] of cases) {
      const reply = expectError(await raw.request({ type: 'start', id: ++id, ...fields }), code, id);
      expect(reply.message).not.toContain('root:'); // never echo file contents
    }
    expect(relay.vms.length).toBe(0);
    raw.close();
  });

  it('refuses what the operator did not allow', async () => {
    const raw = await RawConnection.authenticated(relay);
    expectError(await raw.request({ type: 'start', id: 1, kernel: 'guests/echo.elf', memoryMiB: 4096 }), 'not-allowed', 1);
    expectError(await raw.request({ type: 'start', id: 2, kernel: 'guests/echo.elf', network: 'user' }), 'not-allowed', 2);
    expect(relay.vms.length).toBe(0);
    raw.close();
  });
});

describe('malformed and oversized messages', () => {
  it('answers each malformed message with an error and keeps serving the connection', async () => {
    const raw = await RawConnection.authenticated(relay);
    expectError(await raw.request('this is not json' as unknown as Record<string, unknown>), 'bad-json');
    expectError(await raw.request([1, 2, 3] as unknown as Record<string, unknown>), 'bad-message');
    expectError(await raw.request({ type: 'frobnicate', id: 'f' }), 'unknown-type', 'f');
    expectError(await raw.request({ type: 'start', id: 5, kernel: 42 }), 'bad-message', 5);
    expectError(await raw.request({ type: 'start', id: 6, kernel: 'k', memoryMb: 64 }), 'bad-message', 6);
    expectError(await raw.request({ type: 'pause', id: 7 }), 'bad-state', 7); // no VM yet
    raw.sendBinary(Buffer.from('typed with no VM'));
    expectError(await raw.next(), 'bad-state');
    expect(await raw.request({ type: 'status', id: 8 })).toMatchObject({ type: 'ok', id: 8, request: 'status' });
    raw.close();
  });

  it('drops frames over the soft limits with too-large, and keeps the connection', async () => {
    const raw = await RawConnection.authenticated(relay);
    raw.send({ type: 'status', id: 1, pad: 'x'.repeat(LIMITS.maxControlBytes) });
    expect(expectError(await raw.next(), 'too-large').message).toMatch(/control frame of \d+ bytes dropped: the limit is 16384/);
    raw.sendBinary(new Uint8Array(LIMITS.maxConsoleChunk + 1));
    expectError(await raw.next(), 'too-large');
    expect(await raw.request({ type: 'status', id: 2 })).toMatchObject({ type: 'ok', id: 2 });
    raw.close();
  });

  it('closes (1009) only a connection that sends more than the hard limit; others carry on', async () => {
    const bystander = await RawConnection.authenticated(relay);
    const raw = await RawConnection.authenticated(relay);
    raw.sendBinary(new Uint8Array(LIMITS.maxPayload + 1));
    expect((await raw.closed).code).toBe(CLOSE_CODES.messageTooBig);
    expect(await bystander.request({ type: 'status', id: 1 })).toMatchObject({ type: 'ok' });
    bystander.close();
    await relayStillServes();
  });

  it('rate-limits a flood, says so once, and recovers', async () => {
    const raw = await RawConnection.authenticated(relay);
    const N = 600;
    for (let i = 0; i < N; i++) raw.send({ type: 'status', id: i });
    const replies: ServerMessage[] = [];
    for (;;) {
      const m = await raw.next(2000).catch(() => null);
      if (!m) break;
      replies.push(m);
    }
    const limited = replies.filter((m) => m.type === 'error' && m.code === 'rate-limited');
    const ok = replies.filter((m) => m.type === 'ok');
    expect(ok.length).toBeGreaterThan(100); // the burst allowance passes
    expect(ok.length).toBeLessThan(N);
    // At most one complaint a second, not one per dropped frame (the flood
    // takes well under 3 s even on a loaded machine).
    expect(limited.length).toBeGreaterThanOrEqual(1);
    expect(limited.length).toBeLessThanOrEqual(3);
    expect(limited.length).toBeLessThan(N - ok.length);
    await sleep(1100);
    expect(await raw.request({ type: 'status', id: 'after' })).toMatchObject({ type: 'ok', id: 'after' });
    raw.close();
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}
