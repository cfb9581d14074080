// A PCI function: its 256-byte type-0 configuration space with per-bit write
// masks and write-1-to-clear bits, up to six BARs (I/O or 32-bit memory)
// that are sized by writing all-ones and mapped on the Bus only while the
// command register enables their decoder, a capability list, and an INTx
// pin routed by the host bridge. Devices subclass it (or use it directly)
// and hook `configWritten` for their own registers.
import { BusError, type Bus, type MmioHandler, type PortHandler } from '../bus.ts';

export const PCI_COMMAND = 0x04, PCI_STATUS = 0x06, PCI_BAR0 = 0x10, PCI_CAP_PTR = 0x34;
export const PCI_INTERRUPT_LINE = 0x3c, PCI_INTERRUPT_PIN = 0x3d;
export const CMD_IO = 0x1, CMD_MEMORY = 0x2, CMD_MASTER = 0x4, CMD_INTX_DISABLE = 0x400;
const STATUS_INTERRUPT = 0x8, STATUS_CAP_LIST = 0x10;

export interface PciIdentity {
  vendorId: number;
  deviceId: number;
  /** Class code, subclass and programming interface as one 24-bit number (e.g. 0x060000). */
  classCode: number;
  revision?: number;
  /** 0x80 for the first function of a multi-function device. */
  headerType?: number;
  subsystemVendorId?: number;
  subsystemId?: number;
  /** INTx pin the function uses: 1–4 for INTA#–INTD#, 0 for none. */
  interruptPin?: number;
}

export type PciBar =
  | { kind: 'io'; size: number; handler: PortHandler }
  | { kind: 'mem32'; size: number; handler: MmioHandler; prefetchable?: boolean };

/** What a function sees of the bus it is plugged into. */
export interface PciBusSide {
  readonly bus: Bus;
  /** Lowest address a memory BAR may decode at (below it the host bridge claims RAM). */
  readonly memoryDecodeFloor: number;
  /** The function's INTx line changed. */
  intx(dev: PciDevice, level: boolean): void;
}

export class PciDevice {
  readonly config = new Uint8Array(256);
  /** Bits the guest may change, per byte. */
  readonly writeMask = new Uint8Array(256);
  /** Bits a guest write of 1 clears (status registers). */
  readonly clearMask = new Uint8Array(256);
  readonly bars: (PciBar | undefined)[] = [undefined, undefined, undefined, undefined, undefined, undefined];
  /** Address each BAR is mapped at now, or -1. */
  readonly mappedAt = [-1, -1, -1, -1, -1, -1];
  /** BAR mappings refused because the range was taken (reported, not thrown: the guest chose it). */
  mapConflicts = 0;
  private lastCapability = 0;
  private nextCapabilityOffset = 0x40;
  private resetConfig: Uint8Array | null = null;
  private side: PciBusSide | null = null;
  slot = -1;
  fn = 0;
  /** The function's INTx request as the device drives it (before INTx disable). */
  intxRequest = false;
  /** What the bus last saw of INTx. */
  private intxOut = false;
  private readonly configListeners: ((offset: number, size: number) => void)[] = [];

  constructor(readonly name: string, id: PciIdentity) {
    const c = this.config;
    this.set16(0x00, id.vendorId);
    this.set16(0x02, id.deviceId);
    c[0x08] = id.revision ?? 0;
    c[0x09] = id.classCode & 0xff;
    c[0x0a] = (id.classCode >> 8) & 0xff;
    c[0x0b] = (id.classCode >> 16) & 0xff;
    c[0x0e] = id.headerType ?? 0;
    this.set16(0x2c, id.subsystemVendorId ?? 0);
    this.set16(0x2e, id.subsystemId ?? 0);
    c[PCI_INTERRUPT_PIN] = id.interruptPin ?? 0;
    // Command: I/O, memory, bus master, SERR, INTx disable; status: error bits are write-1-to-clear.
    this.writeMask[0x04] = 0x47;
    this.writeMask[0x05] = 0x05;
    this.clearMask[0x07] = 0xf9;
    this.writeMask[0x0c] = 0xff; // cache line size
    this.writeMask[0x0d] = 0xff; // latency timer
    this.writeMask[PCI_INTERRUPT_LINE] = 0xff;
    // Device-specific space is writable unless a device says otherwise (as QEMU does).
    this.writeMask.fill(0xff, 0x40);
  }

  // ---------------------------------------------------------------- construction

  /** Declares BAR `index`. Sizes are powers of two (I/O ≥ 4, memory ≥ 16 bytes). */
  defineBar(index: number, bar: PciBar): void {
    const min = bar.kind === 'io' ? 4 : 16;
    if (bar.size < min || (bar.size & (bar.size - 1)) !== 0) {
      throw new RangeError(`${this.name}: BAR ${index} size ${bar.size} must be a power of two ≥ ${min}`);
    }
    this.bars[index] = bar;
    const off = PCI_BAR0 + index * 4;
    const typeBits = bar.kind === 'io' ? 0x1 : (bar.prefetchable ? 0x8 : 0);
    const mask = (~(bar.size - 1) & (bar.kind === 'io' ? ~0x3 : ~0xf)) >>> 0;
    this.set32(off, typeBits);
    for (let k = 0; k < 4; k++) this.writeMask[off + k] = (mask >>> (8 * k)) & 0xff;
  }

  /**
   * Appends a capability of `length` bytes with ID `id` to the list; returns
   * its config offset. Its bytes are read-only until the caller opens them in
   * writeMask.
   */
  addCapability(id: number, length: number): number {
    const off = this.nextCapabilityOffset;
    if (off + length > 0x100) throw new RangeError(`${this.name}: no room for a capability of ${length} bytes`);
    this.nextCapabilityOffset = (off + length + 3) & ~3;
    this.writeMask.fill(0, off, off + length);
    this.config[off] = id;
    this.config[off + 1] = 0;
    if (this.lastCapability === 0) this.config[PCI_CAP_PTR] = off;
    else this.config[this.lastCapability + 1] = off;
    this.lastCapability = off;
    this.config[PCI_STATUS] |= STATUS_CAP_LIST;
    return off;
  }

  /** Runs `listener` after every guest config write (capabilities hook in here). */
  onConfigWrite(listener: (offset: number, size: number) => void): void {
    this.configListeners.push(listener);
  }

  /** Called by the host when the function is plugged in. */
  plugged(side: PciBusSide, slot: number, fn: number): void {
    this.side = side;
    this.slot = slot;
    this.fn = fn;
    this.resetConfig = this.config.slice();
  }

  // ---------------------------------------------------------------- config access

  get command(): number {
    return this.config[PCI_COMMAND] | (this.config[PCI_COMMAND + 1] << 8);
  }

  get16(off: number): number {
    return this.config[off] | (this.config[off + 1] << 8);
  }

  get32(off: number): number {
    return (this.config[off] | (this.config[off + 1] << 8) | (this.config[off + 2] << 16) | (this.config[off + 3] << 24)) >>> 0;
  }

  set16(off: number, v: number): void {
    this.config[off] = v & 0xff;
    this.config[off + 1] = (v >> 8) & 0xff;
  }

  set32(off: number, v: number): void {
    this.set16(off, v & 0xffff);
    this.set16(off + 2, v >>> 16);
  }

  /** A configuration read of 1, 2 or 4 bytes at `off` (within one dword). */
  readConfig(off: number, size: number): number {
    this.beforeConfigRead(off, size);
    const c = this.config;
    if (size === 1) return c[off];
    if (size === 2) return c[off] | (c[off + 1] << 8);
    return (c[off] | (c[off + 1] << 8) | (c[off + 2] << 16) | (c[off + 3] << 24)) >>> 0;
  }

  /** Devices with registers computed on read refresh `config` here. */
  protected beforeConfigRead(_off: number, _size: number): void {}

  writeConfig(off: number, size: number, value: number): void {
    const c = this.config;
    for (let k = 0; k < size; k++) {
      const i = off + k;
      const b = (value >>> (8 * k)) & 0xff;
      c[i] = ((c[i] & ~this.writeMask[i]) | (b & this.writeMask[i])) & ~(b & this.clearMask[i]);
    }
    const end = off + size;
    if (off < PCI_BAR0 + 24 && end > PCI_COMMAND) this.updateMappings();
    if (off <= PCI_COMMAND + 1 && end > PCI_COMMAND + 1) this.updateIntx();
    this.configWritten(off, size);
    for (const l of this.configListeners) l(off, size);
  }

  /** Hook for device-specific registers, after the masked write landed in `config`. */
  protected configWritten(_off: number, _size: number): void {}

  // ---------------------------------------------------------------- BAR decoding

  /** The address BAR `index` decodes at now, or -1. */
  barAddress(index: number): number {
    const bar = this.bars[index];
    if (!bar || !this.side) return -1;
    const raw = this.get32(PCI_BAR0 + index * 4);
    if (bar.kind === 'io') {
      if (!(this.command & CMD_IO)) return -1;
      const addr = raw & ~0x3;
      return addr !== 0 && addr + bar.size <= 0x10000 ? addr : -1;
    }
    if (!(this.command & CMD_MEMORY)) return -1;
    const addr = (raw & ~0xf) >>> 0;
    return addr >= this.side.memoryDecodeFloor && addr + bar.size <= 2 ** 32 ? addr : -1;
  }

  /** Maps and unmaps BAR windows on the bus to follow the command register and BAR values. */
  updateMappings(): void {
    const side = this.side;
    if (!side) return;
    for (let i = 0; i < 6; i++) {
      const bar = this.bars[i];
      if (!bar) continue;
      const want = this.barAddress(i);
      const have = this.mappedAt[i];
      if (want === have) continue;
      if (have >= 0) {
        if (bar.kind === 'io') side.bus.unregisterPorts(have, bar.size);
        else side.bus.unregisterMmio(have);
        this.mappedAt[i] = -1;
      }
      if (want < 0) continue;
      try {
        if (bar.kind === 'io') side.bus.registerPorts(want, bar.size, `${this.name} BAR${i}`, bar.handler);
        else side.bus.registerMmio(want, bar.size, `${this.name} BAR${i}`, bar.handler);
        this.mappedAt[i] = want;
      } catch (e) {
        if (!(e instanceof BusError)) throw e;
        this.mapConflicts++; // overlapping another decoder: this BAR stays dark, as it would lose the bus cycle
      }
    }
  }

  // ---------------------------------------------------------------- INTx

  /** The device asserts (true) or releases its INTx pin. */
  setIntx(level: boolean): void {
    this.intxRequest = level;
    this.updateIntx();
  }

  private updateIntx(): void {
    const st = this.config[PCI_STATUS];
    this.config[PCI_STATUS] = this.intxRequest ? st | STATUS_INTERRUPT : st & ~STATUS_INTERRUPT;
    const out = this.intxRequest && !(this.command & CMD_INTX_DISABLE) && this.config[PCI_INTERRUPT_PIN] !== 0;
    if (out !== this.intxOut) {
      this.intxOut = out;
      this.side?.intx(this, out);
    }
  }

  // ---------------------------------------------------------------- reset

  /** PCI reset: configuration space back to its power-on contents, decoders off, INTx released. */
  reset(): void {
    if (this.resetConfig) this.config.set(this.resetConfig);
    this.intxRequest = false;
    this.updateIntx();
    this.updateMappings();
  }
}
