// A test-side virtio 1.2 PCI driver that reaches the device only as a guest
// would: PCI configuration mechanism #1 (ports 0xCF8/0xCFC), the vendor
// capabilities it finds there, MMIO in the BAR they point to, and split
// rings in guest RAM. Used by tests/virtio/pci-*.test.ts.
import type { Pc } from '../../src/machine/pc.ts';
import {
  CapOffset,
  Common,
  PCI_CAP_ID_VENDOR,
  VIRTIO_PCI_CAP_COMMON_CFG,
  VIRTIO_PCI_CAP_DEVICE_CFG,
  VIRTIO_PCI_CAP_ISR_CFG,
  VIRTIO_PCI_CAP_NOTIFY_CFG,
  VIRTIO_PCI_CAP_PCI_CFG,
} from '../../src/devices/virtio/pci-caps.ts';
import {
  STATUS_ACKNOWLEDGE,
  STATUS_DRIVER,
  STATUS_DRIVER_OK,
  STATUS_FEATURES_OK,
  VIRTQ_DESC_F_NEXT,
  VIRTQ_DESC_F_WRITE,
} from '../../src/devices/virtio/constants.ts';

export interface VirtioCap {
  /** Offset of the capability in config space. */
  at: number;
  bar: number;
  offset: number;
  length: number;
}

export interface RingLayout {
  size: number;
  desc: number;
  avail: number;
  used: number;
}

export interface ChainSegment {
  /** Device-readable bytes. */
  out?: Uint8Array;
  /** Device-writable buffer of this many bytes. */
  in?: number;
  /** Guest address of the buffer (default: freshly allocated). */
  at?: number;
}

export interface SubmittedChain {
  head: number;
  addrs: number[];
  /** The last byte of the chain (virtio-blk's status). */
  lastByte: number;
}

export class PciVirtioDriver {
  readonly caps = new Map<number, VirtioCap>();
  notifyMultiplier = 0;
  readonly rings: RingLayout[] = [];
  private heap: number;
  private readonly availIdx: number[] = [];
  private readonly usedSeen: number[] = [];
  private readonly nextDesc: number[] = [];

  constructor(
    readonly pc: Pc,
    readonly slot: number,
    /** Guest RAM for rings and buffers starts here (clear of the ACPI tables and the low 1 MiB). */
    heapStart = 0x20_0000,
  ) {
    this.heap = heapStart;
    this.scanCapabilities();
  }

  get ram(): Uint8Array {
    return this.pc.machine.views.ram8;
  }

  get view(): DataView {
    const r = this.ram;
    return new DataView(r.buffer, r.byteOffset, r.byteLength);
  }

  // ---- PCI configuration space ----

  private cfgAddress(reg: number): number {
    return (0x8000_0000 | (this.slot << 11) | (reg & 0xfc)) >>> 0;
  }

  cfgRead(reg: number, size: 1 | 2 | 4): number {
    const bus = this.pc.machine.bus;
    bus.out32(0xcf8, this.cfgAddress(reg));
    const port = 0xcfc + (reg & 3);
    return size === 1 ? bus.in8(port) : size === 2 ? bus.in16(port) : bus.in32(port) >>> 0;
  }

  cfgWrite(reg: number, size: 1 | 2 | 4, value: number): void {
    const bus = this.pc.machine.bus;
    bus.out32(0xcf8, this.cfgAddress(reg));
    const port = 0xcfc + (reg & 3);
    if (size === 1) bus.out8(port, value);
    else if (size === 2) bus.out16(port, value);
    else bus.out32(port, value);
  }

  /** Vendor capabilities by cfg_type (the first of each type, as drivers use). */
  scanCapabilities(): void {
    this.caps.clear();
    let at = this.cfgRead(0x34, 1);
    for (let guard = 0; at !== 0 && guard < 48; guard++) {
      if (this.cfgRead(at, 1) === PCI_CAP_ID_VENDOR) {
        const type = this.cfgRead(at + 3, 1);
        if (!this.caps.has(type)) {
          this.caps.set(type, {
            at,
            bar: this.cfgRead(at + CapOffset.bar, 1),
            offset: this.cfgRead(at + CapOffset.offset, 4),
            length: this.cfgRead(at + CapOffset.length, 4),
          });
        }
        if (type === VIRTIO_PCI_CAP_NOTIFY_CFG) this.notifyMultiplier = this.cfgRead(at + CapOffset.notifyOffMultiplier, 4);
      }
      at = this.cfgRead(at + 1, 1);
    }
  }

  /** Offset of the capability with ID `id` in the standard list, or 0. */
  findCapability(id: number): number {
    let at = this.cfgRead(0x34, 1);
    for (let guard = 0; at !== 0 && guard < 48; guard++) {
      if (this.cfgRead(at, 1) === id) return at;
      at = this.cfgRead(at + 1, 1);
    }
    return 0;
  }

  barBase(bar: number): number {
    return (this.cfgRead(0x10 + bar * 4, 4) & ~0xf) >>> 0;
  }

  private regionAddr(type: number, offset: number): number {
    const cap = this.caps.get(type);
    if (!cap) throw new Error(`no virtio capability of type ${type}`);
    return this.barBase(cap.bar) + cap.offset + offset;
  }

  // ---- MMIO ----

  mmioRead(addr: number, size: 1 | 2 | 4): number {
    const v = this.pc.machine.bus.mmioRead(addr, size);
    return size === 4 ? v >>> 0 : v & (size === 1 ? 0xff : 0xffff);
  }

  mmioWrite(addr: number, size: 1 | 2 | 4, value: number): void {
    this.pc.machine.bus.mmioWrite(addr, size, value);
  }

  common(offset: number, size: 1 | 2 | 4): number {
    return this.mmioRead(this.regionAddr(VIRTIO_PCI_CAP_COMMON_CFG, offset), size);
  }

  setCommon(offset: number, size: 1 | 2 | 4, value: number): void {
    this.mmioWrite(this.regionAddr(VIRTIO_PCI_CAP_COMMON_CFG, offset), size, value);
  }

  deviceConfig(offset: number, size: 1 | 2 | 4): number {
    return this.mmioRead(this.regionAddr(VIRTIO_PCI_CAP_DEVICE_CFG, offset), size);
  }

  readIsr(): number {
    return this.mmioRead(this.regionAddr(VIRTIO_PCI_CAP_ISR_CFG, 0), 1);
  }

  status(): number {
    return this.common(Common.deviceStatus, 1);
  }

  setStatus(v: number): void {
    this.setCommon(Common.deviceStatus, 1, v);
  }

  deviceFeatures(): bigint {
    this.setCommon(Common.deviceFeatureSelect, 4, 0);
    const lo = this.common(Common.deviceFeature, 4);
    this.setCommon(Common.deviceFeatureSelect, 4, 1);
    const hi = this.common(Common.deviceFeature, 4);
    return BigInt(lo) | (BigInt(hi) << 32n);
  }

  setDriverFeatures(f: bigint): void {
    this.setCommon(Common.driverFeatureSelect, 4, 0);
    this.setCommon(Common.driverFeature, 4, Number(f & 0xffffffffn));
    this.setCommon(Common.driverFeatureSelect, 4, 1);
    this.setCommon(Common.driverFeature, 4, Number((f >> 32n) & 0xffffffffn));
  }

  /** Bus mastering and memory decoding on, as a PCI driver's enable sequence does. */
  enableFunction(): void {
    this.cfgWrite(0x04, 2, this.cfgRead(0x04, 2) | 0x6);
  }

  /**
   * §3.1.1 initialisation: reset, ACKNOWLEDGE, DRIVER, features, FEATURES_OK,
   * queues, DRIVER_OK. Returns the device status afterwards (FEATURES_OK
   * missing means the device refused the features).
   */
  init(options: { features?: (offered: bigint) => bigint; queueSize?: number; vectors?: { config: number; queue: number[] } } = {}): number {
    this.enableFunction();
    this.setStatus(0);
    this.setStatus(STATUS_ACKNOWLEDGE);
    this.setStatus(STATUS_ACKNOWLEDGE | STATUS_DRIVER);
    const offered = this.deviceFeatures();
    this.setDriverFeatures(options.features ? options.features(offered) : offered);
    this.setStatus(STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK);
    if (!(this.status() & STATUS_FEATURES_OK)) return this.status();
    if (options.vectors) this.setCommon(Common.msixConfig, 2, options.vectors.config);
    const n = this.common(Common.numQueues, 2);
    for (let i = 0; i < n; i++) this.setupQueue(i, options.queueSize, options.vectors?.queue[i]);
    this.setStatus(STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK | STATUS_DRIVER_OK);
    return this.status();
  }

  alloc(bytes: number, align = 16): number {
    const at = Math.ceil(this.heap / align) * align;
    this.heap = at + bytes;
    if (this.heap > this.ram.length) throw new Error('test guest RAM exhausted');
    this.ram.fill(0, at, at + bytes);
    return at;
  }

  setupQueue(index: number, size?: number, vector?: number): RingLayout {
    this.setCommon(Common.queueSelect, 2, index);
    if (size !== undefined) this.setCommon(Common.queueSize, 2, size);
    const n = this.common(Common.queueSize, 2);
    const layout = { size: n, desc: this.alloc(16 * n, 16), avail: this.alloc(6 + 2 * n, 2), used: this.alloc(6 + 8 * n, 4) };
    this.setCommon(Common.queueDescLo, 4, layout.desc);
    this.setCommon(Common.queueDescHi, 4, 0);
    this.setCommon(Common.queueDriverLo, 4, layout.avail);
    this.setCommon(Common.queueDriverHi, 4, 0);
    this.setCommon(Common.queueDeviceLo, 4, layout.used);
    this.setCommon(Common.queueDeviceHi, 4, 0);
    if (vector !== undefined) this.setCommon(Common.queueMsixVector, 2, vector);
    this.setCommon(Common.queueEnable, 2, 1);
    this.rings[index] = layout;
    this.availIdx[index] = 0;
    this.usedSeen[index] = 0;
    this.nextDesc[index] = 0;
    return layout;
  }

  /** Builds a direct descriptor chain and makes it available; kicks unless told not to. */
  submit(q: number, segments: ChainSegment[], kick = true): SubmittedChain {
    const l = this.rings[q]!;
    const dv = this.view;
    const addrs: number[] = [];
    const heads: number[] = [];
    for (let i = 0; i < segments.length; i++) {
      heads.push(this.nextDesc[q]!);
      this.nextDesc[q] = (this.nextDesc[q]! + 1) % l.size;
    }
    segments.forEach((s, i) => {
      const len = s.out ? s.out.length : (s.in ?? 0);
      const at = s.at ?? this.alloc(Math.max(len, 1), 8);
      if (s.out) this.ram.set(s.out, at);
      addrs.push(at);
      const d = l.desc + heads[i]! * 16;
      const last = i === segments.length - 1;
      dv.setUint32(d, at, true);
      dv.setUint32(d + 4, 0, true);
      dv.setUint32(d + 8, len, true);
      dv.setUint16(d + 12, (s.out ? 0 : VIRTQ_DESC_F_WRITE) | (last ? 0 : VIRTQ_DESC_F_NEXT), true);
      dv.setUint16(d + 14, last ? 0 : heads[i + 1]!, true);
    });
    const idx = this.availIdx[q]!;
    dv.setUint16(l.avail + 4 + (idx % l.size) * 2, heads[0]!, true);
    this.availIdx[q] = (idx + 1) & 0xffff;
    dv.setUint16(l.avail + 2, this.availIdx[q]!, true);
    if (kick) this.kick(q);
    const lastLen = segments.at(-1)!.out?.length ?? segments.at(-1)!.in ?? 1;
    return { head: heads[0]!, addrs, lastByte: addrs.at(-1)! + Math.max(lastLen, 1) - 1 };
  }

  /** The notification write for queue `q` at its notify address (§4.1.4.4). */
  kick(q: number): void {
    this.setCommon(Common.queueSelect, 2, q);
    const off = this.common(Common.queueNotifyOff, 2);
    this.mmioWrite(this.regionAddr(VIRTIO_PCI_CAP_NOTIFY_CFG, off * this.notifyMultiplier), 2, q);
  }

  usedIdx(q: number): number {
    return this.view.getUint16(this.rings[q]!.used + 2, true);
  }

  takeUsed(q: number): Array<{ id: number; len: number }> {
    const l = this.rings[q]!;
    const out: Array<{ id: number; len: number }> = [];
    const idx = this.usedIdx(q);
    while (this.usedSeen[q] !== idx) {
      const slot = this.usedSeen[q]! % l.size;
      out.push({ id: this.view.getUint32(l.used + 4 + slot * 8, true), len: this.view.getUint32(l.used + 8 + slot * 8, true) });
      this.usedSeen[q] = (this.usedSeen[q]! + 1) & 0xffff;
    }
    return out;
  }

  // ---- the PCI_CFG access capability ----

  /** A BAR access through the PCI_CFG capability's window (no MMIO). */
  cfgWindowRead(bar: number, offset: number, length: 1 | 2 | 4): number {
    const at = this.caps.get(VIRTIO_PCI_CAP_PCI_CFG)!.at;
    this.cfgWrite(at + CapOffset.bar, 1, bar);
    this.cfgWrite(at + CapOffset.offset, 4, offset);
    this.cfgWrite(at + CapOffset.length, 4, length);
    const v = this.cfgRead(at + CapOffset.pciCfgData, 4);
    return length === 4 ? v >>> 0 : v & ((1 << (8 * length)) - 1);
  }

  cfgWindowWrite(bar: number, offset: number, length: 1 | 2 | 4, value: number): void {
    const at = this.caps.get(VIRTIO_PCI_CAP_PCI_CFG)!.at;
    this.cfgWrite(at + CapOffset.bar, 1, bar);
    this.cfgWrite(at + CapOffset.offset, 4, offset);
    this.cfgWrite(at + CapOffset.length, 4, length);
    this.cfgWrite(at + CapOffset.pciCfgData, 4, value);
  }
}
