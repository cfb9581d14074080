// A single-producer single-consumer byte ring in a SharedArrayBuffer, for
// the serial and keyboard streams between the page and the machine worker.
// Nothing is copied through postMessage and neither side waits for the
// other: the producer publishes bytes with one atomic store of its counter,
// the consumer takes them with one atomic store of its own.
//
// Layout of the buffer (Int32 words, then the data):
//   word 0  HEAD     bytes consumed so far (free-running, mod 2^32; only the consumer writes it)
//   word 1  TAIL     bytes produced so far (free-running, mod 2^32; only the producer writes it)
//   word 2  WAITING  1 while the consumer sleeps on TAIL, so the producer knows to notify
//   word 3  CLOSED   1 once either side has shut the ring (wakes a sleeping consumer for good)
//   bytes [HEADER_BYTES, HEADER_BYTES + capacity)  the data, indexed by counter & (capacity - 1)
//
// Ordering: data bytes are plain stores made before the Atomics.store of
// TAIL; the consumer's Atomics.load of TAIL synchronises with that store, so
// it sees the bytes. The same holds for HEAD in the other direction, so the
// producer never overwrites bytes not yet read.

const HEAD = 0;
const TAIL = 1;
const WAITING = 2;
const CLOSED = 3;
/** Header size; a cache line, so the counters and the data do not share one. */
export const HEADER_BYTES = 64;

export class RingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RingError';
  }
}

type WaitAsync = (typed: Int32Array, index: number, value: number, timeout?: number) =>
  { async: false; value: 'not-equal' | 'timed-out' } | { async: true; value: Promise<'ok' | 'timed-out'> };

/** Atomics.waitAsync where the host has it (Chromium, Node); Firefox before 145 does not. */
const waitAsync: WaitAsync | undefined = (Atomics as unknown as { waitAsync?: WaitAsync }).waitAsync;

export class SpscRing {
  readonly buffer: SharedArrayBuffer;
  readonly capacity: number;
  private readonly ctl: Int32Array;
  private readonly data: Uint8Array;
  private readonly mask: number;

  /** Allocates a ring; `capacity` must be a power of two (so counters can wrap at 2^32). */
  static create(capacity = 1 << 16): SpscRing {
    if (!Number.isInteger(capacity) || capacity < 16 || capacity > 1 << 30 || (capacity & (capacity - 1)) !== 0) {
      throw new RingError(`ring capacity must be a power of two between 16 and 2^30, got ${capacity}`);
    }
    return new SpscRing(new SharedArrayBuffer(HEADER_BYTES + capacity));
  }

  /** Attaches to a ring another thread created (the buffer came through postMessage). */
  constructor(buffer: SharedArrayBuffer) {
    const capacity = buffer.byteLength - HEADER_BYTES;
    if (capacity < 16 || (capacity & (capacity - 1)) !== 0) {
      throw new RingError(`not a ring buffer: ${buffer.byteLength} bytes is not a header plus a power-of-two data area`);
    }
    this.buffer = buffer;
    this.capacity = capacity;
    this.mask = capacity - 1;
    this.ctl = new Int32Array(buffer, 0, HEADER_BYTES >> 2);
    this.data = new Uint8Array(buffer, HEADER_BYTES, capacity);
  }

  /** Bytes waiting to be read. */
  get available(): number {
    return (Atomics.load(this.ctl, TAIL) - Atomics.load(this.ctl, HEAD)) >>> 0;
  }

  /** Room for the producer. */
  get free(): number {
    return this.capacity - this.available;
  }

  get closed(): boolean {
    return Atomics.load(this.ctl, CLOSED) !== 0;
  }

  /** Shuts the ring: a consumer waiting for data wakes up and sees `closed`. */
  close(): void {
    Atomics.store(this.ctl, CLOSED, 1);
    Atomics.notify(this.ctl, TAIL);
  }

  // --- producer side -------------------------------------------------------

  /**
   * Writes as many of `bytes[from..to)` as fit and returns how many it
   * wrote; the caller keeps the rest (see RingWriter).
   */
  write(bytes: ArrayLike<number>, from = 0, to = bytes.length): number {
    const tail = Atomics.load(this.ctl, TAIL);
    const used = (tail - Atomics.load(this.ctl, HEAD)) >>> 0;
    const n = Math.min(to - from, this.capacity - used);
    if (n <= 0) return 0;
    const data = this.data;
    const mask = this.mask;
    for (let k = 0; k < n; k++) data[(tail + k) & mask] = bytes[from + k];
    this.publish(tail + n);
    return n;
  }

  /** Writes one byte; false if the ring is full. The hot path for a UART's transmit. */
  push(byte: number): boolean {
    const tail = Atomics.load(this.ctl, TAIL);
    if (((tail - Atomics.load(this.ctl, HEAD)) >>> 0) >= this.capacity) return false;
    this.data[tail & this.mask] = byte;
    this.publish(tail + 1);
    return true;
  }

  private publish(tail: number): void {
    Atomics.store(this.ctl, TAIL, tail | 0);
    // Notify only a sleeping consumer: Atomics.notify takes a lock, and the
    // serial line publishes byte by byte. The consumer sets WAITING before
    // re-reading TAIL, so either it sees this store or we see its flag.
    if (Atomics.load(this.ctl, WAITING) !== 0) Atomics.notify(this.ctl, TAIL);
  }

  // --- consumer side -------------------------------------------------------

  /** Moves up to `into.length` bytes into `into`; returns the count. */
  read(into: Uint8Array): number {
    const head = Atomics.load(this.ctl, HEAD);
    const n = Math.min(into.length, (Atomics.load(this.ctl, TAIL) - head) >>> 0);
    if (n === 0) return 0;
    const start = head & this.mask;
    const first = Math.min(n, this.capacity - start);
    into.set(this.data.subarray(start, start + first), 0);
    if (first < n) into.set(this.data.subarray(0, n - first), first);
    Atomics.store(this.ctl, HEAD, (head + n) | 0);
    return n;
  }

  /** Everything available now, as a new array (empty if nothing). */
  readAvailable(): Uint8Array {
    const out = new Uint8Array(this.available);
    const n = this.read(out);
    return n === out.length ? out : out.subarray(0, n);
  }

  /**
   * Resolves when there are bytes to read, the ring is closed, or `timeoutMs`
   * passes. Uses Atomics.waitAsync, so it never blocks the thread (it may be
   * the page's main thread); polls where the host lacks waitAsync.
   */
  async waitForData(timeoutMs = Infinity): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      Atomics.store(this.ctl, WAITING, 1);
      const tail = Atomics.load(this.ctl, TAIL);
      if (tail !== Atomics.load(this.ctl, HEAD) || this.closed) break;
      const left = deadline - performance.now();
      if (left <= 0) break;
      if (waitAsync) {
        const r = waitAsync(this.ctl, TAIL, tail, left === Infinity ? undefined : left);
        if (r.async) await r.value;
      } else {
        await new Promise((resolve) => setTimeout(resolve, Math.min(left, 10)));
      }
    }
    Atomics.store(this.ctl, WAITING, 0);
  }

  /**
   * Blocks the calling thread until data arrives (Atomics.wait): only for
   * threads that may block, such as Node worker_threads in tests and tools.
   */
  waitForDataSync(timeoutMs = Infinity): boolean {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      Atomics.store(this.ctl, WAITING, 1);
      const tail = Atomics.load(this.ctl, TAIL);
      if (tail !== Atomics.load(this.ctl, HEAD) || this.closed) break;
      const left = deadline - performance.now();
      if (left <= 0) break;
      Atomics.wait(this.ctl, TAIL, tail, left);
    }
    Atomics.store(this.ctl, WAITING, 0);
    return this.available > 0;
  }
}
