// Builds and drives the native oracle (native/harness.c + native/trampoline.asm).
// The binary is cached under .cache/cpu-diff/ by a hash of its sources, so it is compiled
// once per change; a batch of cases runs in one process.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type MachineInput, type NativeResult, decodeResults, encodeBatch } from './batch-format.ts';
import { WINDOW_SIZE } from './layout.ts';
import { SUITE_DIR, cacheDir, scratchPath } from './paths.ts';

const SOURCES = ['native/harness.c', 'native/trampoline.asm'];
const CFLAGS = ['-m32', '-O2', '-no-pie', '-Wall', '-Wextra', '-Werror'];
/** Cases per harness process: bounds the size of batch and result files. */
const CASES_PER_PROCESS = 20000;

function tool(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: string };
    if (err.code === 'ENOENT') throw new Error(`cpu-diff needs \`${cmd}\` on PATH (install nasm and gcc-multilib)`);
    throw new Error(`${cmd} ${args.join(' ')} failed:\n${err.stderr ?? err.message}`);
  }
}

let built: string | undefined;

/** Path of the compiled harness, building it if its sources changed. */
export function harnessPath(): string {
  if (built) return built;
  const hash = createHash('sha256');
  for (const s of SOURCES) hash.update(readFileSync(join(SUITE_DIR, s)));
  hash.update(CFLAGS.join(' '));
  const exe = join(cacheDir(), `harness-${hash.digest('hex').slice(0, 12)}`);
  if (!existsSync(exe)) {
    // Build under a private name and rename: two vitest forks may build at the same time.
    const obj = scratchPath('trampoline', 'o');
    const tmp = scratchPath('harness', 'tmp');
    try {
      tool('nasm', ['-f', 'elf32', '-o', obj, join(SUITE_DIR, 'native/trampoline.asm')]);
      tool('gcc', [...CFLAGS, '-o', tmp, join(SUITE_DIR, 'native/harness.c'), obj]);
      renameSync(tmp, exe);
      // Builds of older sources are dead weight (a running process keeps its own inode).
      for (const f of readdirSync(cacheDir())) if (/^harness-[0-9a-f]{12}$/.test(f) && join(cacheDir(), f) !== exe) rmSync(join(cacheDir(), f), { force: true });
    } finally {
      rmSync(obj, { force: true });
      rmSync(tmp, { force: true });
    }
  }
  built = exe;
  return exe;
}

/** Runs every input on the host CPU; results are in input order. */
export function runNative(inputs: readonly MachineInput[], windowSize = WINDOW_SIZE): NativeResult[] {
  const exe = harnessPath();
  const results: NativeResult[] = [];
  for (let start = 0; start < inputs.length; start += CASES_PER_PROCESS) {
    const chunk = inputs.slice(start, start + CASES_PER_PROCESS);
    const batchFile = scratchPath('batch', 'bin');
    const resultFile = scratchPath('result', 'bin');
    try {
      writeFileSync(batchFile, encodeBatch(chunk, windowSize));
      tool(exe, [batchFile, resultFile]);
      results.push(...decodeResults(readFileSync(resultFile), chunk, windowSize));
    } finally {
      rmSync(batchFile, { force: true });
      rmSync(resultFile, { force: true });
    }
  }
  return results;
}
