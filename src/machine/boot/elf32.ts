// Minimal ELF32 reader for loadable i386 executables: header checks and
// PT_LOAD program headers, with bounds checks on every field.
import { BootImageError } from './boot-error.ts';

export interface ElfSegment { offset: number; paddr: number; vaddr: number; fileSize: number; memSize: number }
export interface Elf32Image { entry: number; segments: ElfSegment[] }

const PT_LOAD = 1;

export function isElf(image: Uint8Array): boolean {
  return image.length >= 4 && image[0] === 0x7f && image[1] === 0x45 && image[2] === 0x4c && image[3] === 0x46;
}

export function parseElf32(image: Uint8Array, what: string): Elf32Image {
  if (image.length < 52 || !isElf(image)) throw new BootImageError(`${what} is not an ELF file`);
  if (image[4] !== 1) throw new BootImageError(`${what} is not a 32-bit ELF file (EI_CLASS=${image[4]}); build it for i386`);
  if (image[5] !== 1) throw new BootImageError(`${what} is not little-endian`);
  const dv = new DataView(image.buffer, image.byteOffset, image.byteLength);
  const machine = dv.getUint16(18, true);
  if (machine !== 3) throw new BootImageError(`${what} is for ELF machine ${machine}, not i386 (3)`);
  const entry = dv.getUint32(24, true);
  const phoff = dv.getUint32(28, true);
  const phentsize = dv.getUint16(42, true);
  const phnum = dv.getUint16(44, true);
  if (phentsize < 32 || phoff + phnum * phentsize > image.length) {
    throw new BootImageError(`${what} has a program header table outside the file`);
  }
  const segments: ElfSegment[] = [];
  for (let k = 0; k < phnum; k++) {
    const o = phoff + k * phentsize;
    if (dv.getUint32(o, true) !== PT_LOAD) continue;
    const seg = {
      offset: dv.getUint32(o + 4, true),
      vaddr: dv.getUint32(o + 8, true),
      paddr: dv.getUint32(o + 12, true),
      fileSize: dv.getUint32(o + 16, true),
      memSize: dv.getUint32(o + 20, true),
    };
    if (seg.offset + seg.fileSize > image.length) throw new BootImageError(`${what}: a loadable segment extends past the end of the file`);
    if (seg.fileSize > seg.memSize) throw new BootImageError(`${what}: a loadable segment's file size exceeds its memory size`);
    segments.push(seg);
  }
  if (segments.length === 0) throw new BootImageError(`${what} has no loadable segments`);
  return { entry, segments };
}
