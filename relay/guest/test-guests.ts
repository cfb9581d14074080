// Guests the relay generates at run time (no committed binaries):
//  - the KVM probe guest, which proves that a vCPU really executes protected
//    mode code, including a descriptor-table switch and an interrupt
//    round trip, by writing a marker to COM1 and then a chosen value to
//    QEMU's isa-debug-exit port, which makes QEMU exit with status
//    (value << 1) | 1;
//  - the echo guest, a serial echo loop that sleeps in `hlt` between bytes
//    (so an idle test VM costs no host CPU), used by tests and smoke checks
//    that need a guest which boots in milliseconds instead of seconds.
//
// Why the probe does more than "out 0xf4": on nested or half-working KVM
// hosts (this project's CI machine is one), trivial code runs, but the first
// `iret` after loading our own GDT/IDT dies with "KVM internal error,
// emulation failure" and QEMU freezes the VM. Real kernels do the same early
// on, so the probe has to as well.

import type { Asm } from './x86-asm.ts';
import { buildMultibootElf, multibootAsm } from './multiboot-elf.ts';

const COM1 = 0x3f8;
const COM1_IER = COM1 + 1;
const COM1_MCR = COM1 + 4;
const COM1_LSR = COM1 + 5;
const LSR_DATA_READY = 0x01;
const LSR_THR_EMPTY = 0x20;
const CODE_SEL = 0x08;
const DATA_SEL = 0x10;

export const DEBUG_EXIT_PORT = 0xf4;
/** QEMU arguments that give the guest the exit port used by the probe guest. */
export const DEBUG_EXIT_DEVICE = ['-device', `isa-debug-exit,iobase=0x${DEBUG_EXIT_PORT.toString(16)},iosize=0x04`];
const PROBE_EXIT_VALUE = 0x2a;
/** QEMU's exit status after the probe guest ran to completion. */
export const PROBE_EXIT_STATUS = (PROBE_EXIT_VALUE << 1) | 1;
/** What the probe guest writes to COM1 before exiting. */
export const PROBE_MARKER = 'K';

export const ECHO_GUEST_BANNER = 'ts86-relay echo guest ready\r\n';

/**
 * Multiboot leaves GDTR, IDTR and ESP undefined: install our own flat
 * segments, a stack, and an IDT whose every gate points at `irq`, which
 * acknowledges the PIC and returns.
 */
function enterOwnProtectedMode(a: Asm): void {
  a.cli().lgdt('gdtr').jmpFar(CODE_SEL, 'reload');
  a.label('reload').movAx(DATA_SEL);
  for (const s of ['ds', 'es', 'fs', 'gs', 'ss'] as const) a.movSregAx(s);
  a.movEsp('stack_top').lidt('idtr');
}

/** Code and data that enterOwnProtectedMode() refers to; emit after the main code. */
function descriptorTablesAndHandler(a: Asm): void {
  a.label('irq').pushEax().movAl(0x20).outImmAl(0x20).popEax().iret();
  a.align(8, 0);
  a.label('gdt').dd(0).dd(0);
  a.dd(0x0000ffff).dd(0x00cf9a00); // flat 4 GiB code, ring 0
  a.dd(0x0000ffff).dd(0x00cf9200); // flat 4 GiB data, ring 0
  a.label('gdtr').dw(3 * 8 - 1).dd('gdt');
  a.align(8, 0);
  a.label('idt');
  for (let v = 0; v < 256; v++) a.interruptGate(CODE_SEL, 'irq');
  a.label('idtr').dw(256 * 8 - 1).dd('idt');
  a.bss('stack_top', 4096);
}

export function probeGuestElf(): Uint8Array {
  const a = multibootAsm();
  enterOwnProtectedMode(a);
  a.int(0x30); // an interrupt round trip through our IDT (see the header)
  a.movDx(COM1).movAl(PROBE_MARKER.charCodeAt(0)).outDxAl();
  a.movDx(DEBUG_EXIT_PORT).movEax(PROBE_EXIT_VALUE).outDxEax();
  // Only reached if the exit device is missing: park the CPU.
  a.cli().label('park').hlt().jmp('park');
  descriptorTablesAndHandler(a);
  return buildMultibootElf(a);
}

export function echoGuestElf(): Uint8Array {
  const a = multibootAsm();
  enterOwnProtectedMode(a);

  // Unmask only IRQ4 (COM1). The PIC keeps the BIOS's vector bases: every IDT
  // gate points at the same handler, so whichever vector IRQ4 uses works.
  a.movAl(0xef).outImmAl(0x21).movAl(0xff).outImmAl(0xa1);
  // UART: interrupt on received data; OUT2 gates the IRQ line to the PIC.
  a.movDx(COM1_IER).movAl(0x01).outDxAl();
  a.movDx(COM1_MCR).movAl(0x0b).outDxAl();

  a.movEsi('banner');
  a.label('print').lodsb().testAlAl().jz('idle').call('putc').jmp('print');

  // `sti; hlt`: STI's one-instruction shadow means an IRQ that is already
  // pending wakes the hlt instead of being taken before it (no lost wakeup).
  // The handler only acknowledges the PIC; draining happens here.
  a.label('idle').sti().hlt().cli();
  a.label('drain').movDx(COM1_LSR).inAlDx().testAl(LSR_DATA_READY).jz('idle');
  a.movDx(COM1).inAlDx().call('putc').jmp('drain');

  a.label('putc').movBlAl().movDx(COM1_LSR);
  a.label('putc_wait').inAlDx().testAl(LSR_THR_EMPTY).jz('putc_wait');
  a.movDx(COM1).movAlBl().outDxAl().ret();

  a.label('banner').ascii(ECHO_GUEST_BANNER).db(0);
  descriptorTablesAndHandler(a);
  return buildMultibootElf(a);
}
