// The relay's network face: an HTTP server that accepts WebSocket upgrades
// on "/" from allowed origins and hands each connection to a Session. The
// token is checked by the session (in the first `hello` message), so that a
// browser gets a readable `bad-token` error instead of an opaque failed
// handshake; the Origin check happens here, before the upgrade, so a page
// from a foreign origin never gets a WebSocket at all.

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { originAllowed, type OriginPolicy } from './auth.ts';
import { LIMITS } from './protocol.ts';
import { Session, type SessionContext } from './session.ts';

export interface RelayServerOptions {
  host: string;
  /** 0 picks a free port (tests). */
  port: number;
  origins: OriginPolicy;
  /** Concurrent connections (each may run one VM). */
  maxSessions: number;
  session: SessionContext;
}

export class RelayServer {
  private readonly sessions = new Set<Session>();
  private nextSessionId = 1;

  private constructor(
    private readonly http: http.Server,
    private readonly wss: WebSocketServer,
    private readonly opts: RelayServerOptions,
  ) {}

  static async start(opts: RelayServerOptions): Promise<RelayServer> {
    const server = http.createServer((_req, res) => {
      res.writeHead(426, { 'Content-Type': 'text/plain; charset=utf-8', Upgrade: 'websocket' });
      res.end('This is the ts86 KVM relay. Connect with a WebSocket; see relay/README.md.\n');
    });
    const wss = new WebSocketServer({
      noServer: true,
      maxPayload: LIMITS.maxPayload,
      // Compression would let a small frame inflate into a large one and
      // costs CPU per frame; console traffic is tiny anyway.
      perMessageDeflate: false,
    });
    const relay = new RelayServer(server, wss, opts);
    server.on('upgrade', (req, socket, head) => relay.onUpgrade(req, socket, head));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port, opts.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return relay;
  }

  get port(): number {
    return (this.http.address() as AddressInfo).port;
  }

  /** The URL clients connect to. */
  get url(): string {
    const h = this.opts.host.includes(':') ? `[${this.opts.host}]` : this.opts.host;
    return `ws://${h}:${this.port}/`;
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  private onUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => {}); // a client vanishing mid-handshake is not the relay's problem
    const log = this.opts.session.log;
    const path = new URL(req.url ?? '/', 'http://relay').pathname;
    if (path !== '/') {
      refuse(socket, 404, 'Not Found', 'the relay listens on /');
      return;
    }
    const origin = req.headers.origin;
    if (!originAllowed(origin, this.opts.origins)) {
      log(`refused connection from origin ${origin ?? '(none)'}: not in --allow-origin`);
      refuse(socket, 403, 'Forbidden', `origin ${origin ?? '(none)'} is not allowed; start the relay with --allow-origin ${origin ?? 'ORIGIN'}`);
      return;
    }
    if (this.sessions.size >= this.opts.maxSessions) {
      log(`refused connection: ${this.sessions.size} sessions already (--max-sessions)`);
      refuse(socket, 503, 'Service Unavailable', 'the relay is serving its maximum number of clients');
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const id = this.nextSessionId++;
      log(`session ${id}: connected from ${req.socket.remoteAddress}${origin ? ` (origin ${origin})` : ''}`);
      const session = new Session(ws, this.opts.session, id);
      this.sessions.add(session);
      ws.on('close', () => this.sessions.delete(session));
    });
  }

  /** Stops accepting, ends every session and its VM. */
  async close(): Promise<void> {
    const closing = new Promise<void>((resolve) => this.http.close(() => resolve()));
    await Promise.all([...this.sessions].map((s) => s.shutdown()));
    this.wss.close();
    this.http.closeAllConnections();
    await closing;
  }
}

function refuse(socket: Duplex, status: number, statusText: string, body: string): void {
  const text = `${body}\n`;
  socket.end(
    `HTTP/1.1 ${status} ${statusText}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`,
  );
}
