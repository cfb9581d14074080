// Decides when a guest has "booted": the first serial output that matches a
// pattern (by default the shell prompt). Output is decoded as latin1 (one
// character per byte, so a split UTF-8 sequence cannot break a match) and
// kept as a bounded tail, so a prompt split across chunks still matches.

const TAIL_CHARS = 4096;

export function toRegExp(pattern: RegExp | string): RegExp {
  // Without g/y: exec on a fresh tail must not resume from a stale lastIndex.
  if (typeof pattern !== 'string') return new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, ''));
  return new RegExp(pattern.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
}

export function latin1(bytes: Uint8Array): string {
  let s = '';
  for (let k = 0; k < bytes.length; k += 8192) s += String.fromCharCode(...bytes.subarray(k, k + 8192));
  return s;
}

export class BootDetector {
  private tail = '';
  private fired = false;

  constructor(private readonly pattern: RegExp | null, private readonly onBooted: (match: string) => void) {}

  feed(bytes: Uint8Array): void {
    if (this.fired || !this.pattern) return;
    this.tail = (this.tail + latin1(bytes)).slice(-TAIL_CHARS);
    const m = this.pattern.exec(this.tail);
    if (m) {
      this.fired = true;
      this.tail = '';
      this.onBooted(m[0]);
    }
  }

  /** A new boot (reset): wait for the pattern again. */
  rearm(): void {
    this.fired = false;
    this.tail = '';
  }
}
