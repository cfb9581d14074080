// Browser-side client for the ts86 native relay ("KVM mode"): connects to a
// relay URL, authenticates with the token the relay printed, and exposes the
// VM's serial console and controls. Protocol: relay/README.md and
// relay/protocol.ts (imported here so both ends share one definition).
//
// No DOM dependencies: it only needs a WebSocket constructor, so it runs in
// the page, in a worker, and in Node tests. Node 20 has no global WebSocket
// (Node 22 does; Node 20 only behind --experimental-websocket), so in Node
// pass the `ws` package's: `{ WebSocket }` from 'ws'.

import {
  CLOSE_CODES,
  LIMITS,
  PROTOCOL_VERSIONS,
  type ErrorCode,
  type ErrorReply,
  type HelloReply,
  type RelayEvent,
  type RequestId,
  type ServerMessage,
  type StartRequest,
  type VmCommand,
  type VmStatus,
} from '../../../relay/protocol.ts';

export type { HelloReply, RelayEvent, StartRequest, VmStatus } from '../../../relay/protocol.ts';

/**
 * The subset of the WebSocket API the client uses (browser, Node 22+, or
 * `ws`). Handler events are `any` here because each implementation has its
 * own event classes; the handlers below read only `data`, `code`, `reason`
 * and (from `ws`) `message`.
 */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  send(data: string | ArrayBufferLike | ArrayBufferView): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: any) => void) | null;
  onmessage: ((ev: any) => void) | null;
  onerror: ((ev: any) => void) | null;
  onclose: ((ev: any) => void) | null;
}
export type WebSocketConstructor = new (url: string) => WebSocketLike;

/**
 * Why something failed. The client's own codes, then any error code the
 * relay sends (relay/protocol.ts ERROR_CODES).
 */
export type RelayClientErrorCode =
  | 'relay-unreachable' // nothing answered, or the handshake was refused (e.g. origin not allowed)
  | 'timeout' // the relay did not answer in time
  | 'closed' // the connection ended
  | 'protocol' // the relay sent something this client does not understand
  | ErrorCode;

export class RelayClientError extends Error {
  constructor(
    readonly code: RelayClientErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'RelayClientError';
  }
}

export interface RelayClientOptions {
  /** e.g. ws://127.0.0.1:8086/ */
  url: string;
  token: string;
  /** Defaults to globalThis.WebSocket. */
  WebSocket?: WebSocketConstructor;
  /** Connect plus hello; default 10 s. */
  connectTimeoutMs?: number;
  /** Per request; default 60 s (a start under TCG on a busy host can take a while). */
  requestTimeoutMs?: number;
  /** Shown in the relay's log. */
  clientName?: string;
  /** Protocol versions to offer; only tests change this. */
  versions?: number[];
}

export interface CloseInfo {
  code: number;
  reason: string;
}

const OPEN = 1;

type Pending = { resolve: (s: VmStatus) => void; reject: (e: Error) => void; timer: ReturnType<typeof setTimeout> };

export class RelayClient {
  private readonly pending = new Map<RequestId, Pending>();
  private nextId = 1;
  private lastStatus: VmStatus;
  private readonly consoleListeners = new Set<(data: Uint8Array) => void>();
  private readonly eventListeners = new Set<(e: RelayEvent) => void>();
  private readonly errorListeners = new Set<(e: ErrorReply) => void>();
  private readonly closeListeners = new Set<(info: CloseInfo) => void>();
  private closeInfo: CloseInfo | null = null;
  private readonly encoder = new TextEncoder();

  private constructor(
    private readonly ws: WebSocketLike,
    /** What the relay said in its hello: accelerator, fallback notice, limits. */
    readonly hello: HelloReply,
    private readonly requestTimeoutMs: number,
  ) {
    this.lastStatus = hello.status;
    ws.onmessage = (ev: { data: unknown }) => this.onMessage(ev.data);
    ws.onerror = () => {}; // the close that follows carries the news
    ws.onclose = (ev: CloseInfo) => this.onClosed({ code: ev.code, reason: ev.reason });
  }

  /**
   * Connects and authenticates. Rejects with a RelayClientError whose code
   * says what to fix: 'relay-unreachable', 'bad-token', 'version-mismatch',
   * 'timeout'.
   */
  static connect(options: RelayClientOptions): Promise<RelayClient> {
    const Ctor = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (!Ctor) {
      return Promise.reject(
        new Error('no WebSocket implementation: pass one in options.WebSocket (in Node 20: `import { WebSocket } from "ws"`)'),
      );
    }
    const { url } = options;
    let ws: WebSocketLike;
    try {
      ws = new Ctor(url);
    } catch (e) {
      return Promise.reject(new RelayClientError('relay-unreachable', `bad relay URL ${url}: ${(e as Error).message}`));
    }
    ws.binaryType = 'arraybuffer';
    const timeoutMs = options.connectTimeoutMs ?? 10_000;

    return new Promise((resolve, reject) => {
      let opened = false;
      let lowLevelError = '';
      let settled = false;
      const fail = (e: RelayClientError) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        ws.onopen = ws.onmessage = ws.onerror = ws.onclose = null;
        try {
          ws.close();
        } catch {
          // already closed
        }
        reject(e);
      };
      const timer = setTimeout(
        () => fail(new RelayClientError('timeout', `the relay at ${url} did not answer within ${timeoutMs} ms`)),
        timeoutMs,
      );

      ws.onopen = () => {
        opened = true;
        ws.send(
          JSON.stringify({
            type: 'hello',
            versions: options.versions ?? [...PROTOCOL_VERSIONS],
            token: options.token,
            ...(options.clientName !== undefined && { client: options.clientName }),
          }),
        );
      };
      ws.onerror = (ev: unknown) => {
        // Browsers say nothing about why; Node's `ws` gives a message.
        const m = (ev as { message?: unknown })?.message;
        if (typeof m === 'string') lowLevelError = m;
      };
      ws.onclose = (ev: CloseInfo) => {
        if (!opened) {
          fail(
            new RelayClientError(
              'relay-unreachable',
              `could not connect to the relay at ${url}${lowLevelError ? ` (${lowLevelError})` : ''}: ` +
                'is it running (`npx ts86-relay`)? If it is, it may not allow this page\'s origin (see its --allow-origin).',
            ),
          );
        } else {
          fail(new RelayClientError('closed', `the relay closed the connection during hello (code ${ev.code}${ev.reason ? `, ${ev.reason}` : ''})`));
        }
      };
      ws.onmessage = (ev: { data: unknown }) => {
        const msg = parseServerText(ev.data);
        if (!msg) {
          fail(new RelayClientError('protocol', 'the relay sent something other than a hello reply; is this a ts86 relay?'));
          return;
        }
        if (msg.type === 'hello') {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve(new RelayClient(ws, msg, options.requestTimeoutMs ?? 60_000));
        } else if (msg.type === 'error') {
          fail(new RelayClientError(msg.code, explainHelloError(msg)));
        }
      };
    });
  }

  /** Last VM status the relay reported (updated by every reply and event). */
  get status(): VmStatus {
    return this.lastStatus;
  }

  get isOpen(): boolean {
    return this.closeInfo === null && this.ws.readyState === OPEN;
  }

  /** Serial console output from the guest. Returns an unsubscribe function. */
  onConsoleData(listener: (data: Uint8Array) => void): () => void {
    this.consoleListeners.add(listener);
    return () => this.consoleListeners.delete(listener);
  }

  /** VM events: started, paused, resumed, reset, powerdown, exited, error. */
  onEvent(listener: (e: RelayEvent) => void): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  /** Errors not tied to a request (dropped console input, rate limiting, ...). */
  onError(listener: (e: ErrorReply) => void): () => void {
    this.errorListeners.add(listener);
    return () => this.errorListeners.delete(listener);
  }

  onClose(listener: (info: CloseInfo) => void): () => void {
    this.closeListeners.add(listener);
    if (this.closeInfo) listener(this.closeInfo);
    return () => this.closeListeners.delete(listener);
  }

  /** Sends keyboard input to the guest's serial console. */
  writeConsole(data: string | Uint8Array): void {
    if (!this.isOpen) throw new RelayClientError('closed', 'the relay connection is closed');
    const bytes = typeof data === 'string' ? this.encoder.encode(data) : data;
    // Stay under the relay's per-frame limit, so a big paste is not refused.
    const chunk = this.hello.limits.maxConsoleChunk;
    for (let i = 0; i < bytes.length; i += chunk) this.ws.send(bytes.subarray(i, i + chunk));
  }

  /** Boots a VM; paths are relative to the relay's images directory. */
  start(spec: Omit<StartRequest, 'type' | 'id'>): Promise<VmStatus> {
    return this.request({ type: 'start', ...spec });
  }
  pause(): Promise<VmStatus> {
    return this.command('pause');
  }
  resume(): Promise<VmStatus> {
    return this.command('resume');
  }
  reset(): Promise<VmStatus> {
    return this.command('reset');
  }
  /** Presses the ACPI power button; the guest decides what to do (see relay/README.md). */
  powerdown(): Promise<VmStatus> {
    return this.command('powerdown');
  }
  /** Ends the VM at once (QMP quit). */
  quit(): Promise<VmStatus> {
    return this.command('quit');
  }
  /** Asks the relay (and QEMU) for the current status. */
  requestStatus(): Promise<VmStatus> {
    return this.command('status');
  }

  close(): void {
    this.ws.close(1000, 'client closed');
  }

  private command(type: VmCommand): Promise<VmStatus> {
    return this.request({ type });
  }

  private request(body: Record<string, unknown> & { type: string }): Promise<VmStatus> {
    if (!this.isOpen) return Promise.reject(new RelayClientError('closed', 'the relay connection is closed'));
    const id = this.nextId++;
    const text = JSON.stringify({ ...body, id });
    if (this.encoder.encode(text).length > LIMITS.maxControlBytes) {
      return Promise.reject(new RelayClientError('too-large', `${body.type} request is too large`));
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new RelayClientError('timeout', `no reply to ${body.type} within ${this.requestTimeoutMs} ms`));
      }, this.requestTimeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      this.ws.send(text);
    });
  }

  private onMessage(data: unknown): void {
    if (typeof data !== 'string') {
      const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : null;
      if (bytes) for (const l of this.consoleListeners) l(bytes);
      return;
    }
    const msg = parseServerText(data);
    if (!msg) return;
    switch (msg.type) {
      case 'ok':
      case 'error': {
        if ('status' in msg) this.lastStatus = msg.status;
        const p = msg.id === undefined ? undefined : this.pending.get(msg.id);
        if (p && msg.id !== undefined) {
          this.pending.delete(msg.id);
          clearTimeout(p.timer);
          if (msg.type === 'ok') p.resolve(msg.status);
          else p.reject(new RelayClientError(msg.code, msg.message));
        } else if (msg.type === 'error') {
          for (const l of this.errorListeners) l(msg);
        }
        break;
      }
      case 'event':
        this.lastStatus = msg.status;
        for (const l of this.eventListeners) l(msg);
        break;
      case 'hello':
        break; // only expected once, during connect
    }
  }

  private onClosed(info: CloseInfo): void {
    if (this.closeInfo) return;
    this.closeInfo = info;
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new RelayClientError('closed', `the relay connection closed before the reply (code ${info.code})`));
      this.pending.delete(id);
    }
    for (const l of this.closeListeners) l(info);
  }
}

function parseServerText(data: unknown): ServerMessage | null {
  if (typeof data !== 'string') return null;
  try {
    const v = JSON.parse(data) as unknown;
    if (typeof v === 'object' && v !== null && typeof (v as { type?: unknown }).type === 'string') return v as ServerMessage;
  } catch {
    // fall through
  }
  return null;
}

function explainHelloError(e: ErrorReply): string {
  switch (e.code) {
    case 'bad-token':
      return 'the relay refused the token: copy the token the relay printed when it started (it changes on every start)';
    case 'version-mismatch':
      return `protocol version mismatch: ${e.message}`;
    default:
      return e.message;
  }
}

/**
 * Relay URL and token from a page URL fragment, as printed by the relay:
 * `#relay=ws%3A%2F%2F127.0.0.1%3A8086%2F&token=...`. The fragment never
 * reaches a server, which is why the token travels there.
 */
export function relayParamsFromFragment(hash: string): { url?: string; token?: string } {
  const params = new URLSearchParams(hash.replace(/^#/, ''));
  const out: { url?: string; token?: string } = {};
  const url = params.get('relay');
  const token = params.get('token');
  if (url) out.url = url;
  if (token) out.token = token;
  return out;
}

export { CLOSE_CODES };
