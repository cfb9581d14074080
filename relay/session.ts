// One WebSocket client. The session authenticates the client, enforces the
// frame size and rate limits, validates what it sends, hands requests to its
// VmController (vm-controller.ts), and sends replies, events and console
// output back. When the client goes away, the VM goes with it.
//
// Two rules make the stream predictable for clients:
//  - every request gets exactly one reply: `ok` or `error` with its id;
//  - every VM state change is announced by an event, whoever caused it
//    (the client, the guest, or QEMU dying), and for changes a request
//    causes, the event comes before that request's reply.

import type { RawData, WebSocket } from 'ws';
import { tokensEqual } from './auth.ts';
import { RelayError } from './errors.ts';
import {
  CLOSE_CODES,
  LIMITS,
  PROTOCOL_VERSIONS,
  negotiateVersion,
  parseClientMessage,
  type ClientRequest,
  type ErrorCode,
  type HelloRequest,
  type RequestId,
  type ServerMessage,
} from './protocol.ts';
import { QmpCommandError, QmpClosedError } from './qmp-client.ts';
import { ConnectionRateLimiter, type RateLimits } from './rate-limit.ts';
import { VmController, type VmPolicy } from './vm-controller.ts';

export interface SessionContext extends VmPolicy {
  token: string;
  serverName: string;
  rateLimits: RateLimits;
  log: (message: string) => void;
  /** Default LIMITS.helloTimeoutSeconds; tests shorten it. */
  helloTimeoutMs?: number;
}

// Console output is paused (QEMU's stdout is not read) while this much is
// queued for a slow client, and resumed below the low mark, so a guest
// printing fast cannot grow the relay's memory without bound.
const SEND_HIGH_WATER = 1024 * 1024;
const SEND_LOW_WATER = 256 * 1024;

export class Session {
  private authenticated = false;
  private closed = false;
  private readonly helloTimer: NodeJS.Timeout;
  private readonly limiter: ConnectionRateLimiter;
  private readonly vm: VmController;
  private outputPaused = false;

  constructor(
    private readonly ws: WebSocket,
    private readonly ctx: SessionContext,
    readonly id: number,
  ) {
    this.limiter = new ConnectionRateLimiter(ctx.rateLimits);
    this.vm = new VmController(ctx, {
      event: (e) => this.send(e),
      console: (data) => this.sendConsole(data),
      log: (m) => this.log(m),
    });
    ws.on('message', (data, isBinary) => this.onFrame(data, isBinary));
    // ws reports protocol violations (e.g. a frame over maxPayload) here and
    // then closes the socket; without a listener it would be thrown.
    ws.on('error', (e) => this.log(`connection error: ${e.message}`));
    ws.on('close', () => this.onClose());
    const helloMs = ctx.helloTimeoutMs ?? LIMITS.helloTimeoutSeconds * 1000;
    this.helloTimer = setTimeout(() => {
      this.fatal('hello-timeout', `no hello within ${helloMs / 1000} s`, CLOSE_CODES.helloTimeout);
    }, helloMs);
  }

  /** Ends the session from the relay's side (relay shutdown). */
  async shutdown(): Promise<void> {
    this.ws.close(CLOSE_CODES.relayShutdown, 'relay shutting down');
    await this.vm.dispose();
  }

  // ------------------------------------------------------------ incoming

  private onFrame(raw: RawData, isBinary: boolean): void {
    // ws hands over Buffers (binaryType 'nodebuffer'); the other shapes are for completeness.
    const data = Buffer.isBuffer(raw) ? raw : Array.isArray(raw) ? Buffer.concat(raw) : Buffer.from(raw);
    const limit = isBinary ? LIMITS.maxConsoleChunk : LIMITS.maxControlBytes;
    if (data.length > limit) {
      this.error(undefined, 'too-large', `${isBinary ? 'console' : 'control'} frame of ${data.length} bytes dropped: the limit is ${limit}`);
      return;
    }
    if (!this.limiter.admit(isBinary ? data.length : 0)) {
      if (this.limiter.shouldComplain()) this.error(undefined, 'rate-limited', 'too many messages: some were dropped; slow down');
      return;
    }
    if (isBinary) {
      void this.guard(undefined, () => {
        if (!this.authenticated) throw new RelayError('not-authenticated', 'send hello with the token first');
        this.vm.writeConsole(data);
      });
      return;
    }
    const parsed = parseClientMessage(data.toString('utf8'));
    if (!parsed.ok) {
      this.error(parsed.id, parsed.code, parsed.message);
      return;
    }
    const msg = parsed.message;
    void this.guard('id' in msg ? msg.id : undefined, () => this.onRequest(msg));
  }

  private async onRequest(msg: ClientRequest): Promise<void> {
    if (msg.type === 'hello') {
      this.onHello(msg);
      return;
    }
    if (!this.authenticated) throw new RelayError('not-authenticated', 'send hello with the token first');
    if (msg.type === 'start') await this.vm.start(msg);
    else await this.vm.command(msg.type);
    this.send({ type: 'ok', ...(msg.id !== undefined && { id: msg.id }), request: msg.type, status: this.vm.status() });
  }

  private onHello(msg: HelloRequest): void {
    if (this.authenticated) throw new RelayError('already-authenticated', 'this connection already said hello');
    if (!tokensEqual(msg.token, this.ctx.token)) {
      this.log('refused: wrong token');
      this.fatal('bad-token', 'wrong token: use the token the relay printed when it started', CLOSE_CODES.badToken);
      return;
    }
    const version = negotiateVersion(msg.versions);
    if (version === null) {
      this.fatal(
        'version-mismatch',
        `no common protocol version: client speaks ${msg.versions.join(', ')}, relay speaks ${PROTOCOL_VERSIONS.join(', ')}; update the older side`,
        CLOSE_CODES.versionMismatch,
      );
      return;
    }
    clearTimeout(this.helloTimer);
    this.authenticated = true;
    this.log(`authenticated${msg.client ? ` (${msg.client})` : ''}, protocol ${version}`);
    const { accel } = this.ctx;
    this.send({
      type: 'hello',
      version,
      server: this.ctx.serverName,
      accel: accel.accel,
      ...(accel.notice !== undefined && { accelNotice: accel.notice }),
      arches: this.ctx.arches,
      limits: {
        maxControlBytes: LIMITS.maxControlBytes,
        maxConsoleChunk: LIMITS.maxConsoleChunk,
        maxPayload: LIMITS.maxPayload,
        maxMemoryMiB: this.ctx.maxMemoryMiB,
      },
      status: this.vm.status(),
    });
  }

  /** Runs a handler; whatever it throws becomes an error reply. */
  private async guard(id: RequestId | undefined, handler: () => void | Promise<void>): Promise<void> {
    try {
      await handler();
    } catch (e) {
      if (e instanceof RelayError) this.error(id, e.code, e.message);
      else if (e instanceof QmpCommandError || e instanceof QmpClosedError) this.error(id, 'qmp-error', e.message);
      else {
        this.log(`internal error: ${(e as Error).stack ?? String(e)}`);
        this.error(id, 'internal', `relay error: ${(e as Error).message}`);
      }
    }
  }

  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.helloTimer);
    this.log('client disconnected');
    void this.vm.dispose();
  }

  // ------------------------------------------------------------ outgoing

  private sendConsole(data: Buffer): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    this.ws.send(data, { binary: true }, () => {
      if (this.outputPaused && this.ws.bufferedAmount < SEND_LOW_WATER) {
        this.outputPaused = false;
        this.vm.resumeOutput();
      }
    });
    if (!this.outputPaused && this.ws.bufferedAmount > SEND_HIGH_WATER) {
      this.outputPaused = true;
      this.vm.pauseOutput();
    }
  }

  private send(msg: ServerMessage): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(JSON.stringify(msg));
  }

  private error(id: RequestId | undefined, code: ErrorCode, message: string): void {
    this.send({ type: 'error', ...(id !== undefined && { id }), code, message });
  }

  private fatal(code: ErrorCode, message: string, closeCode: number): void {
    this.send({ type: 'error', code, message, fatal: true });
    this.ws.close(closeCode, code);
  }

  private log(message: string): void {
    this.ctx.log(`session ${this.id}: ${message}`);
  }
}
