// The last 64 KiB of guest serial output as text, and waiting for a pattern
// in it: VMHandle.waitForOutput for the KVM backend. Decoded as latin1 (one
// character per byte), as the in-browser VM does, so a UTF-8 sequence split
// across chunks cannot break a match.
import { latin1, toRegExp } from '../vm/boot-detector.ts';

const TAIL_CHARS = 64 * 1024;

export class SerialTail {
  private text = '';
  private readonly waiters = new Set<(chunk: string) => void>();

  push(bytes: Uint8Array): void {
    const chunk = latin1(bytes);
    this.text = (this.text + chunk).slice(-TAIL_CHARS);
    for (const w of [...this.waiters]) w(chunk);
  }

  /** Resolves with the match in output already seen or still to come; rejects after timeoutMs. */
  waitFor(pattern: RegExp | string, timeoutMs: number): Promise<string> {
    const re = toRegExp(pattern);
    const now = re.exec(this.text);
    if (now) return Promise.resolve(now[0]);
    return new Promise((resolve, reject) => {
      // Searching the old tail plus what arrives finds a match that straddles the two;
      // the old tail alone did not match.
      let text = this.text;
      const waiter = (chunk: string): void => {
        text = (text + chunk).slice(-TAIL_CHARS);
        const m = re.exec(text);
        if (m) { done(); resolve(m[0]); }
      };
      const timer = setTimeout(() => { done(); reject(new Error(`no serial output matched ${re} within ${timeoutMs} ms`)); }, timeoutMs);
      const done = (): void => { clearTimeout(timer); this.waiters.delete(waiter); };
      this.waiters.add(waiter);
    });
  }
}
