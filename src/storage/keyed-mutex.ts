// Per-key async mutual exclusion. Layers that read-modify-write a chunk (COW
// copy-up, IndexedDB partial-chunk writes) hold the chunk's lock across the
// await, so two concurrent writes to one chunk cannot lose each other.

export class KeyedMutex {
  private readonly tails = new Map<number, Promise<void>>();

  /** Waits for `key`, returns the release function. */
  async lock(key: number): Promise<() => void> {
    const previous = this.tails.get(key);
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const tail = previous ? previous.then(() => held) : held;
    this.tails.set(key, tail);
    if (previous) await previous;
    return () => {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    };
  }

  /**
   * Runs `fn` holding the locks of every key in [first, last]. Locks are taken
   * in ascending order, so callers with overlapping ranges cannot deadlock.
   */
  async withRange<T>(first: number, last: number, fn: () => Promise<T>): Promise<T> {
    const releases: Array<() => void> = [];
    try {
      for (let k = first; k <= last; k++) releases.push(await this.lock(k));
      return await fn();
    } finally {
      for (const r of releases) r();
    }
  }

  /** True while any holder or waiter exists for `key` (diagnostics and tests). */
  isLocked(key: number): boolean {
    return this.tails.has(key);
  }
}
