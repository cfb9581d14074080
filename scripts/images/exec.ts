// Running host tools (apt-get, dpkg-deb, xz, ...) with errors a person can act on.
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** A build step failed for a reason the user can fix; the CLI prints only the message. */
export class ImageBuildError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ImageBuildError';
  }
}

export interface RunResult {
  status: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion, capturing output. Throws ImageBuildError on a non-zero exit unless `allowFailure`. */
export function run(cmd: string, args: string[], options: { cwd?: string; allowFailure?: boolean; env?: NodeJS.ProcessEnv } = {}): RunResult {
  const r = spawnSync(cmd, args, {
    cwd: options.cwd,
    encoding: 'utf8',
    maxBuffer: 64 << 20,
    // apt and dpkg localise their messages; our parsing expects English.
    env: { ...process.env, LC_ALL: 'C', ...options.env },
  });
  if (r.error) throw new ImageBuildError(`could not run ${cmd}: ${r.error.message}`);
  const result = { status: r.status ?? 128, stdout: r.stdout, stderr: r.stderr };
  if (result.status !== 0 && !options.allowFailure) {
    const detail = (result.stderr || result.stdout).trim().split('\n').slice(-8).join('\n');
    throw new ImageBuildError(`${cmd} ${args.join(' ')} failed (exit ${result.status}):\n${detail}`);
  }
  return result;
}

/** Runs a command whose stdout is binary (e.g. a decompressor) and returns it. */
export function runBinary(cmd: string, args: string[]): Buffer {
  const r = spawnSync(cmd, args, { maxBuffer: 1 << 30 });
  if (r.error) throw new ImageBuildError(`could not run ${cmd}: ${r.error.message}`);
  if (r.status !== 0) throw new ImageBuildError(`${cmd} ${args.join(' ')} failed (exit ${r.status}): ${r.stderr.toString().trim()}`);
  return r.stdout;
}

/** Whether `cmd` is an executable on PATH (no shell involved). */
export function hasCommand(cmd: string): boolean {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    try {
      accessSync(join(dir, cmd), constants.X_OK);
      return true;
    } catch {
      // not in this directory
    }
  }
  return false;
}
