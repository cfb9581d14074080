// RelayClient (src/ui/kvm/relay-client.ts) against a scripted fake
// WebSocket: the parts the integration tests cannot provoke from a real
// relay (garbage replies, silence) plus the helpers. The real relay is
// driven through this client in relay.integration.test.ts.

import { describe, expect, it } from 'vitest';
import { RelayClient, relayParamsFromFragment, type WebSocketLike } from '../src/ui/kvm/relay-client.ts';
import { LIMITS } from './protocol.ts';

/** A WebSocket whose "server" is the test: it sees what was sent and injects replies. */
class FakeSocket implements WebSocketLike {
  static last: FakeSocket;
  binaryType = 'blob';
  readyState = 0;
  sent: (string | Uint8Array)[] = [];
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  constructor(readonly url: string) {
    FakeSocket.last = this;
  }
  send(data: string | ArrayBufferLike | ArrayBufferView): void {
    this.sent.push(typeof data === 'string' ? data : new Uint8Array(data as ArrayBuffer).slice());
  }
  close(code = 1000, reason = ''): void {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }
  open(): void {
    this.readyState = 1;
    this.onopen?.({});
  }
  reply(msg: unknown): void {
    this.onmessage?.({ data: typeof msg === 'string' ? msg : JSON.stringify(msg) });
  }
}

const hello = {
  type: 'hello', version: 1, server: 'fake', accel: 'tcg', arches: ['i386'],
  limits: { maxControlBytes: LIMITS.maxControlBytes, maxConsoleChunk: 4, maxPayload: LIMITS.maxPayload, maxMemoryMiB: 64 },
  status: { state: 'none' },
};

async function connected(opts: { requestTimeoutMs?: number } = {}): Promise<{ client: RelayClient; ws: FakeSocket }> {
  const p = RelayClient.connect({ url: 'ws://fake/', token: 'tok', WebSocket: FakeSocket, ...opts });
  const ws = FakeSocket.last;
  ws.open();
  expect(JSON.parse(ws.sent[0] as string)).toEqual({ type: 'hello', versions: [1], token: 'tok' });
  ws.reply(hello);
  return { client: await p, ws };
}

describe('RelayClient', () => {
  it('sends console input as binary frames, split at the relay\'s chunk limit', async () => {
    const { client, ws } = await connected();
    client.writeConsole('abcdefghij');
    expect(ws.sent.slice(1).map((b) => Buffer.from(b as Uint8Array).toString())).toEqual(['abcd', 'efgh', 'ij']);
  });

  it('matches replies by id and turns error replies into RelayClientError', async () => {
    const { client, ws } = await connected();
    const p = client.pause();
    const q = client.resume();
    const [pause, resume] = ws.sent.slice(1).map((t) => JSON.parse(t as string));
    ws.reply({ type: 'error', id: resume.id, code: 'bad-state', message: 'no VM' });
    ws.reply({ type: 'ok', id: pause.id, request: 'pause', status: { state: 'paused' } });
    await expect(q).rejects.toMatchObject({ code: 'bad-state', message: 'no VM' });
    expect(await p).toEqual({ state: 'paused' });
    expect(client.status).toEqual({ state: 'paused' });
  });

  it('routes events, unsolicited errors and console bytes to their listeners', async () => {
    const { client, ws } = await connected();
    const seen: string[] = [];
    client.onEvent((e) => seen.push(`event:${e.event}`));
    client.onError((e) => seen.push(`error:${e.code}`));
    client.onConsoleData((d) => seen.push(`console:${Buffer.from(d).toString()}`));
    ws.reply({ type: 'event', event: 'paused', status: { state: 'paused' }, message: 'VM paused' });
    ws.reply({ type: 'error', code: 'rate-limited', message: 'slow down' });
    ws.onmessage?.({ data: new TextEncoder().encode('hi').buffer });
    ws.reply('garbage that is not JSON'); // ignored, not fatal
    expect(seen).toEqual(['event:paused', 'error:rate-limited', 'console:hi']);
    expect(client.status.state).toBe('paused');
  });

  it('times out requests the relay never answers, and fails pending ones on close', async () => {
    const { client, ws } = await connected({ requestTimeoutMs: 50 });
    await expect(client.requestStatus()).rejects.toMatchObject({ code: 'timeout' });
    const p = client.pause();
    ws.close(1006, '');
    await expect(p).rejects.toMatchObject({ code: 'closed' });
    await expect(client.resume()).rejects.toMatchObject({ code: 'closed' });
    expect(() => client.writeConsole('x')).toThrow(/closed/);
  });

  it('gives clear errors for a silent relay, a non-relay, and no WebSocket at all', async () => {
    const silent = RelayClient.connect({ url: 'ws://fake/', token: 't', WebSocket: FakeSocket, connectTimeoutMs: 50 });
    FakeSocket.last.open();
    await expect(silent).rejects.toMatchObject({ code: 'timeout' });

    const other = RelayClient.connect({ url: 'ws://fake/', token: 't', WebSocket: FakeSocket });
    FakeSocket.last.open();
    FakeSocket.last.reply('<html>');
    await expect(other).rejects.toMatchObject({ code: 'protocol' });

    const refused = RelayClient.connect({ url: 'ws://fake/', token: 't', WebSocket: FakeSocket });
    FakeSocket.last.close(1006, '');
    await expect(refused).rejects.toMatchObject({ code: 'relay-unreachable', message: /is it running/ });

    const g = globalThis as { WebSocket?: unknown };
    const saved = g.WebSocket;
    g.WebSocket = undefined;
    try {
      await expect(RelayClient.connect({ url: 'ws://fake/', token: 't' })).rejects.toThrow(/pass one in options.WebSocket/);
    } finally {
      g.WebSocket = saved;
    }
  });
});

describe('relayParamsFromFragment', () => {
  it('reads the relay URL and token the relay prints', () => {
    expect(relayParamsFromFragment('#relay=ws%3A%2F%2F127.0.0.1%3A8086%2F&token=abc_-1')).toEqual({
      url: 'ws://127.0.0.1:8086/',
      token: 'abc_-1',
    });
    expect(relayParamsFromFragment('')).toEqual({});
    expect(relayParamsFromFragment('#token=t')).toEqual({ token: 't' });
  });
});
