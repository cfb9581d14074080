// FSAVE-format (108-byte, 32-bit protected mode) images of the x87 state for
// the differential tests, produced by the FPU's own FNSAVE/FRSTOR through a
// scratch area of guest memory.
import type { Cpu } from '../cpu.ts';
import { ENV_PROT32 } from '../fpu/index.ts';

export const FSAVE_IMAGE_BYTES = 108;
/** Guest-physical scratch area used to move images in and out (paging is off in the runner). */
const SCRATCH = 0x0030_0000;
const ESC_DD = 5;
const MODRM_FRSTOR = 0x20 | 5; // DD /4, disp32 form (the address is passed directly)
const MODRM_FNSAVE = 0x30 | 5; // DD /6

export function saveFpuImage(cpu: Cpu): Uint8Array {
  cpu.fpu.setContext(0, 0, 0, SCRATCH, ENV_PROT32);
  // FNSAVE re-initialises the FPU afterwards; the runner only saves at the end of a snippet.
  cpu.fpu.exec(ESC_DD, MODRM_FNSAVE, SCRATCH, 0);
  return cpu.ram8.slice(SCRATCH, SCRATCH + FSAVE_IMAGE_BYTES);
}

export function restoreFpuImage(cpu: Cpu, image: Uint8Array): void {
  if (image.length !== FSAVE_IMAGE_BYTES) throw new RangeError(`an FSAVE image is ${FSAVE_IMAGE_BYTES} bytes, got ${image.length}`);
  cpu.ram8.set(image, SCRATCH);
  cpu.fpu.setContext(0, 0, 0, SCRATCH, ENV_PROT32);
  cpu.fpu.exec(ESC_DD, MODRM_FRSTOR, SCRATCH, 0);
}
