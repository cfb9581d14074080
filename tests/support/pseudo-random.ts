// Deterministic filler bytes for disk images and DMA buffers in tests and
// benchmarks: the same seed always gives the same bytes, so a host-side check
// can recompute what the guest or the device should have seen.
export function pseudoRandomBytes(bytes: number, seed: number): Uint8Array {
  const out = new Uint8Array(bytes);
  let s = seed >>> 0;
  for (let i = 0; i < bytes; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    out[i] = s >>> 24;
  }
  return out;
}
