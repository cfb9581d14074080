// Multiboot (v1) loader for test kernels, handing over the machine the way
// `qemu-system-i386 -kernel FILE` does: ELF32 or a.out-kludge images, a
// multiboot information structure with memory sizes, command line and a
// memory map, and the CPU in flat 32-bit protected mode.
import type { Machine } from '../machine.ts';
import { S, Reg } from '../../x86/state.ts';
import { BootImageError } from './boot-error.ts';
import { parseElf32 } from './elf32.ts';
import { enterFlatProtectedMode } from './flat-protected.ts';

const HEADER_MAGIC = 0x1badb002;
const BOOT_MAGIC = 0x2badb002;
const SEARCH_BYTES = 8192;
const FLAG_AOUT_KLUDGE = 1 << 16;

/** Where the loader puts its structures (below the 640 KiB conventional-memory top). */
const INFO_ADDR = 0x9000;
const CMDLINE_ADDR = 0x9200;
const MMAP_ADDR = 0x9400;

export interface MultibootHeader { offset: number; flags: number; headerAddr: number; loadAddr: number; loadEndAddr: number; bssEndAddr: number; entryAddr: number }

export function findMultibootHeader(image: Uint8Array): MultibootHeader | null {
  const dv = new DataView(image.buffer, image.byteOffset, image.byteLength);
  const end = Math.min(SEARCH_BYTES, image.length) - 12;
  for (let o = 0; o <= end; o += 4) {
    if (dv.getUint32(o, true) !== HEADER_MAGIC) continue;
    const flags = dv.getUint32(o + 4, true);
    const sum = (HEADER_MAGIC + flags + dv.getUint32(o + 8, true)) >>> 0;
    if (sum !== 0) continue;
    const field = (k: number): number => (o + 12 + 4 * k + 4 <= image.length ? dv.getUint32(o + 12 + 4 * k, true) : 0);
    return { offset: o, flags, headerAddr: field(0), loadAddr: field(1), loadEndAddr: field(2), bssEndAddr: field(3), entryAddr: field(4) };
  }
  return null;
}

export function multibootBootProgram(image: Uint8Array, cmdline: string, name: string): (m: Machine) => void {
  const header = findMultibootHeader(image);
  if (!header) throw new BootImageError(`${name} is not a multiboot kernel (no multiboot header in its first ${SEARCH_BYTES} bytes)`);
  // Bits 0–15 are features the kernel requires; bits 3–15 are ones this loader does not know.
  const unknown = header.flags & 0xfff8;
  if (unknown) throw new BootImageError(`${name} requires unsupported multiboot features (flags 0x${unknown.toString(16)})`);
  return (machine) => {
    const ram = machine.views.ram8;
    const place = (addr: number, bytes: Uint8Array, memSize: number): void => {
      if (addr < 0x1000 || addr + memSize > ram.length) {
        throw new BootImageError(`${name}: a segment at 0x${addr.toString(16)} of ${memSize} bytes does not fit in ${ram.length >> 20} MiB of RAM`);
      }
      ram.set(bytes, addr);
      ram.fill(0, addr + bytes.length, addr + memSize);
    };
    let entry: number;
    if (header.flags & FLAG_AOUT_KLUDGE) {
      const fileStart = header.offset - (header.headerAddr - header.loadAddr);
      const loadEnd = header.loadEndAddr || header.loadAddr + (image.length - fileStart);
      const bssEnd = Math.max(header.bssEndAddr, loadEnd);
      if (fileStart < 0 || fileStart + (loadEnd - header.loadAddr) > image.length) {
        throw new BootImageError(`${name}: the multiboot address fields point outside the file`);
      }
      place(header.loadAddr, image.subarray(fileStart, fileStart + (loadEnd - header.loadAddr)), bssEnd - header.loadAddr);
      entry = header.entryAddr;
    } else {
      const elf = parseElf32(image, name);
      for (const s of elf.segments) place(s.paddr, image.subarray(s.offset, s.offset + s.fileSize), s.memSize);
      entry = elf.entry;
    }
    writeInfo(machine, cmdline || name);
    const cpu = machine.cpu;
    enterFlatProtectedMode(cpu, 0x10, 0x18, entry);
    cpu.st[Reg.EAX] = BOOT_MAGIC;
    cpu.st[Reg.EBX] = INFO_ADDR;
    cpu.st[S.ESP] = 0x7c00;
  };
}

function writeInfo(machine: Machine, cmdline: string): void {
  const ram = machine.views.ram8;
  const dv = new DataView(ram.buffer, ram.byteOffset, ram.byteLength);
  ram.fill(0, INFO_ADDR, MMAP_ADDR + 0x100);
  const ramBytes = ram.length;
  const cmd = new TextEncoder().encode(cmdline.slice(0, 500));
  ram.set(cmd, CMDLINE_ADDR);
  ram[CMDLINE_ADDR + cmd.length] = 0;
  const regions: [number, number, number][] = [
    [0, 0x9fc00, 1],
    [0x9fc00, 0x400, 2],
    [0xf0000, 0x10000, 2],
    [0x100000, ramBytes - 0x100000, 1],
  ];
  let o = MMAP_ADDR;
  for (const [base, len, type] of regions) {
    dv.setUint32(o, 20, true);
    dv.setUint32(o + 4, base, true);
    dv.setUint32(o + 8, 0, true);
    dv.setUint32(o + 12, len, true);
    dv.setUint32(o + 16, 0, true);
    dv.setUint32(o + 20, type, true);
    o += 24;
  }
  // flags: mem_* (bit 0), cmdline (bit 2), mmap (bit 6).
  dv.setUint32(INFO_ADDR, (1 << 0) | (1 << 2) | (1 << 6), true);
  dv.setUint32(INFO_ADDR + 4, 639, true);
  dv.setUint32(INFO_ADDR + 8, (ramBytes - 0x100000) >> 10, true);
  dv.setUint32(INFO_ADDR + 16, CMDLINE_ADDR, true);
  dv.setUint32(INFO_ADDR + 44, o - MMAP_ADDR, true);
  dv.setUint32(INFO_ADDR + 48, MMAP_ADDR, true);
}
