// The PC board: wires the devices of a PC onto a Machine's bus, in the
// order of a PC block diagram. The platform grows here (PIC, PIT, RTC,
// i8042, PCI, ACPI, virtio) without the CPU or the host knowing.
import { Machine, type MachineOptions } from './machine.ts';
import { Uart16550 } from '../devices/uart16550.ts';
import { DebugExit } from '../devices/debug-exit.ts';
import { SystemControlPortA } from '../devices/port92.ts';
import { NO_IRQ, type IrqSink } from '../devices/irq.ts';
import type { E820Entry } from './boot/e820.ts';

export interface PcOptions extends MachineOptions {}

export class Pc {
  readonly machine: Machine;
  readonly com1: Uart16550;
  readonly com2: Uart16550;
  readonly port92: SystemControlPortA;
  /** Where device IRQ lines go; replaced by the PIC/IOAPIC once the platform has them. */
  irqs: IrqSink = NO_IRQ;

  constructor(options: PcOptions) {
    const m = (this.machine = new Machine(options));
    const irqs: IrqSink = { setIrq: (irq, level) => this.irqs.setIrq(irq, level) };
    this.com1 = new Uart16550(0x3f8, 4, irqs);
    this.com1.attach(m.bus, 'COM1');
    this.com2 = new Uart16550(0x2f8, 3, irqs);
    this.com2.attach(m.bus, 'COM2');
    new DebugExit((status) => m.exit(status)).attach(m.bus);
    this.port92 = new SystemControlPortA(m.cpu, (reason) => m.requestReset(reason));
    this.port92.attach(m.bus);
  }

  /** Memory regions the platform reserves in the e820 map (ACPI tables, APIC windows). */
  reservedRegions(): E820Entry[] {
    return [];
  }
}
