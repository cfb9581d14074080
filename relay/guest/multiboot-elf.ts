// Wraps assembled 32-bit code in the smallest ELF that QEMU's `-kernel`
// multiboot loader accepts: one ELF header, one PT_LOAD program header, the
// multiboot header, then the code, all loaded as a single segment at 1 MiB.
// QEMU enters it in flat 32-bit protected mode with EAX = 0x2BADB002.

import { Asm } from './x86-asm.ts';

export const LOAD_ADDRESS = 0x100000;
const ELF_HEADER_SIZE = 52;
const PROGRAM_HEADER_SIZE = 32;
const MULTIBOOT_HEADER_SIZE = 12;
/** File offset (and offset from LOAD_ADDRESS) of the first code byte. */
export const CODE_OFFSET = ELF_HEADER_SIZE + PROGRAM_HEADER_SIZE + MULTIBOOT_HEADER_SIZE;

const MULTIBOOT_MAGIC = 0x1badb002;

/** An assembler whose origin is where the code lands in the ELF below. */
export function multibootAsm(): Asm {
  return new Asm(LOAD_ADDRESS + CODE_OFFSET);
}

/** Builds the ELF; entry point is the first byte assembled by `asm`. */
export function buildMultibootElf(asm: Asm): Uint8Array {
  if (asm.origin !== LOAD_ADDRESS + CODE_OFFSET) throw new Error('use multibootAsm() so addresses match the load layout');
  const { image, bssSize } = asm.build();
  const fileSize = CODE_OFFSET + image.length;
  const out = new Uint8Array(fileSize);
  const dv = new DataView(out.buffer);

  // ELF header (ELFCLASS32, little-endian, ET_EXEC, EM_386).
  out.set([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1], 0);
  dv.setUint16(16, 2, true); // e_type = ET_EXEC
  dv.setUint16(18, 3, true); // e_machine = EM_386
  dv.setUint32(20, 1, true); // e_version
  dv.setUint32(24, LOAD_ADDRESS + CODE_OFFSET, true); // e_entry
  dv.setUint32(28, ELF_HEADER_SIZE, true); // e_phoff
  dv.setUint32(32, 0, true); // e_shoff: no sections
  dv.setUint16(40, ELF_HEADER_SIZE, true); // e_ehsize
  dv.setUint16(42, PROGRAM_HEADER_SIZE, true); // e_phentsize
  dv.setUint16(44, 1, true); // e_phnum
  dv.setUint16(46, 40, true); // e_shentsize (conventional even with no sections)

  // PT_LOAD covering the whole file, plus bss, at LOAD_ADDRESS.
  const ph = ELF_HEADER_SIZE;
  dv.setUint32(ph + 0, 1, true); // p_type = PT_LOAD
  dv.setUint32(ph + 4, 0, true); // p_offset
  dv.setUint32(ph + 8, LOAD_ADDRESS, true); // p_vaddr
  dv.setUint32(ph + 12, LOAD_ADDRESS, true); // p_paddr (what QEMU's loader uses)
  dv.setUint32(ph + 16, fileSize, true); // p_filesz
  dv.setUint32(ph + 20, fileSize + bssSize, true); // p_memsz
  dv.setUint32(ph + 24, 7, true); // p_flags = RWX: the echo guest keeps data beside code
  dv.setUint32(ph + 28, 16, true); // p_align

  // Multiboot header: must be 4-byte aligned within the first 8 KiB. Flags 0:
  // we need no memory map or module alignment, and the ELF gives the layout.
  const mb = ELF_HEADER_SIZE + PROGRAM_HEADER_SIZE;
  dv.setUint32(mb + 0, MULTIBOOT_MAGIC, true);
  dv.setUint32(mb + 4, 0, true);
  dv.setUint32(mb + 8, (-MULTIBOOT_MAGIC) >>> 0, true);

  out.set(image, CODE_OFFSET);
  return out;
}
