// The PC board: wires the devices of a PC onto a Machine's bus, in the
// order of a PC block diagram, and does the few things PC firmware does
// before an OS runs (there is no BIOS here: the board leaves the machine as
// SeaBIOS leaves QEMU's "pc" machine).
//
//   CPU ── local APIC (0xFEE00000) ◄── APIC bus ── IOAPIC (0xFEC00000) ◄─┐
//            ▲ LINT0 (ExtINT)                                             │
//            └── 8259 master ◄── 8259 slave                               │
//                  ▲ ISA IRQ 0–15 ────────────────────────────────────────┘ (IRQ0 → pin 2)
//      PIT 0x40 (IRQ0), i8042 0x60/0x64 (IRQ1, 12), COM2/COM1 (IRQ3, 4),
//      RTC/CMOS 0x70 (IRQ8), ACPI SCI (IRQ9), FERR# (IRQ13);
//      port 0x61 (speaker, PIT gate 2), port 0x92 (A20), isa-debug-exit 0xF4
//   i440FX host bridge 00:00.0 ── PCI bus 0 (config 0xCF8/0xCFC)
//      PIIX3 ISA bridge 00:01.0: PIRQA–D → ISA IRQ, reset control 0xCF9
//      PIIX4 PM 00:01.3: ACPI PM1/PM timer/GPE0 at 0x600 (SCI IRQ 9)
//      with `iommu`: virtio-iommu 00:03.0, translating every other function
//      virtio-blk disks 00:03.0 (00:04.0 with the IOMMU), ... (attachDisk):
//        virtio 1.2 modern PCI functions, MSI-X to the local APIC or INTA#
//        through the PIRQs
//   ACPI tables in the 0xE0000 segment (RSDP, RSDT, FADT, FACS, DSDT, MADT,
//   and VIOT with the IOMMU)
//
// Every device reaches guest RAM through `dma` (guest-dma.ts), which also
// drops the CPU's decoded code for whatever a device writes; behind the
// IOMMU, through a TranslatedDmaSpace for its requester ID in front of it.
import { Vga } from '../devices/vga.ts';
import { Machine, type MachineOptions } from './machine.ts';
import { Uart16550 } from '../devices/uart16550.ts';
import { DebugExit } from '../devices/debug-exit.ts';
import { SystemControlPortA } from '../devices/port92.ts';
import { SystemControlPortB } from '../devices/port61.ts';
import { DualPic } from '../devices/pic8259.ts';
import { Pit8254 } from '../devices/pit8254.ts';
import { RtcCmos, CMOS_CENTURY } from '../devices/rtc-cmos.ts';
import { I8042 } from '../devices/i8042.ts';
import { LocalApic, APIC_DEFAULT_BASE } from '../devices/local-apic.ts';
import { IoApic, IOAPIC_DEFAULT_BASE } from '../devices/ioapic.ts';
import { PciHost } from '../devices/pci/pci-host.ts';
import { I440fx } from '../devices/pci/i440fx.ts';
import { Piix3 } from '../devices/pci/piix3.ts';
import { Piix4Acpi } from '../devices/pci/piix4-acpi.ts';
import { AcpiPm } from '../devices/acpi/pm.ts';
import { buildAcpiTables, type AcpiTables } from '../devices/acpi/tables.ts';
import type { IrqSink } from '../devices/irq.ts';
import { E820_RESERVED, type E820Entry } from './boot/e820.ts';
import { ConfigError } from './memory.ts';
import { createGuestDma, type GuestDmaSpace } from './guest-dma.ts';
import type { BlockDevice } from '../storage/block-device.ts';
import { VirtioBlk, type DiskErrorPolicy } from '../devices/virtio/blk.ts';
import { VirtioPciDevice } from '../devices/virtio/pci-transport.ts';
import { VirtioIommu } from '../devices/virtio/iommu.ts';
import { TranslatedDmaSpace, type DmaSpace } from '../devices/dma-space.ts';

export interface PcOptions extends MachineOptions {
  /**
   * The guest's wall-clock date at power-on, in ms since 1970 UTC (the RTC
   * runs on from it with the machine clock). Default: the host's date with a
   * wall clock, DETERMINISTIC_RTC_START_MS with a deterministic clock.
   */
  rtcStartMs?: number;
  /**
   * A virtio-iommu (00:03.0, described to the OS by the ACPI VIOT): every
   * disk's DMA is then translated through the domain the guest attaches it
   * to, and refused (with a fault event) outside its mappings.
   */
  iommu?: boolean;
  /**
   * With the IOMMU: devices the guest has not attached to a domain reach
   * memory untranslated until the guest's driver turns bypass off (QEMU's
   * boot-bypass, on by default there too), so a guest without a virtio-iommu
   * driver keeps working disks. false: refused (with fault events) until attached.
   */
  iommuBootBypass?: boolean;
}

/** The RTC's date at power-on in deterministic mode: 2026-01-01 00:00:00 UTC. */
export const DETERMINISTIC_RTC_START_MS = 1_767_225_600_000;

/** Where the board places the ACPI tables (the BIOS E segment, scanned for the RSDP). */
export const ACPI_TABLES_BASE = 0xe0000;
const ACPI_AREA = { base: 0xe0000, length: 0x10000 };
/** Firmware choices, as SeaBIOS makes them on QEMU: PM block, SCI, PCI IRQ routing. */
const PM_BASE = 0x600;
const SCI_IRQ = 9;
const PIRQ_IRQS = [10, 10, 11, 11];
/** First slot for add-on PCI functions; 00:02.0 is left for a display adapter, as on QEMU's pc machine. */
const FIRST_EXPANSION_SLOT = 3;

export interface AttachDiskOptions {
  /** The disk's serial number (virtio-blk GET_ID, up to 20 ASCII bytes). Default "ts86-disk<n>". */
  serial?: string;
  /** Where the device reports guest driver errors. Default: console.warn. */
  log?: (message: string) => void;
  /**
   * What a failure of the disk's storage does: 'report' gives the guest an I/O
   * error (default); 'stop' holds the request and calls Pc.onDiskHeld, so the
   * machine can pause until the user fixes the cause and retryHeldDisks().
   */
  errorPolicy?: DiskErrorPolicy;
  /** Request queues (VIRTIO_BLK_F_MQ when more than 1). Default 1. */
  queues?: number;
}

export class Pc {
  readonly machine: Machine;
  /** ISA IRQ lines 0–15, fanned out to the 8259s and the IOAPIC. */
  readonly irqs: IrqSink;
  readonly pic: DualPic;
  readonly lapic: LocalApic;
  readonly ioapic: IoApic;
  readonly pit: Pit8254;
  readonly port61: SystemControlPortB;
  readonly port92: SystemControlPortA;
  readonly rtc: RtcCmos;
  readonly kbc: I8042;
  readonly com1: Uart16550;
  readonly com2: Uart16550;
  /** VGA registers; the text buffer at 0xB8000 is ordinary RAM the page reads directly. */
  readonly vga: Vga;
  readonly pci: PciHost;
  readonly hostBridge: I440fx;
  readonly isaBridge: Piix3;
  readonly pm: AcpiPm;
  readonly pmFunction: Piix4Acpi;
  readonly acpi: AcpiTables;
  /** The DmaSpace every device uses: guest physical addresses, decoded code dropped on writes. */
  readonly dma: GuestDmaSpace;
  /** The virtio-iommu and its PCI function, with PcOptions.iommu. */
  readonly iommu: { device: VirtioIommu; pci: VirtioPciDevice } | null = null;
  /** virtio-blk disks in the order they were attached (vda, vdb, ...). */
  readonly disks: { blk: VirtioBlk; pci: VirtioPciDevice; disk: BlockDevice }[] = [];
  /**
   * Called when a device interrupts from outside a time slice (a disk
   * request completed). Whoever runs the machine sets it to wake its run
   * loop, which otherwise sleeps while the guest is halted.
   */
  wakeHost: () => void = () => {};
  /**
   * A disk attached with errorPolicy 'stop' failed (quota, network, image
   * gone) and is holding the guest's requests. Whoever runs the machine
   * pauses it and tells the user; retryHeldDisks() continues.
   */
  onDiskHeld: (disk: number, error: Error) => void = (disk, error) => console.warn(`[ts86] disk ${disk} failed and is holding its requests: ${error.message}`);

  constructor(options: PcOptions) {
    const m = (this.machine = new Machine(options));
    this.dma = createGuestDma(m);
    const { bus, cpu, timers } = m;
    const resettables: { reset(): void }[] = [];
    const onReset = <T extends { reset(): void }>(d: T): T => {
      resettables.push(d);
      m.addResettable(d);
      return d;
    };

    // Interrupt controllers: the 8259 pair's INT drives the local APIC's LINT0; the
    // IOAPIC sends messages to the local APIC, which broadcasts level EOIs back.
    this.pic = onReset(new DualPic((level) => this.lapic.picOutputChanged(level)));
    this.pic.attach(bus);
    this.lapic = onReset(new LocalApic(cpu, bus, timers, this.pic));
    this.ioapic = onReset(new IoApic(this.lapic));
    this.ioapic.attach(bus, IOAPIC_DEFAULT_BASE);
    this.lapic.onEoi = (vector) => this.ioapic.eoi(vector);
    cpu.intc = this.lapic;
    const pic = this.pic, ioapic = this.ioapic;
    // Every ISA IRQ reaches both controllers, as on real chipsets; ISA IRQ0 is wired to IOAPIC pin 2.
    this.irqs = {
      setIrq(irq, level) {
        pic.setIrq(irq, level);
        if (irq !== 2) ioapic.setIrq(irq === 0 ? 2 : irq, level);
      },
    };
    const irqs = this.irqs;

    // ISA devices.
    this.pit = onReset(new Pit8254(timers, irqs));
    this.pit.attach(bus);
    this.port61 = onReset(new SystemControlPortB(this.pit, m.clock));
    this.port61.attach(bus);
    this.port92 = new SystemControlPortA(cpu, (reason) => m.requestReset(reason));
    this.port92.attach(bus);
    const rtcStart = options.rtcStartMs ?? (m.clock.mode === 'deterministic' ? DETERMINISTIC_RTC_START_MS : Date.now());
    this.rtc = onReset(new RtcCmos(timers, irqs, rtcStart));
    this.rtc.attach(bus);
    this.rtc.initFirmwareBytes(m.memoryBytes);
    this.kbc = onReset(new I8042({
      irqs,
      setA20: (on) => this.port92.setA20(on),
      a20: () => this.port92.a20Enabled,
      requestReset: (reason) => m.requestReset(reason),
    }));
    this.kbc.attach(bus);
    this.com1 = new Uart16550(0x3f8, 4, irqs);
    this.com1.attach(bus, 'COM1');
    this.com2 = new Uart16550(0x2f8, 3, irqs);
    this.com2.attach(bus, 'COM2');
    new DebugExit((status) => m.exit(status)).attach(bus);
    this.vga = onReset(new Vga(m.views.memory, m.views.ram8, m.clock));
    this.vga.attach(bus);
    // x87 FERR# raises IRQ13 (with CR0.NE clear); a write to port 0xF0 releases it.
    cpu.hooks.onFerr = () => irqs.setIrq(13, true);
    bus.registerPorts(0xf0, 1, 'fpu-irq13', { write8: () => irqs.setIrq(13, false) });

    // PCI: memory BARs decode only above RAM (the host bridge claims what is below).
    this.pci = onReset(new PciHost(bus, m.memoryBytes));
    this.pci.attach();
    this.hostBridge = new I440fx();
    this.pci.plug(this.hostBridge, 0);
    this.isaBridge = new Piix3(this.pci, irqs, (reason) => m.requestReset(reason));
    this.pci.plug(this.isaBridge, 1, 0);
    this.pm = new AcpiPm(timers, irqs, () => m.powerOff(), SCI_IRQ);
    this.pmFunction = new Piix4Acpi(bus, this.pm);
    this.pci.plug(this.pmFunction, 1, 3);

    // The IOMMU takes the first expansion slot so the VIOT, built once here, can name it before any disk exists.
    if (options.iommu) {
      const iommuDevfn = FIRST_EXPANSION_SLOT << 3;
      const pciFunctions = this.pci.functions;
      const device = new VirtioIommu(this.dma, {
        bootBypass: options.iommuBootBypass ?? true,
        hasEndpoint: (id) => id !== iommuDevfn && id >= 0 && id < 256 && pciFunctions[id] !== undefined,
        log: (msg) => console.warn(`[ts86 virtio-iommu] ${msg}`),
      });
      const fn = new VirtioPciDevice('virtio-iommu', device, { msi: this.lapic, onInterrupt: () => this.wakeHost() });
      this.pci.plug(fn, FIRST_EXPANSION_SLOT);
      this.iommu = { device, pci: fn };
    }

    this.acpi = buildAcpiTables({
      base: ACPI_TABLES_BASE,
      pmBase: PM_BASE,
      sciIrq: SCI_IRQ,
      localApicAddress: APIC_DEFAULT_BASE,
      ioApicAddress: IOAPIC_DEFAULT_BASE,
      ioApicId: 0,
      rtcCentury: CMOS_CENTURY,
      resetPort: 0xcf9,
      resetValue: 0x06,
      viot: this.iommu ? { iommuBdf: FIRST_EXPANSION_SLOT << 3, bdfStart: 0, bdfEnd: 0xff } : undefined,
    });
    onReset({ reset: () => this.firmware() });

    for (const d of resettables) d.reset();
  }

  /**
   * What PC firmware does after every reset before handing over: PCI IRQ
   * routing and the matching ELCR bits, BAR placement, the ACPI PM block,
   * and the ACPI tables in RAM.
   */
  private firmware(): void {
    this.isaBridge.routePirqs(PIRQ_IRQS);
    let elcr = 0;
    for (const irq of PIRQ_IRQS) elcr |= 1 << irq;
    this.pic.writeElcr(this.pic.master, elcr & 0xff);
    this.pic.writeElcr(this.pic.slave, elcr >> 8);
    this.pci.assignResources();
    this.pmFunction.enablePm(PM_BASE, SCI_IRQ);
    this.machine.views.ram8.set(this.acpi.bytes, ACPI_TABLES_BASE);
  }

  /**
   * Plugs a virtio-blk disk into the next free PCI slot (from 00:03.0) as a
   * virtio 1.2 modern PCI function, and places its BAR as the firmware would.
   * Disks are attached before the machine first runs; the guest sees them
   * at boot, as on a PC without hotplug.
   */
  attachDisk(disk: BlockDevice, options: AttachDiskOptions = {}): VirtioPciDevice {
    if (this.machine.cpu.instructionCount > 0) {
      throw new ConfigError('disks must be attached before the machine starts running (there is no PCI hotplug)');
    }
    let slot = FIRST_EXPANSION_SLOT;
    while (slot < 32 && this.pci.functions[slot << 3]) slot++;
    if (slot >= 32) throw new ConfigError('no free PCI slot for another disk');
    const n = this.disks.length;
    // Behind the IOMMU the device's requester ID (bus 0) is its endpoint ID, and the driver must use the DMA API (ACCESS_PLATFORM).
    const dma: DmaSpace = this.iommu ? new TranslatedDmaSpace(this.dma, this.iommu.device, slot << 3) : this.dma;
    const blk = new VirtioBlk(dma, disk, {
      accessPlatform: this.iommu !== null,
      serial: options.serial ?? `ts86-disk${n}`,
      log: options.log ?? ((m) => console.warn(`[ts86 virtio-blk ${n}] ${m}`)),
      errorPolicy: options.errorPolicy,
      numQueues: options.queues,
      onHold: (error) => this.onDiskHeld(n, error),
    });
    const pci = new VirtioPciDevice(`virtio-blk${n}`, blk, { msi: this.lapic, onInterrupt: () => this.wakeHost() });
    this.pci.plug(pci, slot);
    this.disks.push({ blk, pci, disk });
    // What the firmware did at reset, again, now that there is one more function to place.
    this.pci.assignResources();
    return pci;
  }

  /** Runs every request the disks are holding again; returns how many. */
  retryHeldDisks(): number {
    return this.disks.reduce((n, d) => n + d.blk.retryHeld(), 0);
  }

  /**
   * Waits for every disk's in-flight requests to finish, before the disks are
   * closed. Requests held after a disk failure are abandoned (never completed):
   * the machine is going away, and what the guest flushed is already stored.
   */
  async disksIdle(): Promise<void> {
    for (const d of this.disks) d.blk.abandonHeld();
    await Promise.all(this.disks.map((d) => d.blk.whenIdle()));
  }

  /** Memory regions the platform reserves in the e820 map (the ACPI tables' segment). */
  reservedRegions(): E820Entry[] {
    return [{ base: ACPI_AREA.base, length: ACPI_AREA.length, type: E820_RESERVED }];
  }
}
