// A QMP (QEMU Machine Protocol) client over any byte stream: QEMU sends a
// greeting, the client enters command mode with qmp_capabilities, then
// commands and replies are JSON objects, one per line, matched by "id";
// asynchronous events ({"event": ...}) can arrive at any time in between.

import type { Duplex } from 'node:stream';

export interface QmpEvent {
  event: string;
  data?: Record<string, unknown>;
  timestamp?: { seconds: number; microseconds: number };
}

/** QEMU answered a command with {"error": {"class", "desc"}}. */
export class QmpCommandError extends Error {
  constructor(
    readonly command: string,
    readonly errorClass: string,
    readonly desc: string,
  ) {
    super(`QMP ${command} failed: ${desc} (${errorClass})`);
    this.name = 'QmpCommandError';
  }
}

/** The QMP stream closed or broke before a reply came. */
export class QmpClosedError extends Error {
  constructor(message = 'QMP connection closed') {
    super(message);
    this.name = 'QmpClosedError';
  }
}

// QEMU's replies are small; a line this long means the stream is not QMP.
const MAX_LINE = 1024 * 1024;

type Pending = { command: string; resolve: (v: unknown) => void; reject: (e: Error) => void };

export class QmpClient {
  private buffer = '';
  private nextId = 1;
  private readonly pending = new Map<string, Pending>();
  private readonly eventListeners = new Set<(e: QmpEvent) => void>();
  private closed: Error | null = null;
  private greeting: ((g: Record<string, unknown>) => void) | null = null;
  /** Rejecters for connect() while the handshake is in progress. */
  private readonly closedWaiters: ((e: Error) => void)[] = [];

  private constructor(private readonly stream: Duplex) {
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => this.onData(chunk));
    stream.on('error', (e) => this.fail(new QmpClosedError(`QMP connection failed: ${e.message}`)));
    stream.on('close', () => this.fail(new QmpClosedError()));
  }

  /**
   * Waits for QEMU's greeting and negotiates command mode. Rejects if the
   * stream closes or nothing sensible arrives within `timeoutMs`.
   */
  static async connect(stream: Duplex, timeoutMs = 10_000): Promise<QmpClient> {
    const client = new QmpClient(stream);
    const greeting = new Promise<Record<string, unknown>>((resolve) => (client.greeting = resolve));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new QmpClosedError(`no QMP greeting within ${timeoutMs} ms`)), timeoutMs);
    });
    const closedEarly = new Promise<never>((_, reject) => client.closedWaiters.push(reject));
    try {
      const g = await Promise.race([greeting, timeout, closedEarly]);
      if (!('QMP' in g)) throw new QmpClosedError('peer did not send a QMP greeting');
      await Promise.race([client.execute('qmp_capabilities'), timeout]);
      return client;
    } catch (e) {
      stream.destroy();
      throw e;
    } finally {
      clearTimeout(timer);
      client.closedWaiters.length = 0;
    }
  }

  /** Runs a command; resolves with its "return" value. */
  execute(command: string, args?: Record<string, unknown>): Promise<unknown> {
    if (this.closed) return Promise.reject(this.closed);
    const id = `ts86-${this.nextId++}`;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { command, resolve, reject });
      this.stream.write(JSON.stringify({ execute: command, ...(args && { arguments: args }), id }) + '\n');
    });
  }

  onEvent(listener: (e: QmpEvent) => void): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  get isClosed(): boolean {
    return this.closed !== null;
  }

  close(): void {
    this.stream.destroy();
  }

  private onData(chunk: string): void {
    this.buffer += chunk;
    let nl: number;
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, nl).trim();
      this.buffer = this.buffer.slice(nl + 1);
      if (line) this.onLine(line);
    }
    if (this.buffer.length > MAX_LINE) {
      this.fail(new QmpClosedError('QMP line too long; not a QMP stream?'));
      this.stream.destroy();
    }
  }

  private onLine(line: string): void {
    let msg: Record<string, unknown>;
    try {
      msg = JSON.parse(line);
    } catch {
      return; // QEMU never sends this; ignoring beats tearing down the VM's control channel
    }
    if (this.greeting) {
      const g = this.greeting;
      this.greeting = null;
      g(msg);
      return;
    }
    if (typeof msg.event === 'string') {
      for (const l of this.eventListeners) l(msg as unknown as QmpEvent);
      return;
    }
    const id = typeof msg.id === 'string' ? msg.id : undefined;
    const p = id === undefined ? undefined : this.pending.get(id);
    if (!p || id === undefined) return;
    this.pending.delete(id);
    if ('error' in msg) {
      const err = (msg.error ?? {}) as { class?: string; desc?: string };
      p.reject(new QmpCommandError(p.command, err.class ?? 'GenericError', err.desc ?? 'unknown error'));
    } else {
      p.resolve(msg.return);
    }
  }

  private fail(e: Error): void {
    if (this.closed) return;
    this.closed = e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
    for (const w of this.closedWaiters) w(e);
  }
}
