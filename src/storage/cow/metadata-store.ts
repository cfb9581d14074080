// Where a copy-on-write overlay keeps its dirty-chunk map. save() is durable
// when it resolves and atomic: after a crash, load() returns either the old or
// the new bytes, never a mix.

export interface MetadataStore {
  readonly name: string;
  /** The last saved bytes, or null if nothing was ever saved. */
  load(): Promise<Uint8Array | null>;
  save(bytes: Uint8Array): Promise<void>;
  close(): Promise<void>;
}

export class MemoryMetadataStore implements MetadataStore {
  readonly name = 'memory';
  private bytes: Uint8Array | null = null;
  saves = 0;
  async load(): Promise<Uint8Array | null> {
    return this.bytes && this.bytes.slice();
  }
  async save(bytes: Uint8Array): Promise<void> {
    this.bytes = bytes.slice();
    this.saves++;
  }
  async close(): Promise<void> {}
}
