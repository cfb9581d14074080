// FSAVE-format (108-byte, 32-bit protected mode) images of the x87 state, for
// the differential tests. Until the x87 unit is wired into the CPU this is the
// FNINIT state, so tests of non-x87 forms compare equal on both sides.
import type { Cpu } from '../cpu.ts';

export const FSAVE_IMAGE_BYTES = 108;

export function saveFpuImage(_cpu: Cpu): Uint8Array {
  const img = new Uint8Array(FSAVE_IMAGE_BYTES);
  const dv = new DataView(img.buffer);
  dv.setUint16(0, 0x037f, true); // control word after FNINIT
  dv.setUint16(8, 0xffff, true); // tag word: all empty
  return img;
}

export function restoreFpuImage(_cpu: Cpu, _image: Uint8Array): void {}
