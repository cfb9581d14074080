// A token bucket: `capacity` tokens, refilled continuously at `perSecond`.
// Each connection has one for frames and one for console bytes, so a client
// (or a page stuck in a loop) cannot make the relay spin on its messages or
// flood the guest's serial port, while normal typing and pasting pass.

export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    readonly capacity: number,
    readonly perSecond: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    if (!(capacity > 0) || !(perSecond > 0)) throw new Error('capacity and perSecond must be positive');
    this.tokens = capacity;
    this.last = now();
  }

  /** Takes `n` tokens if available; on false nothing is taken. */
  tryTake(n = 1): boolean {
    const t = this.now();
    this.tokens = Math.min(this.capacity, this.tokens + ((t - this.last) / 1000) * this.perSecond);
    this.last = t;
    if (n > this.tokens) return false;
    this.tokens -= n;
    return true;
  }
}

export interface RateLimits {
  framesPerSecond: number;
  frameBurst: number;
  consoleBytesPerSecond: number;
  consoleByteBurst: number;
}

export const DEFAULT_RATE_LIMITS: RateLimits = {
  framesPerSecond: 100,
  frameBurst: 200,
  // Far above what a person types or a terminal paste needs; the guest's
  // 115200-baud UART drains ~11 KiB/s anyway.
  consoleBytesPerSecond: 256 * 1024,
  consoleByteBurst: 512 * 1024,
};

/** The per-connection pair of buckets. */
export class ConnectionRateLimiter {
  private readonly frames: TokenBucket;
  private readonly bytes: TokenBucket;
  private lastComplaint = -Infinity;

  constructor(limits: RateLimits = DEFAULT_RATE_LIMITS, private readonly now: () => number = () => performance.now()) {
    this.frames = new TokenBucket(limits.frameBurst, limits.framesPerSecond, now);
    this.bytes = new TokenBucket(limits.consoleByteBurst, limits.consoleBytesPerSecond, now);
  }

  /** Whether a frame (of `consoleBytes` console bytes, 0 for control) may pass. */
  admit(consoleBytes = 0): boolean {
    return this.frames.tryTake(1) && (consoleBytes === 0 || this.bytes.tryTake(consoleBytes));
  }

  /**
   * Whether to send a `rate-limited` error now: at most one a second, so
   * that answering a flood does not itself become a flood.
   */
  shouldComplain(): boolean {
    const t = this.now();
    if (t - this.lastComplaint < 1000) return false;
    this.lastComplaint = t;
    return true;
  }
}
