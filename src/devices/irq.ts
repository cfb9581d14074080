// Interrupt request lines from devices to the interrupt controllers.

/** Where a device drives its IRQ line (the PIC pair and IOAPIC implement this). */
export interface IrqSink {
  setIrq(irq: number, level: boolean): void;
}

/** A sink for machines without an interrupt controller wired (bare tests). */
export const NO_IRQ: IrqSink = { setIrq() {} };
