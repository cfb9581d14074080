// Accumulates console bytes as text for tests and waits for patterns in it,
// optionally only in what arrived after a mark (so "42" from an earlier
// command cannot satisfy a later wait).

export class TextCollector {
  private text = '';
  private waiters = new Set<() => void>();

  push(data: Uint8Array | string): void {
    this.text += typeof data === 'string' ? data : Buffer.from(data).toString('latin1');
    for (const w of this.waiters) w();
  }

  get all(): string {
    return this.text;
  }

  /** A position to search from later. */
  mark(): number {
    return this.text.length;
  }

  since(mark: number): string {
    return this.text.slice(mark);
  }

  /** Resolves with the match once `pattern` appears after `from`. */
  waitFor(pattern: string | RegExp, timeoutMs: number, from = 0): Promise<string> {
    const find = (): string | null => {
      const t = this.text.slice(from);
      if (typeof pattern === 'string') return t.includes(pattern) ? pattern : null;
      return pattern.exec(t)?.[0] ?? null;
    };
    const found = find();
    if (found !== null) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const check = () => {
        const f = find();
        if (f === null) return;
        cleanup();
        resolve(f);
      };
      const timer = setTimeout(() => {
        cleanup();
        const tail = this.text.slice(Math.max(from, this.text.length - 400));
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${String(pattern)}; output ends with:\n${tail}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
    });
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Whether a process exists (signal 0 probes without signalling). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function waitUntil(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await sleep(50);
  }
}
