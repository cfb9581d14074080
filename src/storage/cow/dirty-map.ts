// Which chunks of a copy-on-write overlay hold data (and so shadow the base).
// Serialized with the geometry and base identity it belongs to, so reopening
// an overlay against the wrong base is refused instead of corrupting it.

import { crc32 } from '../crc32.ts';
import { StorageError } from '../errors.ts';

const MAGIC = 'TS86COW1';

export interface OverlayGeometry {
  chunkSize: number;
  /** Base capacity in sectors. */
  capacity: number;
  /** Identifies the base image (URL, file name, content hash...). */
  baseId: string;
}

export class DirtyChunkMap {
  private readonly bits: Uint8Array;
  private dirtyCount = 0;
  /** Bumped on every change, so savers can tell whether there is anything new. */
  version = 0;

  constructor(readonly chunkCount: number) {
    this.bits = new Uint8Array(Math.ceil(chunkCount / 8));
  }

  has(chunk: number): boolean {
    return (this.bits[chunk >> 3]! & (1 << (chunk & 7))) !== 0;
  }

  set(chunk: number): void {
    if (this.has(chunk)) return;
    this.bits[chunk >> 3]! |= 1 << (chunk & 7);
    this.dirtyCount++;
    this.version++;
  }

  clear(chunk: number): void {
    if (!this.has(chunk)) return;
    this.bits[chunk >> 3]! &= ~(1 << (chunk & 7));
    this.dirtyCount--;
    this.version++;
  }

  clearAll(): void {
    this.bits.fill(0);
    this.dirtyCount = 0;
    this.version++;
  }

  get count(): number {
    return this.dirtyCount;
  }

  serialize(geometry: OverlayGeometry): Uint8Array {
    const id = new TextEncoder().encode(geometry.baseId);
    const out = new Uint8Array(8 + 4 + 8 + 4 + id.length + 4 + this.bits.length + 4);
    const dv = new DataView(out.buffer);
    let o = 0;
    out.set(new TextEncoder().encode(MAGIC), o);
    o += 8;
    dv.setUint32(o, geometry.chunkSize, true);
    o += 4;
    dv.setFloat64(o, geometry.capacity, true);
    o += 8;
    dv.setUint32(o, id.length, true);
    o += 4;
    out.set(id, o);
    o += id.length;
    dv.setUint32(o, this.chunkCount, true);
    o += 4;
    out.set(this.bits, o);
    o += this.bits.length;
    dv.setUint32(o, crc32(out.subarray(0, o)), true);
    return out;
  }

  /** Parses a saved map and checks it belongs to `expected`; throws StorageError('corrupt' | 'mismatch'). */
  static parse(bytes: Uint8Array, expected: OverlayGeometry, where: string): DirtyChunkMap {
    const corrupt = (why: string) => new StorageError('corrupt', `dirty-chunk map in ${where} is damaged (${why}); reset the overlay`);
    if (bytes.length < 32 || new TextDecoder().decode(bytes.subarray(0, 8)) !== MAGIC) throw corrupt('bad header');
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const body = bytes.length - 4;
    if (dv.getUint32(body, true) !== crc32(bytes.subarray(0, body))) throw corrupt('checksum mismatch');
    let o = 8;
    const chunkSize = dv.getUint32(o, true);
    o += 4;
    const capacity = dv.getFloat64(o, true);
    o += 8;
    const idLength = dv.getUint32(o, true);
    o += 4;
    if (o + idLength + 4 > body) throw corrupt('truncated');
    const baseId = new TextDecoder().decode(bytes.subarray(o, o + idLength));
    o += idLength;
    const chunkCount = dv.getUint32(o, true);
    o += 4;
    if (chunkSize !== expected.chunkSize || capacity !== expected.capacity || baseId !== expected.baseId) {
      throw new StorageError(
        'mismatch',
        `the overlay in ${where} belongs to base "${baseId}" (${capacity} sectors, ${chunkSize}-byte chunks), ` +
          `not "${expected.baseId}" (${expected.capacity} sectors, ${expected.chunkSize}-byte chunks); ` +
          `open it with its own base image or reset it`,
      );
    }
    const map = new DirtyChunkMap(chunkCount);
    if (o + map.bits.length !== body) throw corrupt('bitmap length');
    map.bits.set(bytes.subarray(o, body));
    for (const byte of map.bits) map.dirtyCount += popcount8(byte);
    return map;
  }
}

function popcount8(b: number): number {
  let n = 0;
  for (let x = b; x; x &= x - 1) n++;
  return n;
}
