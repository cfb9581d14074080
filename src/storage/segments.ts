// Helpers for vectored I/O: a request's bytes are the concatenation of its
// segments, and backends that store fixed-size chunks need to walk that byte
// stream chunk by chunk.

export function totalLength(segments: readonly Uint8Array[]): number {
  let n = 0;
  for (const s of segments) n += s.length;
  return n;
}

/** One piece of a request that falls inside a single chunk and a single segment. */
export interface ChunkPiece {
  chunk: number;
  /** Byte offset inside the chunk. */
  chunkOffset: number;
  length: number;
  segment: Uint8Array;
  segmentOffset: number;
}

const EMPTY = new Uint8Array(0);

/**
 * Walks the pieces of chunkPieces() in place: each next() overwrites the
 * fields, so per-request hot paths (cache hits) allocate nothing per piece.
 */
export class PieceCursor implements ChunkPiece {
  chunk = 0;
  chunkOffset = 0;
  length = 0;
  segment: Uint8Array = EMPTY;
  segmentOffset = 0;
  private pos: number;
  private nextSegment = 0;

  constructor(
    start: number,
    private readonly segments: readonly Uint8Array[],
    private readonly chunkSize: number,
  ) {
    this.pos = start;
  }

  /** Moves to the next piece; false when the stream is exhausted. */
  next(): boolean {
    this.pos += this.length;
    this.segmentOffset += this.length;
    while (this.segmentOffset >= this.segment.length) {
      if (this.nextSegment >= this.segments.length) {
        this.length = 0;
        return false;
      }
      this.segment = this.segments[this.nextSegment++]!;
      this.segmentOffset = 0;
    }
    this.chunk = Math.floor(this.pos / this.chunkSize);
    this.chunkOffset = this.pos - this.chunk * this.chunkSize;
    this.length = Math.min(this.chunkSize - this.chunkOffset, this.segment.length - this.segmentOffset);
    return true;
  }
}

/**
 * Splits the byte stream that starts at absolute byte `start` and is made of
 * `segments` into pieces that never cross a chunk or segment boundary.
 */
export function* chunkPieces(start: number, segments: readonly Uint8Array[], chunkSize: number): Generator<ChunkPiece> {
  const c = new PieceCursor(start, segments, chunkSize);
  while (c.next()) yield { chunk: c.chunk, chunkOffset: c.chunkOffset, length: c.length, segment: c.segment, segmentOffset: c.segmentOffset };
}

/** Chunk indexes [first, last] touched by `length` bytes at byte `start` (length > 0). */
export function chunkSpan(start: number, length: number, chunkSize: number): [number, number] {
  return [Math.floor(start / chunkSize), Math.floor((start + length - 1) / chunkSize)];
}

/** Copies the segments' bytes, concatenated, into one new buffer. */
export function gather(segments: readonly Uint8Array[]): Uint8Array {
  if (segments.length === 1) return segments[0]!.slice();
  const out = new Uint8Array(totalLength(segments));
  let off = 0;
  for (const s of segments) {
    out.set(s, off);
    off += s.length;
  }
  return out;
}

/** Copies `src` into the segments in order (src.length must equal their total). */
export function scatter(src: Uint8Array, segments: readonly Uint8Array[]): void {
  let off = 0;
  for (const s of segments) {
    s.set(src.subarray(off, off + s.length));
    off += s.length;
  }
}

/**
 * Returns the sub-list of segments covering bytes [offset, offset+length) of
 * the stream, as views (no copy).
 */
export function sliceSegments(segments: readonly Uint8Array[], offset: number, length: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let skip = offset;
  let want = length;
  for (const s of segments) {
    if (want === 0) break;
    if (skip >= s.length) {
      skip -= s.length;
      continue;
    }
    const n = Math.min(s.length - skip, want);
    out.push(s.subarray(skip, skip + n));
    want -= n;
    skip = 0;
  }
  return out;
}
