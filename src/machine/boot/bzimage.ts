// Parses and validates a Linux bzImage's real-mode setup header (the Linux
// x86 boot protocol, Documentation/arch/x86/boot.rst).
import { BootImageError } from './boot-error.ts';

export const MIN_PROTOCOL = 0x020a;

export interface SetupHeader {
  protocol: number;
  setupSects: number;
  /** File offset where the protected-mode kernel starts. */
  kernelOffset: number;
  loadFlags: number;
  code32Start: number;
  initrdAddrMax: number;
  kernelAlignment: number;
  relocatable: boolean;
  cmdlineSize: number;
  initSize: number;
  prefAddress: number;
  /** Bytes of the header to copy into boot_params, from offset 0x1f1. */
  headerEnd: number;
  kernelVersion: string;
}

export function parseSetupHeader(image: Uint8Array, name: string): SetupHeader {
  if (image.length < 0x300) throw new BootImageError(`${name} is too small (${image.length} bytes) to be a Linux kernel`);
  const dv = new DataView(image.buffer, image.byteOffset, image.byteLength);
  if (dv.getUint16(0x1fe, true) !== 0xaa55 || dv.getUint32(0x202, true) !== 0x53726448 /* "HdrS" */) {
    throw new BootImageError(`${name} is not a Linux bzImage (no boot sector signature and "HdrS" setup header)`);
  }
  const protocol = dv.getUint16(0x206, true);
  if (protocol < MIN_PROTOCOL) {
    throw new BootImageError(`${name} uses boot protocol ${protocol >> 8}.${(protocol & 0xff).toString().padStart(2, '0')}; ts86 needs 2.10 or newer (Linux 2.6.31+)`);
  }
  const loadFlags = image[0x211];
  if (!(loadFlags & 1)) throw new BootImageError(`${name} is a zImage (loads low); only bzImage kernels are supported`);
  let setupSects = image[0x1f1];
  if (setupSects === 0) setupSects = 4;
  const kernelOffset = (setupSects + 1) * 512;
  if (kernelOffset >= image.length) throw new BootImageError(`${name}: its setup code (${setupSects} sectors) covers the whole file`);
  const versionPtr = dv.getUint16(0x20e, true);
  let kernelVersion = '';
  if (versionPtr) {
    const at = versionPtr + 0x200;
    let end = at;
    while (end < image.length && end < at + 200 && image[end] !== 0) end++;
    kernelVersion = new TextDecoder().decode(image.subarray(at, end));
  }
  return {
    protocol,
    setupSects,
    kernelOffset,
    loadFlags,
    code32Start: dv.getUint32(0x214, true),
    initrdAddrMax: dv.getUint32(0x22c, true),
    kernelAlignment: dv.getUint32(0x230, true),
    relocatable: image[0x234] !== 0,
    cmdlineSize: dv.getUint32(0x238, true),
    initSize: dv.getUint32(0x260, true),
    prefAddress: Number(dv.getBigUint64(0x258, true)),
    headerEnd: 0x202 + image[0x201],
    kernelVersion,
  };
}
