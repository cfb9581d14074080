// A byte-addressed file, the common ground of OPFS sync access handles and
// Node file handles. FileBlockDevice and the slot-record metadata store are
// written once against this; each host provides an adapter.

export interface RandomAccessFile {
  readonly name: string;
  /** Reads into `dst` (directly: no intermediate copy). Returns bytes read; fewer than dst.length at end of file. */
  read(at: number, dst: Uint8Array): Promise<number>;
  /** Writes `src`, extending the file if needed. */
  write(at: number, src: Uint8Array): Promise<void>;
  /** Makes every completed write durable. */
  flush(): Promise<void>;
  size(): Promise<number>;
  truncate(size: number): Promise<void>;
  close(): Promise<void>;
}
