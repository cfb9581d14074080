// Intel 82371SB (PIIX3) PCI-to-ISA bridge, function 00:01.0 (8086:7000):
// the PIRQ route control registers (0x60–0x63) that steer PCI INTA#–INTD#
// onto ISA IRQs, and the reset control register at port 0xCF9. The ELCR that
// pairs with PIRQ routing lives with the 8259s (pic8259.ts).
import type { IrqSink } from '../irq.ts';
import { PciDevice } from './pci-device.ts';
import type { PciHost, PirqRouter } from './pci-host.ts';

const PIRQRC = 0x60;
const PIRQ_DISABLED = 0x80;
/** ISA IRQs a PIRQ may be routed to (the PIIX3 datasheet's reserved values 0–2, 8, 13 route nowhere). */
const ROUTABLE = 0b1101_1110_1111_1000;

export class Piix3 extends PciDevice implements PirqRouter {
  /** Reset control register bits as last written (bit 1: hard reset; bit 2 self-clears). */
  rcr = 0;
  /** ISA IRQ levels this bridge drives, one bit per IRQ. */
  private irqLevels = 0;

  constructor(private readonly host: PciHost, private readonly isaIrqs: IrqSink, private readonly requestReset: (reason: string) => void) {
    super('piix3-isa', { vendorId: 0x8086, deviceId: 0x7000, classCode: 0x060100, headerType: 0x80 });
    const c = this.config;
    this.set16(0x04, 0x0007);
    this.set16(0x06, 0x0200); // medium DEVSEL timing
    c[0x4c] = 0x4d; // ISA I/O recovery timer
    c[0x4e] = 0x03; // X-bus chip select enables
    c[0x60] = c[0x61] = c[0x62] = c[0x63] = PIRQ_DISABLED;
    c[0x69] = 0x02; // top of memory for ISA/DMA
    c[0x70] = 0x80; // motherboard IRQ routing: disabled
    c[0x76] = c[0x77] = 0x0c; // motherboard DMA: disabled
    c[0x78] = 0x02; // programmable chip select
    c[0xa0] = 0x08; // SMI control
    c[0xa8] = 0x0f; // SMI enable timer count
    for (let i = 0; i < 4; i++) this.writeMask[PIRQRC + i] = 0x8f;
    host.router = this;
    host.resetControl = {
      read: () => this.rcr,
      write: (v) => this.writeResetControl(v),
    };
  }

  /** 0xCF9: a 0→1 transition of bit 2 resets — the whole system if bit 1 is set, else the CPU. */
  private writeResetControl(v: number): void {
    if ((v & 4) && !(this.rcr & 4)) {
      this.requestReset(v & 2 ? 'hard reset via port 0xcf9' : 'soft reset via port 0xcf9');
    }
    this.rcr = v & 0x02;
  }

  pirqIrq(pirq: number): number {
    const r = this.config[PIRQRC + pirq];
    if (r & PIRQ_DISABLED) return -1;
    const irq = r & 0xf;
    return (ROUTABLE >> irq) & 1 ? irq : -1;
  }

  pirqChanged(_pirq: number, _asserted: boolean): void {
    this.updateIrqs();
  }

  /** Each routed ISA IRQ is the OR of the PIRQ lines steered onto it. */
  private updateIrqs(): void {
    let levels = 0;
    for (let p = 0; p < 4; p++) {
      const irq = this.pirqIrq(p);
      if (irq >= 0 && this.host.pirqAsserted[p] > 0) levels |= 1 << irq;
    }
    const changed = levels ^ this.irqLevels;
    this.irqLevels = levels;
    for (let irq = 0; changed >> irq; irq++) {
      if ((changed >> irq) & 1) this.isaIrqs.setIrq(irq, ((levels >> irq) & 1) !== 0);
    }
  }

  protected override configWritten(off: number, size: number): void {
    if (off < PIRQRC + 4 && off + size > PIRQRC) this.updateIrqs();
  }

  override reset(): void {
    super.reset();
    this.rcr = 0;
    this.updateIrqs();
  }

  /** Firmware: routes PIRQA–D to the given ISA IRQs (SeaBIOS uses 10, 10, 11, 11). */
  routePirqs(irqs: readonly number[]): void {
    for (let p = 0; p < 4; p++) this.config[PIRQRC + p] = irqs[p] & 0xf;
    this.updateIrqs();
  }
}
