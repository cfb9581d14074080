// A cross-process lock around an image build: test files run in parallel and
// several may ask for the images at once on a fresh clone; the second must
// wait for the first instead of downloading into the same directory.
import { mkdirSync, rmSync, statSync } from 'node:fs';

const POLL_MS = 250;
/** A lock older than this was left by a killed process. */
const STALE_MS = 20 * 60_000;
const sleeper = new Int32Array(new SharedArrayBuffer(4));

function sleep(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}

export function withBuildLock<T>(lockDir: string, timeoutMs: number, work: () => T): T {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      mkdirSync(lockDir, { recursive: false });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      let age = 0;
      try { age = Date.now() - statSync(lockDir).mtimeMs; } catch { continue; }
      if (age > STALE_MS) { rmSync(lockDir, { recursive: true, force: true }); continue; }
      if (Date.now() > deadline) throw new Error(`timed out waiting for another image build (lock ${lockDir})`);
      sleep(POLL_MS);
    }
  }
  try {
    return work();
  } finally {
    rmSync(lockDir, { recursive: true, force: true });
  }
}
