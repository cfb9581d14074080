// A real ts86-relay process for the KVM-mode page tests, started as a user
// starts it (the bin shim through tsx) with TCG forced, a free port, a known
// token (TS86_RELAY_TOKEN, as scripts pass it) and the test page's origin in
// --allow-origin. Also finds the QEMUs it runs, so a test can kill one.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { REPO_ROOT } from '../support/server.ts';

const BIN = join(REPO_ROOT, 'bin', 'ts86-relay.js');

export interface RelayProcess {
  /** e.g. ws://127.0.0.1:41234/ */
  url: string;
  token: string;
  pid: number;
  /** The relay's log so far (stderr). */
  log(): string;
  /** PIDs of the QEMU processes under the relay. */
  qemuPids(): number[];
  stop(): Promise<void>;
}

export interface RelayProcessOptions {
  images: string;
  allowOrigins: string[];
  token: string;
  startTimeoutMs?: number;
}

export async function startRelayProcess(opts: RelayProcessOptions): Promise<RelayProcess> {
  const args = [BIN, '--port', '0', '--accel', 'tcg', '--images', opts.images, ...opts.allowOrigins.flatMap((o) => ['--allow-origin', o])];
  const child = spawn(process.execPath, args, { env: { ...process.env, TS86_RELAY_TOKEN: opts.token }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the relay did not start within ${opts.startTimeoutMs ?? 60_000} ms:\n${stdout}${stderr}`)), opts.startTimeoutMs ?? 60_000);
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      const m = /listening on (ws:\/\/\S+)/.exec(stdout);
      if (m) { clearTimeout(timer); resolve(m[1]!); }
    });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`the relay exited with ${code}:\n${stdout}${stderr}`)); });
  });
  return {
    url,
    token: opts.token,
    pid: child.pid!,
    log: () => stderr,
    qemuPids: () => descendants(child.pid!).filter((pid) => commandLine(pid).includes('qemu-system')),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM'); // the relay ends its VMs on SIGTERM
      await exited;
    },
  };
}

function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return ''; // gone meanwhile
  }
}

/** All processes below `root`, from /proc's parent links. */
function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      // The command name in field 2 may contain spaces and parentheses: read after the last ')'.
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(d)]);
    } catch {
      // exited meanwhile
    }
  }
  const out: number[] = [];
  const todo = [root];
  while (todo.length) for (const c of children.get(todo.pop()!) ?? []) { out.push(c); todo.push(c); }
  return out;
}

/** A TCP port nothing listens on (taken from the OS and released). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
