// Byte-stream helpers over a chain's guest buffers. Virtio drivers may split
// a message across descriptors arbitrarily (§2.7.4 message framing), so the
// device addresses "byte n of the readable (or writable) part", never
// "descriptor k".

import { DmaFault, type DmaSpace } from '../dma-space.ts';
import type { GuestBuffer } from './chain.ts';

/** Buffers covering bytes [offset, offset + length) of the stream. */
export function sliceBuffers(buffers: readonly GuestBuffer[], offset: number, length: number): GuestBuffer[] {
  const out: GuestBuffer[] = [];
  let skip = offset;
  let want = length;
  for (const b of buffers) {
    if (want === 0) break;
    if (skip >= b.len) {
      skip -= b.len;
      continue;
    }
    const n = Math.min(b.len - skip, want);
    out.push({ addr: b.addr + skip, len: n });
    want -= n;
    skip = 0;
  }
  return out;
}

export function totalLength(buffers: readonly GuestBuffer[]): number {
  let n = 0;
  for (const b of buffers) n += b.len;
  return n;
}

/** Copies the stream's bytes out of guest memory. Throws DmaFault. */
export function readStream(dma: DmaSpace, buffers: readonly GuestBuffer[]): Uint8Array {
  const out = new Uint8Array(totalLength(buffers));
  let off = 0;
  for (const b of buffers) {
    dma.read(b.addr, out.subarray(off, off + b.len));
    off += b.len;
  }
  return out;
}

/** Copies bytes into the stream (as many as fit). Throws DmaFault. */
export function writeStream(dma: DmaSpace, buffers: readonly GuestBuffer[], bytes: Uint8Array): void {
  let off = 0;
  for (const b of buffers) {
    if (off >= bytes.length) break;
    const n = Math.min(b.len, bytes.length - off);
    dma.write(b.addr, bytes.subarray(off, off + n));
    off += n;
  }
}

/**
 * Host views of the guest buffers for a disk transfer: zero-copy views when
 * the DmaSpace grants them, otherwise bounce buffers (filled now for
 * device-readable data; copied back by `finish` for device-writable data).
 */
export interface MappedBuffers {
  segments: Uint8Array[];
  /** Copies bounce buffers back to the guest after a read from disk. Throws DmaFault. */
  finish(): void;
}

/** Above this, a buffer the DmaSpace cannot map directly is refused instead of bounced (guards host memory). */
export const MAX_BOUNCE_BYTES = 16 << 20;

export function mapBuffers(dma: DmaSpace, buffers: readonly GuestBuffer[], deviceWrites: boolean): MappedBuffers {
  const segments: Uint8Array[] = [];
  const bounces: Array<{ addr: number; buf: Uint8Array }> = [];
  for (const b of buffers) {
    const view = dma.view(b.addr, b.len, deviceWrites);
    if (view) {
      segments.push(view);
      continue;
    }
    if (b.len > MAX_BOUNCE_BYTES) throw new DmaFault(b.addr, b.len, deviceWrites, `buffer needs a ${b.len}-byte bounce, over the ${MAX_BOUNCE_BYTES}-byte limit`);
    const buf = new Uint8Array(b.len);
    if (deviceWrites) bounces.push({ addr: b.addr, buf });
    else dma.read(b.addr, buf);
    segments.push(buf);
  }
  return {
    segments,
    finish() {
      for (const { addr, buf } of bounces) dma.write(addr, buf);
    },
  };
}
