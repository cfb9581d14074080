// Starts one QEMU process and owns it until it is gone: its private temp
// directory (QMP socket), its COM1 pipes, its QMP connection, and its exit.
// Nothing here knows about WebSockets; session.ts bridges this to a client.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { RelayError } from './errors.ts';
import { ARCHES, type Arch } from './protocol.ts';
import { buildQemuArgs, qemuBinary, type VmSpec } from './qemu-args.ts';
import { QmpClient } from './qmp-client.ts';

export interface LaunchOptions {
  /** Binary to run instead of qemuBinary(spec.arch) (tests). */
  binary?: string;
  /** QEMU's seccomp sandbox; default on. */
  sandbox?: boolean;
  /** Keep the vCPU stopped until `cont` (see HostSide.startPaused); default true. */
  startPaused?: boolean;
  /** How long QEMU has to connect to QMP; default 15 s (a loaded host can be slow). */
  startTimeoutMs?: number;
}

export interface QemuExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The last few KiB QEMU wrote to stderr (its error messages). */
  stderr: string;
}

const STDERR_KEEP = 8 * 1024;

/**
 * Whether `setpriv --pdeathsig` exists. With it, the kernel kills QEMU if the
 * relay dies without cleaning up (kill -9, OOM), instead of leaving an orphan
 * VM running with nobody attached.
 */
let pdeathsigSupport: boolean | undefined;
function hasPdeathsig(): boolean {
  if (pdeathsigSupport === undefined) {
    const r = spawnSync('setpriv', ['--help'], { encoding: 'utf8' });
    pdeathsigSupport = r.status === 0 && r.stdout.includes('--pdeathsig');
  }
  return pdeathsigSupport;
}

/** Architectures whose QEMU binary is on PATH. */
export function installedArches(): Arch[] {
  const dirs = (process.env.PATH ?? '').split(path.delimiter).filter(Boolean);
  return ARCHES.filter((arch) =>
    dirs.some((d) => {
      try {
        accessSync(path.join(d, qemuBinary(arch)), constants.X_OK);
        return true;
      } catch {
        return false;
      }
    }),
  );
}

export class QemuProcess {
  readonly exited: Promise<QemuExit>;
  private stderrTail = '';
  private exitInfo: QemuExit | null = null;
  private readonly serialListeners = new Set<(data: Buffer) => void>();
  /** Output that arrived before anyone listened (nothing is dropped). */
  private serialBacklog: Buffer[] = [];

  /** Set by launchQemu once QEMU connected to QMP. */
  qmp!: QmpClient;

  constructor(
    private readonly child: ChildProcess,
    /** Private directory (mode 0700) holding the QMP socket; removed when QEMU ends. */
    readonly tempDir: string,
  ) {
    child.stdout!.on('data', (data: Buffer) => {
      if (this.serialListeners.size === 0) this.serialBacklog.push(data);
      else for (const l of this.serialListeners) l(data);
    });
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (s: string) => {
      this.stderrTail = (this.stderrTail + s).slice(-STDERR_KEEP);
    });
    // Writes racing QEMU's death fail with EPIPE; the exit is reported
    // through `exited`, so the write error itself carries no news.
    child.stdin!.on('error', () => {});
    // A failed spawn or kill surfaces as 'error'; without a listener Node
    // would throw it at the relay. launchQemu reports spawn failures.
    child.on('error', () => {});
    this.exited = new Promise((resolve) => {
      // 'close' (not 'exit') so stderr has been read to the end.
      child.on('close', (code, signal) => {
        this.exitInfo = { code, signal, stderr: this.stderrTail };
        rm(this.tempDir, { recursive: true, force: true }).finally(() => resolve(this.exitInfo!));
      });
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  get hasExited(): boolean {
    return this.exitInfo !== null;
  }

  get stderr(): string {
    return this.stderrTail;
  }

  /** Bytes the guest wrote to COM1. */
  onSerial(listener: (data: Buffer) => void): () => void {
    this.serialListeners.add(listener);
    const backlog = this.serialBacklog;
    this.serialBacklog = [];
    for (const b of backlog) listener(b);
    return () => this.serialListeners.delete(listener);
  }

  /** Bytes for the guest's COM1. Returns false once QEMU's stdin is gone. */
  writeSerial(data: Uint8Array): boolean {
    const stdin = this.child.stdin!;
    if (stdin.destroyed || !stdin.writable) return false;
    stdin.write(data);
    return true;
  }

  /** Stop reading COM1 output while the consumer catches up (backpressure). */
  pauseSerial(): void {
    this.child.stdout!.pause();
  }
  resumeSerial(): void {
    this.child.stdout!.resume();
  }

  /** Sends a signal (tests use SIGKILL to simulate a crash). */
  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (!this.hasExited) this.child.kill(signal);
  }

  /**
   * Ends QEMU: a QMP `quit` first (QEMU flushes and exits cleanly), SIGKILL
   * if that has not worked within `graceMs`.
   */
  async stop(graceMs = 2000): Promise<QemuExit> {
    if (this.exitInfo) return this.exitInfo;
    const timer = setTimeout(() => this.kill('SIGKILL'), graceMs);
    try {
      if (this.qmp && !this.qmp.isClosed) this.qmp.execute('quit').catch(() => {});
      else this.kill('SIGKILL');
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * Starts QEMU for `spec` and resolves once QMP is ready. On failure QEMU is
 * gone, its temp directory removed, and the error is a RelayError
 * ('qemu-failed') whose message includes what QEMU printed.
 */
export async function launchQemu(spec: VmSpec, opts: LaunchOptions = {}): Promise<QemuProcess> {
  const tempDir = await mkdtemp(path.join(os.tmpdir(), 'ts86-relay-'));
  const qmpSocketPath = path.join(tempDir, 'qmp.sock');
  const server = net.createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(qmpSocketPath, resolve);
    });
  } catch (e) {
    await rm(tempDir, { recursive: true, force: true });
    throw new RelayError('qemu-failed', `cannot create the QMP socket: ${(e as Error).message}`);
  }

  const binary = opts.binary ?? qemuBinary(spec.arch);
  const args = buildQemuArgs(spec, {
    qmpSocketPath,
    sandbox: opts.sandbox ?? true,
    startPaused: opts.startPaused ?? true,
  });
  const [cmd, argv]: [string, string[]] = hasPdeathsig()
    ? ['setpriv', ['--pdeathsig', 'KILL', '--', binary, ...args]]
    : [binary, args];
  const child = spawn(cmd, argv, { stdio: ['pipe', 'pipe', 'pipe'] });
  const qemu = new QemuProcess(child, tempDir);

  const timeoutMs = opts.startTimeoutMs ?? 15_000;
  let timer: NodeJS.Timeout | undefined;
  try {
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      server.once('connection', resolve);
      child.once('error', (e) => reject(new Error(`cannot run ${binary}: ${e.message}`)));
      qemu.exited.then(() => reject(new Error('QEMU exited during start-up')));
      timer = setTimeout(() => reject(new Error(`QEMU did not connect to QMP within ${timeoutMs} ms`)), timeoutMs);
    });
    qemu.qmp = await QmpClient.connect(socket, timeoutMs);
    return qemu;
  } catch (e) {
    // QEMU connects to QMP before it loads the kernel, so a bad kernel shows
    // up here first as a reset QMP connection. Give QEMU a moment to finish
    // exiting, so the error names the real cause (its exit and stderr).
    const ownExit = await Promise.race([qemu.exited, sleep(1000).then(() => null)]);
    qemu.kill('SIGKILL');
    // Node emits 'close' even when the spawn itself failed, so this settles
    // and the temp directory is removed in every case.
    const exit = await qemu.exited;
    const what = ownExit && child.pid !== undefined ? `QEMU exited during start-up (${describeExit(ownExit)})` : (e as Error).message;
    const stderr = exit.stderr.trim();
    throw new RelayError('qemu-failed', `${what}${stderr ? `: ${stderr}` : ''}`);
  } finally {
    clearTimeout(timer);
    server.close();
  }
}

export function describeExit(x: Pick<QemuExit, 'code' | 'signal'>): string {
  return x.signal ? `killed by ${x.signal}` : `exit status ${x.code}`;
}
