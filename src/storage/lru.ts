// Least-recently-used ordering: a Map for lookup plus a doubly linked list for
// age. Touching an entry relinks its node, which allocates nothing; with a
// Map's own insertion order (delete + set) every touch leaves a hole that the
// Map later compacts by reallocating its table, on every cache hit.
// Eviction policy (budgets, dirty entries) belongs to the users; this only
// keeps the order.

interface LruNode<K, V> {
  key: K;
  value: V;
  older: LruNode<K, V> | null;
  newer: LruNode<K, V> | null;
}

export class LruMap<K, V> {
  private readonly nodes = new Map<K, LruNode<K, V>>();
  private oldest: LruNode<K, V> | null = null;
  private newest: LruNode<K, V> | null = null;

  get size(): number {
    return this.nodes.size;
  }

  /** Returns the value and marks it most recently used. */
  get(key: K): V | undefined {
    const n = this.nodes.get(key);
    if (n === undefined) return undefined;
    this.makeNewest(n);
    return n.value;
  }

  /** Returns the value without changing its age. */
  peek(key: K): V | undefined {
    return this.nodes.get(key)?.value;
  }

  has(key: K): boolean {
    return this.nodes.has(key);
  }

  /** Inserts or replaces, as most recently used. */
  set(key: K, value: V): void {
    const n = this.nodes.get(key);
    if (n !== undefined) {
      n.value = value;
      this.makeNewest(n);
      return;
    }
    const node: LruNode<K, V> = { key, value, older: null, newer: null };
    this.nodes.set(key, node);
    this.link(node);
  }

  delete(key: K): boolean {
    const n = this.nodes.get(key);
    if (n === undefined) return false;
    this.nodes.delete(key);
    this.unlink(n);
    return true;
  }

  /** Entries from least to most recently used. Safe to delete the current entry while iterating. */
  *oldestFirst(): IterableIterator<[K, V]> {
    for (let n = this.oldest; n !== null; ) {
      // Read before yielding: the caller may delete n, which unlinks it.
      const next = n.newer;
      yield [n.key, n.value];
      n = next;
    }
  }

  clear(): void {
    this.nodes.clear();
    this.oldest = this.newest = null;
  }

  private makeNewest(n: LruNode<K, V>): void {
    if (n === this.newest) return;
    this.unlink(n);
    this.link(n);
  }

  private link(n: LruNode<K, V>): void {
    n.older = this.newest;
    n.newer = null;
    if (this.newest !== null) this.newest.newer = n;
    else this.oldest = n;
    this.newest = n;
  }

  private unlink(n: LruNode<K, V>): void {
    if (n.older !== null) n.older.newer = n.newer;
    else this.oldest = n.newer;
    if (n.newer !== null) n.newer.older = n.older;
    else this.newest = n.older;
    n.older = n.newer = null;
  }
}
