// The virtio 1.2 modern PCI transport (§4.1): one PCI function carrying any
// VirtioDevice. Non-transitional only — vendor 0x1AF4, device 0x1040 + type,
// revision 1, no I/O BAR — so a legacy-only driver finds nothing to bind to,
// and a driver that does not accept VIRTIO_F_VERSION_1 is refused at
// FEATURES_OK by the device core.
//
// Everything lives in one 16 KiB 32-bit memory BAR (BAR0), placed by the
// firmware's BAR allocator or by the guest:
//
//   0x0000  common configuration (struct virtio_pci_common_cfg, 0x3c bytes)
//   0x0800  ISR status (read to clear)
//   0x1000  device-specific configuration (the device's readConfig/writeConfig)
//   0x2000  notifications: queue i at 0x2000 + 4 * i (notify_off_multiplier 4)
//   0x3000  MSI-X table (one vector for configuration changes, one per queue)
//   0x3800  MSI-X pending-bit array
//
// Config space carries the COMMON, NOTIFY, ISR, DEVICE and PCI_CFG vendor
// capabilities and MSI-X. Interrupts: with MSI-X enabled, the vector the
// driver assigned (msix_config / queue_msix_vector); otherwise INTA#, routed
// by the platform (PIRQ), asserted while the ISR is non-zero.
//
// Accesses the spec does not allow (wrong width, offsets between fields,
// writes to read-only fields, queue registers of a queue that does not exist)
// read as zero and are ignored; nothing here throws on guest input.
import type { MmioHandler } from '../bus.ts';
import { CMD_MASTER, PciDevice } from '../pci/pci-device.ts';
import { Msix, type MsiSink } from '../pci/msix.ts';
import type { InterruptKind, VirtioDevice, VirtioDeviceState, VirtioTransport } from './device.ts';
import {
  CapOffset,
  COMMON_CFG_LEN,
  COMMON_FIELD_WIDTH,
  Common,
  ISR_CONFIG,
  ISR_QUEUE,
  PCI_DEVICE_ID_VIRTIO_MODERN_BASE,
  PCI_SUBSYSTEM_ID_VIRTIO,
  PCI_VENDOR_ID_VIRTIO,
  VIRTIO_MSI_NO_VECTOR,
  VIRTIO_PCI_CAP_COMMON_CFG,
  VIRTIO_PCI_CAP_DEVICE_CFG,
  VIRTIO_PCI_CAP_ISR_CFG,
  VIRTIO_PCI_CAP_NOTIFY_CFG,
  VIRTIO_PCI_CAP_PCI_CFG,
  VIRTIO_PCI_CFG_CAP_LEN,
  VIRTIO_PCI_NOTIFY_CAP_LEN,
  addVirtioCap,
} from './pci-caps.ts';

export const VIRTIO_PCI_BAR = 0;
export const VIRTIO_PCI_BAR_SIZE = 0x4000;
export const Region = {
  common: 0x0000,
  isr: 0x0800,
  isrLength: 4,
  device: 0x1000,
  deviceMax: 0x1000,
  notify: 0x2000,
  msixTable: 0x3000,
  msixPba: 0x3800,
} as const;
export const NOTIFY_OFF_MULTIPLIER = 4;
/** The MSI-X table has room for 128 vectors below the PBA: the config vector and 127 queues. */
export const MAX_PCI_QUEUES = (Region.msixPba - Region.msixTable) / 16 - 1;

/** PCI class codes by virtio device type, as QEMU gives them. */
const CLASS_BY_TYPE: ReadonlyMap<number, number> = new Map([
  [1, 0x020000], // network
  [2, 0x010000], // block: mass storage (SCSI)
  [3, 0x078000], // console: simple communication, other
  [4, 0x00ff00], // entropy
]);

export type VirtioPciDeviceModel = VirtioDevice & { readonly configSize: number };

export interface VirtioPciOptions {
  /** Where MSI-X messages go (the local APIC). */
  msi: MsiSink;
  /**
   * Called after the function signals an interrupt (MSI-X message, or INTx
   * asserted): interrupts from completed disk requests arrive between time
   * slices, and a halted guest's run loop must wake for them.
   */
  onInterrupt?: () => void;
}

export interface VirtioPciState {
  config: number[];
  msixTable: number[];
  msixPending: number[];
  deviceFeatureSelect: number;
  driverFeatureSelect: number;
  queueSelect: number;
  msixConfig: number;
  queueVectors: number[];
  isr: number;
  device: VirtioDeviceState;
}

export class VirtioPciDevice extends PciDevice implements VirtioTransport {
  readonly msix: Msix;
  readonly counters = { notifies: 0, msixMessages: 0, intxAssertions: 0, isrReads: 0, ignoredAccesses: 0 };
  private deviceFeatureSelect = 0;
  private driverFeatureSelect = 0;
  private queueSelect = 0;
  private msixConfig = VIRTIO_MSI_NO_VECTOR;
  private readonly queueVectors: Uint16Array;
  private isr = 0;
  private readonly pciCfgCap: number;
  private readonly configSize: number;
  private readonly onInterrupt: () => void;

  constructor(
    name: string,
    readonly device: VirtioPciDeviceModel,
    options: VirtioPciOptions,
  ) {
    super(name, {
      vendorId: PCI_VENDOR_ID_VIRTIO,
      deviceId: PCI_DEVICE_ID_VIRTIO_MODERN_BASE + device.deviceId,
      classCode: CLASS_BY_TYPE.get(device.deviceId) ?? 0xff0000,
      revision: 1,
      subsystemVendorId: PCI_VENDOR_ID_VIRTIO,
      subsystemId: PCI_SUBSYSTEM_ID_VIRTIO,
      interruptPin: 1,
    });
    const queues = device.queues.length;
    if (queues < 1 || queues > MAX_PCI_QUEUES) throw new RangeError(`${name}: the PCI transport supports 1–${MAX_PCI_QUEUES} queues, not ${queues}`);
    if (device.configSize < 0 || device.configSize > Region.deviceMax) throw new RangeError(`${name}: device configuration of ${device.configSize} bytes does not fit`);
    this.configSize = device.configSize;
    this.queueVectors = new Uint16Array(queues).fill(VIRTIO_MSI_NO_VECTOR);
    this.onInterrupt = options.onInterrupt ?? (() => {});

    const handler: MmioHandler = {
      read: (offset, size) => this.barRead(offset, size),
      write: (offset, size, value) => this.barWrite(offset, size, value),
    };
    this.defineBar(VIRTIO_PCI_BAR, { kind: 'mem32', size: VIRTIO_PCI_BAR_SIZE, handler });

    addVirtioCap(this, VIRTIO_PCI_CAP_COMMON_CFG, VIRTIO_PCI_BAR, Region.common, COMMON_CFG_LEN);
    const notify = addVirtioCap(this, VIRTIO_PCI_CAP_NOTIFY_CFG, VIRTIO_PCI_BAR, Region.notify, queues * NOTIFY_OFF_MULTIPLIER, VIRTIO_PCI_NOTIFY_CAP_LEN);
    this.set32(notify + CapOffset.notifyOffMultiplier, NOTIFY_OFF_MULTIPLIER);
    addVirtioCap(this, VIRTIO_PCI_CAP_ISR_CFG, VIRTIO_PCI_BAR, Region.isr, Region.isrLength);
    if (this.configSize > 0) addVirtioCap(this, VIRTIO_PCI_CAP_DEVICE_CFG, VIRTIO_PCI_BAR, Region.device, this.configSize);
    // PCI configuration access: bar, offset, length and the data window are driver-writable (§4.1.4.9).
    const cfg = (this.pciCfgCap = addVirtioCap(this, VIRTIO_PCI_CAP_PCI_CFG, 0, 0, 0, VIRTIO_PCI_CFG_CAP_LEN));
    this.writeMask[cfg + CapOffset.bar] = 0xff;
    this.writeMask.fill(0xff, cfg + CapOffset.offset, cfg + CapOffset.pciCfgData + 4);

    this.msix = new Msix(this, queues + 1, options.msi, VIRTIO_PCI_BAR, Region.msixTable, VIRTIO_PCI_BAR, Region.msixPba);
    device.attachTransport(this);
  }

  // ---------------------------------------------------------------- interrupts (device → driver)

  raiseInterrupt(kind: InterruptKind, queue?: number): void {
    const msix = this.msix.enabled;
    if (kind === 'config') {
      // The config bit is set whatever the interrupt mechanism (§4.1.4.5.1).
      this.isr |= ISR_CONFIG;
      if (msix) this.sendMsix(this.msixConfig);
    } else if (msix) {
      this.sendMsix(this.queueVectors[queue ?? 0] ?? VIRTIO_MSI_NO_VECTOR);
    } else {
      this.isr |= ISR_QUEUE;
    }
    this.syncIntx();
    this.onInterrupt();
  }

  private sendMsix(vector: number): void {
    if (vector === VIRTIO_MSI_NO_VECTOR) return;
    this.counters.msixMessages++;
    this.msix.notify(vector);
  }

  /** INTA# follows the ISR while MSI-X is off (PCI: a function with MSI-X enabled must not use INTx). */
  private syncIntx(): void {
    const level = this.isr !== 0 && !this.msix.enabled;
    if (level && !this.intxRequest) this.counters.intxAssertions++;
    if (level !== this.intxRequest) this.setIntx(level);
  }

  /** Reading the ISR returns it and clears it, releasing INTx (§4.1.4.5). */
  private readIsr(): number {
    this.counters.isrReads++;
    const v = this.isr;
    this.isr = 0;
    this.syncIntx();
    return v;
  }

  // ---------------------------------------------------------------- the BAR

  /** A read of the BAR at `offset` (from the MMIO window or the PCI_CFG capability). */
  barRead(offset: number, size: 1 | 2 | 4): number {
    if (offset < COMMON_CFG_LEN) return this.commonRead(offset, size);
    if (offset >= Region.isr && offset < Region.isr + Region.isrLength) return offset === Region.isr ? this.readIsr() : 0;
    if (offset >= Region.device && offset < Region.device + this.configSize) {
      const o = offset - Region.device;
      if (o + size <= this.configSize) return this.device.readConfig(o, size) >>> 0;
    } else if (offset >= Region.msixTable && offset < Region.msixPba) {
      return this.msix.tableRead(offset - Region.msixTable, size) >>> 0;
    } else if (offset >= Region.msixPba && offset < VIRTIO_PCI_BAR_SIZE) {
      return this.msix.pbaRead(offset - Region.msixPba, size) >>> 0;
    }
    this.counters.ignoredAccesses++;
    return 0;
  }

  barWrite(offset: number, size: 1 | 2 | 4, value: number): void {
    if (offset < COMMON_CFG_LEN) return this.commonWrite(offset, size, value);
    if (offset >= Region.notify && offset < Region.notify + this.queueVectors.length * NOTIFY_OFF_MULTIPLIER) {
      // The driver writes the queue index (16 bits; 32 with NOTIFICATION_DATA): the address decides.
      if ((offset - Region.notify) % NOTIFY_OFF_MULTIPLIER === 0 && size !== 1) return this.notify((offset - Region.notify) / NOTIFY_OFF_MULTIPLIER);
    } else if (offset >= Region.device && offset < Region.device + this.configSize) {
      const o = offset - Region.device;
      if (o + size <= this.configSize) return this.device.writeConfig(o, size, value);
    } else if (offset >= Region.msixTable && offset < Region.msixPba) {
      return this.msix.tableWrite(offset - Region.msixTable, size, value);
    }
    this.counters.ignoredAccesses++;
  }

  private notify(queue: number): void {
    // A function that is not a bus master may not touch memory: the notification is lost, as on hardware.
    if (!(this.command & CMD_MASTER)) {
      this.counters.ignoredAccesses++;
      return;
    }
    this.counters.notifies++;
    this.device.queueNotify(queue);
  }

  // ---------------------------------------------------------------- common configuration

  private selectedQueue() {
    return this.queueSelect < this.queueVectors.length ? this.device.queue(this.queueSelect) : undefined;
  }

  private commonRead(offset: number, size: number): number {
    if (COMMON_FIELD_WIDTH.get(offset) !== size) {
      this.counters.ignoredAccesses++;
      return 0;
    }
    const d = this.device;
    switch (offset) {
      case Common.deviceFeatureSelect: return this.deviceFeatureSelect;
      case Common.deviceFeature: return d.readDeviceFeatures(this.deviceFeatureSelect) >>> 0;
      case Common.driverFeatureSelect: return this.driverFeatureSelect;
      case Common.driverFeature: return d.readDriverFeatures(this.driverFeatureSelect) >>> 0;
      case Common.msixConfig: return this.msixConfig;
      case Common.numQueues: return this.queueVectors.length;
      case Common.deviceStatus: return d.status & 0xff;
      case Common.configGeneration: return d.configGeneration & 0xff;
      case Common.queueSelect: return this.queueSelect;
    }
    const q = this.selectedQueue();
    if (!q) return 0; // queue_size 0: no such queue
    switch (offset) {
      case Common.queueSize: return q.size;
      case Common.queueMsixVector: return this.queueVectors[q.index]!;
      case Common.queueEnable: return q.enabled ? 1 : 0;
      case Common.queueNotifyOff: return q.index;
      case Common.queueDescLo: return lo32(q.descAddr);
      case Common.queueDescHi: return hi32(q.descAddr);
      case Common.queueDriverLo: return lo32(q.driverAddr);
      case Common.queueDriverHi: return hi32(q.driverAddr);
      case Common.queueDeviceLo: return lo32(q.deviceAddr);
      case Common.queueDeviceHi: return hi32(q.deviceAddr);
      default: return 0; // queue_notify_data (no NOTIF_CONFIG_DATA), queue_reset (no RING_RESET)
    }
  }

  private commonWrite(offset: number, size: number, value: number): void {
    if (COMMON_FIELD_WIDTH.get(offset) !== size) {
      this.counters.ignoredAccesses++;
      return;
    }
    const v = value >>> 0;
    const d = this.device;
    switch (offset) {
      case Common.deviceFeatureSelect: this.deviceFeatureSelect = v; return;
      case Common.driverFeatureSelect: this.driverFeatureSelect = v; return;
      case Common.driverFeature: d.writeDriverFeatures(this.driverFeatureSelect, v); return;
      case Common.msixConfig: this.msixConfig = this.acceptVector(v); return;
      case Common.deviceStatus:
        if ((v & 0xff) === 0) this.resetRegisters();
        d.writeStatus(v & 0xff);
        return;
      case Common.queueSelect: this.queueSelect = v & 0xffff; return;
    }
    const q = this.selectedQueue();
    if (!q) {
      this.counters.ignoredAccesses++;
      return;
    }
    if (offset === Common.queueMsixVector) {
      this.queueVectors[q.index] = this.acceptVector(v);
      return;
    }
    if (offset === Common.queueEnable) {
      // Only 1 is meaningful; a queue is disabled by resetting the device (no RING_RESET).
      if ((v & 0xffff) === 1 && !q.enabled) d.enableQueue(q.index);
      return;
    }
    if (q.enabled) {
      // The driver must not change a live queue's size or addresses (§4.1.4.3.2).
      this.counters.ignoredAccesses++;
      return;
    }
    switch (offset) {
      case Common.queueSize: {
        const n = v & 0xffff;
        if (n >= 1 && n <= q.maxSize && (n & (n - 1)) === 0) q.size = n;
        else this.counters.ignoredAccesses++;
        return;
      }
      case Common.queueDescLo: q.descAddr = withLo(q.descAddr, v); return;
      case Common.queueDescHi: q.descAddr = withHi(q.descAddr, v); return;
      case Common.queueDriverLo: q.driverAddr = withLo(q.driverAddr, v); return;
      case Common.queueDriverHi: q.driverAddr = withHi(q.driverAddr, v); return;
      case Common.queueDeviceLo: q.deviceAddr = withLo(q.deviceAddr, v); return;
      case Common.queueDeviceHi: q.deviceAddr = withHi(q.deviceAddr, v); return;
      default: this.counters.ignoredAccesses++; // read-only fields
    }
  }

  /** A vector number the table has, else NO_VECTOR: the driver reads back what was accepted (§4.1.5.1.2). */
  private acceptVector(v: number): number {
    v &= 0xffff;
    return v < this.msix.vectors ? v : VIRTIO_MSI_NO_VECTOR;
  }

  /** Transport registers after a device reset (device_status = 0) or a PCI reset. */
  private resetRegisters(): void {
    this.deviceFeatureSelect = 0;
    this.driverFeatureSelect = 0;
    this.queueSelect = 0;
    this.msixConfig = VIRTIO_MSI_NO_VECTOR;
    this.queueVectors.fill(VIRTIO_MSI_NO_VECTOR);
    this.isr = 0;
    this.syncIntx();
  }

  // ---------------------------------------------------------------- PCI configuration space

  /** The BAR access the PCI_CFG capability selects, if it is a valid one (§4.1.4.9.1). */
  private cfgWindow(): { offset: number; length: 1 | 2 | 4 } | null {
    const cap = this.pciCfgCap;
    if (this.config[cap + CapOffset.bar] !== VIRTIO_PCI_BAR) return null;
    const offset = this.get32(cap + CapOffset.offset);
    const length = this.get32(cap + CapOffset.length);
    if (length !== 1 && length !== 2 && length !== 4) return null;
    if (offset % length !== 0 || offset + length > VIRTIO_PCI_BAR_SIZE) return null;
    return { offset, length };
  }

  private touchesCfgData(off: number, size: number): boolean {
    const data = this.pciCfgCap + CapOffset.pciCfgData;
    return off < data + 4 && off + size > data;
  }

  protected override beforeConfigRead(off: number, size: number): void {
    if (!this.touchesCfgData(off, size)) return;
    const w = this.cfgWindow();
    if (!w) return;
    const v = this.barRead(w.offset, w.length);
    const data = this.pciCfgCap + CapOffset.pciCfgData;
    for (let k = 0; k < w.length; k++) this.config[data + k] = (v >>> (8 * k)) & 0xff;
  }

  protected override configWritten(off: number, size: number): void {
    if (this.touchesCfgData(off, size)) {
      const w = this.cfgWindow();
      if (w) {
        const data = this.pciCfgCap + CapOffset.pciCfgData;
        const v = w.length === 1 ? this.config[data]! : w.length === 2 ? this.get16(data) : this.get32(data);
        this.barWrite(w.offset, w.length, v);
      }
    }
    // MSI-X enable or function mask may have changed: INTx is used only without MSI-X.
    const ctrl = this.msix.capOffset + 2;
    if (off < ctrl + 2 && off + size > ctrl) this.syncIntx();
  }

  /** PCI reset (machine reset): configuration space, MSI-X and the virtio device back to power-on state. */
  override reset(): void {
    super.reset();
    this.msix.reset();
    this.resetRegisters();
    this.device.writeStatus(0);
  }

  // ---------------------------------------------------------------- snapshots

  /** Serialisable state; only valid while the device is idle (await device.whenIdle()). */
  saveState(): VirtioPciState {
    return {
      config: Array.from(this.config),
      msixTable: Array.from(this.msix.table),
      msixPending: Array.from(this.msix.pending),
      deviceFeatureSelect: this.deviceFeatureSelect,
      driverFeatureSelect: this.driverFeatureSelect,
      queueSelect: this.queueSelect,
      msixConfig: this.msixConfig,
      queueVectors: Array.from(this.queueVectors),
      isr: this.isr,
      device: this.device.saveState(),
    };
  }

  loadState(s: VirtioPciState): void {
    this.config.set(s.config.slice(0, 256));
    this.msix.table.set(s.msixTable.slice(0, this.msix.table.length));
    this.msix.pending.set(s.msixPending.slice(0, this.msix.pending.length));
    this.deviceFeatureSelect = s.deviceFeatureSelect >>> 0;
    this.driverFeatureSelect = s.driverFeatureSelect >>> 0;
    this.queueSelect = s.queueSelect & 0xffff;
    this.msixConfig = s.msixConfig & 0xffff;
    this.queueVectors.set(s.queueVectors.slice(0, this.queueVectors.length));
    this.isr = s.isr & 3;
    this.device.loadState(s.device);
    this.updateMappings();
    this.syncIntx();
  }
}

function lo32(addr: number): number {
  return addr % 2 ** 32;
}

function hi32(addr: number): number {
  return Math.floor(addr / 2 ** 32) >>> 0;
}

function withLo(addr: number, v: number): number {
  return Math.floor(addr / 2 ** 32) * 2 ** 32 + v;
}

function withHi(addr: number, v: number): number {
  return v * 2 ** 32 + (addr % 2 ** 32);
}
