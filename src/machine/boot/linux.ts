// Linux boot protocol loader (32-bit entry): places the protected-mode
// kernel and the initrd, builds boot_params (the "zero page": setup header,
// e820 map, command line, initrd location, video info), gives the kernel a
// GDT with __BOOT_CS/__BOOT_DS, and enters at code32_start with ESI pointing
// at boot_params — what a boot loader such as GRUB does.
import type { Machine } from '../machine.ts';
import type { Pc } from '../pc.ts';
import { S } from '../../x86/state.ts';
import { BootImageError } from './boot-error.ts';
import { parseSetupHeader } from './bzimage.ts';
import { enterFlatProtectedMode } from './flat-protected.ts';
import { buildE820, type E820Entry } from './e820.ts';

export const BOOT_PARAMS_ADDR = 0x10000;
const CMDLINE_ADDR = 0x20000;
const GDT_ADDR = 0x1000;
const KERNEL_ADDR = 0x100000;
const BOOT_CS = 0x10;
const BOOT_DS = 0x18;
const MIN_MEMORY = 16 * 1024 * 1024;

export interface LinuxBootLayout { kernelEnd: number; initrdAddr: number; initrdSize: number; e820: E820Entry[] }

export function linuxBootProgram(pc: Pc, kernel: Uint8Array, initrd: Uint8Array | undefined, cmdline: string, name = 'kernel'): (m: Machine) => void {
  const hdr = parseSetupHeader(kernel, name);
  const ramBytes = pc.machine.memoryBytes;
  if (ramBytes < MIN_MEMORY) throw new BootImageError(`Linux needs at least 16 MiB of memory; this machine has ${ramBytes >> 20} MiB`);
  const cmd = new TextEncoder().encode(cmdline);
  const cmdMax = hdr.cmdlineSize || 255;
  if (cmd.length > cmdMax) throw new BootImageError(`the kernel command line is ${cmd.length} bytes; this kernel accepts at most ${cmdMax}`);
  const pmKernel = kernel.subarray(hdr.kernelOffset);
  const kernelEnd = KERNEL_ADDR + Math.max(pmKernel.length, hdr.initSize);
  let initrdAddr = 0;
  const initrdSize = initrd?.length ?? 0;
  if (initrd) {
    const top = Math.min(ramBytes, hdr.initrdAddrMax + 1);
    initrdAddr = Math.floor((top - initrdSize) / 4096) * 4096;
    if (initrdAddr < kernelEnd) {
      throw new BootImageError(`the initrd (${(initrdSize / 1048576).toFixed(1)} MiB) does not fit in ${ramBytes >> 20} MiB of memory above the kernel; give the machine more memory`);
    }
  } else if (kernelEnd > ramBytes) {
    throw new BootImageError(`the kernel needs ${(kernelEnd / 1048576).toFixed(1)} MiB of memory; give the machine more memory`);
  }
  const e820 = buildE820(ramBytes, pc.reservedRegions());

  return (machine) => {
    const ram = machine.views.ram8;
    const dv = new DataView(ram.buffer, ram.byteOffset, ram.byteLength);
    ram.set(pmKernel, KERNEL_ADDR);
    ram.fill(0, KERNEL_ADDR + pmKernel.length, Math.min(kernelEnd, ram.length));
    if (initrd) ram.set(initrd, initrdAddr);

    // boot_params: zeroed, then the kernel's own setup header, then what the loader fills in.
    const bp = BOOT_PARAMS_ADDR;
    ram.fill(0, bp, bp + 4096);
    ram.set(kernel.subarray(0x1f1, hdr.headerEnd), bp + 0x1f1);
    ram[bp + 0x210] = 0xff; // type_of_loader: undefined loader
    ram[bp + 0x211] = (hdr.loadFlags | 0x80) & ~0x20; // CAN_USE_HEAP; keep QUIET_FLAG clear so boot messages appear
    dv.setUint16(bp + 0x224, 0xfe00, true); // heap_end_ptr
    dv.setUint32(bp + 0x218, initrdAddr, true);
    dv.setUint32(bp + 0x21c, initrdSize, true);
    dv.setUint32(bp + 0x228, CMDLINE_ADDR, true);
    ram.set(cmd, CMDLINE_ADDR);
    ram[CMDLINE_ADDR + cmd.length] = 0;
    // screen_info: an 80x25 colour text screen (VGA), so the kernel's console setup finds one.
    ram[bp + 0x06] = 0x03; // orig_video_mode
    ram[bp + 0x07] = 80; // orig_video_cols
    ram[bp + 0x0e] = 25; // orig_video_lines
    ram[bp + 0x0f] = 0x22; // orig_video_isVGA: VIDEO_TYPE_VGAC
    dv.setUint16(bp + 0x10, 16, true); // orig_video_points
    dv.setUint16(bp + 0x02, Math.min(0xffff, (ramBytes >> 10) - 1024), true); // ext_mem_k
    dv.setUint32(bp + 0x1e0, (ramBytes >> 10) - 1024, true); // alt_mem_k
    ram[bp + 0x1e8] = e820.length;
    e820.forEach((e, k) => {
      const o = bp + 0x2d0 + k * 20;
      dv.setBigUint64(o, BigInt(e.base), true);
      dv.setBigUint64(o + 8, BigInt(e.length), true);
      dv.setUint32(o + 16, e.type, true);
    });

    // GDT with the boot selectors the protocol promises (flat 4 GiB code and data).
    dv.setBigUint64(GDT_ADDR + BOOT_CS, 0x00cf9a000000ffffn, true);
    dv.setBigUint64(GDT_ADDR + BOOT_DS, 0x00cf92000000ffffn, true);
    const cpu = machine.cpu;
    enterFlatProtectedMode(cpu, BOOT_CS, BOOT_DS, hdr.code32Start || KERNEL_ADDR);
    cpu.st[S.GDTR_BASE] = GDT_ADDR;
    cpu.st[S.GDTR_LIMIT] = 0x1f;
    cpu.st[S.IDTR_BASE] = 0;
    cpu.st[S.IDTR_LIMIT] = 0;
    cpu.st[S.ESI] = bp;
    cpu.st[S.EBP] = 0;
    cpu.st[S.EDI] = 0;
    cpu.st[S.EBX] = 0;
  };
}
