// PCI bus 0 behind a host bridge, reached with configuration mechanism #1:
// CONFIG_ADDRESS at 0xCF8 (dword accesses only) and CONFIG_DATA at
// 0xCFC–0xCFF (byte, word or dword). Port 0xCF9 shares the range on PIIX
// chipsets as the reset control register, which the ISA bridge provides.
// INTx pins are swizzled by slot onto the four PIRQ lines, whose routing the
// ISA bridge owns. `assignResources` does what PC firmware does before an OS
// runs: place BARs, enable decoders and fill in interrupt lines.
import type { Bus, PortHandler } from '../bus.ts';
import { PciDevice, PCI_BAR0, PCI_COMMAND, PCI_INTERRUPT_LINE, PCI_INTERRUPT_PIN, CMD_IO, CMD_MEMORY, CMD_MASTER, type PciBusSide } from './pci-device.ts';

/** Routes the four PIRQ lines (A–D) somewhere; the ISA bridge implements it. */
export interface PirqRouter {
  pirqChanged(pirq: number, asserted: boolean): void;
  /** The ISA IRQ a PIRQ line is routed to, or -1. */
  pirqIrq(pirq: number): number;
}

export class PciHost implements PciBusSide {
  configAddress = 0;
  /** Functions by device/function number (slot << 3 | fn). */
  readonly functions: (PciDevice | undefined)[] = new Array(256);
  /** How many functions assert each PIRQ line. */
  readonly pirqAsserted = new Int32Array(4);
  router: PirqRouter | null = null;
  /** Port 0xCF9 (byte access): the PIIX reset control register, when an ISA bridge provides it. */
  resetControl: { read(): number; write(v: number): void } | null = null;

  constructor(readonly bus: Bus, readonly memoryDecodeFloor: number) {}

  attach(): void {
    const handler: PortHandler = {
      read8: (port) => (port === 0xcf9 && this.resetControl ? this.resetControl.read() : this.readData(port, 1)),
      write8: (port, v) => {
        if (port === 0xcf9 && this.resetControl) this.resetControl.write(v);
        else this.writeData(port, 1, v);
      },
      read16: (port) => this.readData(port, 2),
      write16: (port, v) => this.writeData(port, 2, v),
      read32: (port) => (port === 0xcf8 ? this.configAddress : this.readData(port, 4)),
      write32: (port, v) => {
        if (port === 0xcf8) this.configAddress = (v & 0x80ff_fffc) >>> 0;
        else this.writeData(port, 4, v);
      },
    };
    this.bus.registerPorts(0xcf8, 8, 'pci-config', handler);
  }

  plug(dev: PciDevice, slot: number, fn = 0): void {
    const devfn = (slot << 3) | fn;
    if (slot < 0 || slot > 31 || fn < 0 || fn > 7) throw new RangeError(`${dev.name}: no PCI slot ${slot}.${fn}`);
    if (this.functions[devfn]) throw new RangeError(`${dev.name}: PCI ${slot}.${fn} is taken by ${this.functions[devfn]!.name}`);
    this.functions[devfn] = dev;
    dev.plugged(this, slot, fn);
  }

  reset(): void {
    this.configAddress = 0;
    for (const f of this.functions) f?.reset();
  }

  /** The function CONFIG_ADDRESS selects, with the register offset for a data port access, or null. */
  private target(port: number, size: number): PciDevice | null {
    const a = this.configAddress;
    if (!(a & 0x8000_0000) || port < 0xcfc) return null;
    if (((a >> 16) & 0xff) !== 0) return null; // only bus 0 exists
    if ((port & 3) + size > 4) return null;
    return this.functions[(a >> 8) & 0xff] ?? null;
  }

  private readData(port: number, size: number): number {
    const f = this.target(port, size);
    if (!f) return size === 4 ? -1 : (1 << (8 * size)) - 1; // no device: master abort reads all-ones
    return f.readConfig((this.configAddress & 0xfc) + (port & 3), size);
  }

  private writeData(port: number, size: number, v: number): void {
    this.target(port, size)?.writeConfig((this.configAddress & 0xfc) + (port & 3), size, v);
  }

  // ---------------------------------------------------------------- INTx

  /** Which PIRQ line a function's INTx pin reaches: the standard swizzle by slot. */
  static pirqOf(slot: number, pin: number): number {
    return (slot + pin - 1) & 3;
  }

  intx(dev: PciDevice, level: boolean): void {
    const pirq = PciHost.pirqOf(dev.slot, dev.config[PCI_INTERRUPT_PIN]);
    const before = this.pirqAsserted[pirq] > 0;
    this.pirqAsserted[pirq] += level ? 1 : -1;
    const after = this.pirqAsserted[pirq] > 0;
    if (before !== after) this.router?.pirqChanged(pirq, after);
  }

  // ---------------------------------------------------------------- firmware

  /**
   * Firmware-style resource assignment: I/O BARs from `ioBase` up and memory
   * BARs from `memBase` up, each naturally aligned (largest first); decoders
   * and bus mastering enabled; interrupt line set to the routed ISA IRQ.
   */
  assignResources(ioBase = 0xc000, memBase = 0xe000_0000): void {
    const bars: { dev: PciDevice; index: number; size: number; io: boolean }[] = [];
    for (const dev of this.functions) {
      if (!dev) continue;
      dev.bars.forEach((b, index) => { if (b) bars.push({ dev, index, size: b.size, io: b.kind === 'io' }); });
    }
    bars.sort((a, b) => b.size - a.size);
    let io = ioBase;
    let mem = memBase;
    for (const b of bars) {
      const off = PCI_BAR0 + b.index * 4;
      if (b.io) {
        io = Math.ceil(io / b.size) * b.size;
        b.dev.set32(off, (io | 1) >>> 0);
        io += b.size;
      } else {
        mem = Math.ceil(mem / b.size) * b.size;
        b.dev.set32(off, ((mem >>> 0) | (b.dev.config[off] & 0xf)) >>> 0);
        mem += b.size;
      }
    }
    for (const dev of this.functions) {
      if (!dev) continue;
      const hasIo = dev.bars.some((b) => b?.kind === 'io');
      const hasMem = dev.bars.some((b) => b?.kind === 'mem32');
      if (hasIo || hasMem) {
        dev.set16(PCI_COMMAND, dev.command | (hasIo ? CMD_IO : 0) | (hasMem ? CMD_MEMORY : 0) | CMD_MASTER);
        dev.updateMappings();
      }
      const pin = dev.config[PCI_INTERRUPT_PIN];
      if (pin !== 0 && this.router) {
        const irq = this.router.pirqIrq(PciHost.pirqOf(dev.slot, pin));
        if (irq >= 0) dev.config[PCI_INTERRUPT_LINE] = irq;
      }
    }
  }
}
