// The two ends of a ring as the page and the worker use them: a writer that
// never loses bytes when the ring is full (it keeps a backlog and retries),
// and a pump that hands every chunk the producer publishes to a callback.
import { SpscRing } from './spsc-ring.ts';

/** How soon a writer with a backlog tries again; the consumer drains in well under this. */
const RETRY_MS = 4;

export class RingWriter {
  private backlog: number[] = [];
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(private readonly ring: SpscRing) {}

  /** Bytes not yet in the ring (a guest flooding the console faster than the page reads). */
  get pending(): number {
    return this.backlog.length;
  }

  write(bytes: ArrayLike<number>): void {
    if (this.backlog.length === 0) {
      const n = this.ring.write(bytes);
      if (n === bytes.length) return;
      for (let k = n; k < bytes.length; k++) this.backlog.push(bytes[k]);
    } else {
      for (let k = 0; k < bytes.length; k++) this.backlog.push(bytes[k]);
    }
    this.scheduleRetry();
  }

  /** One byte; a full ring costs an array push, never an exception or a lost byte. */
  push(byte: number): void {
    if (this.backlog.length === 0 && this.ring.push(byte)) return;
    this.backlog.push(byte);
    this.scheduleRetry();
  }

  private scheduleRetry(): void {
    if (this.timer !== null || this.ring.closed) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      const n = this.ring.write(this.backlog);
      this.backlog = this.backlog.slice(n);
      if (this.backlog.length > 0) this.scheduleRetry();
    }, RETRY_MS);
  }

  dispose(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.backlog = [];
  }
}

/**
 * Calls `onData` with each batch of bytes as the producer publishes them,
 * until the ring is closed or `signal` aborts. Chunks are fresh arrays the
 * callback may keep.
 */
export async function pumpRing(ring: SpscRing, onData: (bytes: Uint8Array) => void, signal?: AbortSignal): Promise<void> {
  while (!signal?.aborted) {
    const bytes = ring.readAvailable();
    if (bytes.length > 0) {
      onData(bytes);
      continue;
    }
    if (ring.closed) return;
    // A bounded wait, so an abort is noticed even if nothing is ever written.
    await ring.waitForData(250);
  }
}
