// QmpClient against a scripted fake QEMU on a unix socket: handshake,
// command/reply matching by id, errors, events, and a peer that vanishes.

import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QmpClient, QmpClosedError, QmpCommandError, type QmpEvent } from './qmp-client.ts';

let dir: string;
let n = 0;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'ts86-qmp-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

type Peer = { socket: net.Socket; lines: AsyncIterator<Record<string, unknown>> };

/** A connected pair: the client side socket and the fake QEMU's side. */
async function pair(): Promise<{ client: net.Socket; peer: Peer }> {
  const sock = path.join(dir, `${n++}.sock`);
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(sock, r));
  const accepted = new Promise<net.Socket>((r) => server.once('connection', r));
  const client = net.connect(sock);
  const socket = await accepted;
  server.close();
  return { client, peer: { socket, lines: lineReader(socket) } };
}

async function* lineReaderGen(socket: net.Socket): AsyncGenerator<Record<string, unknown>> {
  let buf = '';
  for await (const chunk of socket) {
    buf += chunk.toString();
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      yield JSON.parse(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
  }
}
const lineReader = (s: net.Socket) => lineReaderGen(s)[Symbol.asyncIterator]();
const send = (p: Peer, msg: unknown) => p.socket.write(`${JSON.stringify(msg)}\r\n`);
const next = async (p: Peer) => (await p.lines.next()).value as Record<string, unknown>;

async function connected(): Promise<{ qmp: QmpClient; peer: Peer }> {
  const { client, peer } = await pair();
  const connecting = QmpClient.connect(client, 2000);
  send(peer, { QMP: { version: {}, capabilities: [] } });
  const caps = await next(peer);
  expect(caps.execute).toBe('qmp_capabilities');
  send(peer, { return: {}, id: caps.id });
  return { qmp: await connecting, peer };
}

describe('QmpClient', () => {
  it('negotiates capabilities, then matches replies to commands by id', async () => {
    const { qmp, peer } = await connected();
    const a = qmp.execute('query-status');
    const b = qmp.execute('human-monitor-command', { 'command-line': 'info version' });
    const ca = await next(peer);
    const cb = await next(peer);
    expect(cb.arguments).toEqual({ 'command-line': 'info version' });
    // Replies out of order still land on the right promise.
    send(peer, { return: '7.2', id: cb.id });
    send(peer, { return: { status: 'running', running: true }, id: ca.id });
    expect(await a).toEqual({ status: 'running', running: true });
    expect(await b).toBe('7.2');
    qmp.close();
  });

  it('turns QMP errors into QmpCommandError', async () => {
    const { qmp, peer } = await connected();
    const p = qmp.execute('cont');
    const c = await next(peer);
    send(peer, { error: { class: 'GenericError', desc: 'no way' }, id: c.id });
    await expect(p).rejects.toBeInstanceOf(QmpCommandError);
    await expect(p).rejects.toThrow(/cont failed: no way/);
    qmp.close();
  });

  it('delivers events between replies', async () => {
    const { qmp, peer } = await connected();
    const events: QmpEvent[] = [];
    qmp.onEvent((e) => events.push(e));
    const p = qmp.execute('stop');
    const c = await next(peer);
    send(peer, { event: 'STOP', timestamp: { seconds: 1, microseconds: 2 } });
    send(peer, { return: {}, id: c.id });
    await p;
    expect(events.map((e) => e.event)).toEqual(['STOP']);
    qmp.close();
  });

  it('rejects pending commands when QEMU goes away', async () => {
    const { qmp, peer } = await connected();
    const p = qmp.execute('query-status');
    await next(peer);
    peer.socket.destroy();
    await expect(p).rejects.toBeInstanceOf(QmpClosedError);
    await expect(qmp.execute('cont')).rejects.toBeInstanceOf(QmpClosedError);
    expect(qmp.isClosed).toBe(true);
  });

  it('fails the handshake on a peer that is not QMP, or says nothing', async () => {
    const silent = await pair();
    await expect(QmpClient.connect(silent.client, 200)).rejects.toThrow(/no QMP greeting within 200 ms/);
    const wrong = await pair();
    const c = QmpClient.connect(wrong.client, 2000);
    send(wrong.peer, { hello: 'I am not QEMU' });
    await expect(c).rejects.toThrow(/did not send a QMP greeting/);
    const gone = await pair();
    const g = QmpClient.connect(gone.client, 2000);
    gone.peer.socket.destroy();
    await expect(g).rejects.toBeInstanceOf(QmpClosedError);
  });
});
