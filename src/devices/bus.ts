// The system bus: port I/O (8/16/32-bit) and memory-mapped I/O regions.
// Devices claim ranges at registration; the CPU and DMA engines dispatch
// through here. Unclaimed ports read all-ones and ignore writes, as an ISA
// bus with nothing driving the data lines does.

export interface PortHandler {
  read8?(port: number): number;
  read16?(port: number): number;
  read32?(port: number): number;
  write8?(port: number, value: number): void;
  write16?(port: number, value: number): void;
  write32?(port: number, value: number): void;
}

export interface MmioHandler {
  /** `offset` is relative to the region start. */
  read(offset: number, size: 1 | 2 | 4): number;
  write(offset: number, size: 1 | 2 | 4, value: number): void;
}

export class BusError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BusError';
  }
}

interface MmioRegion { start: number; end: number; name: string; handler: MmioHandler }

const PORTS = 0x1_0000;
const PAGE_SHIFT = 12;

export class Bus {
  private readonly portHandlers: (PortHandler | undefined)[] = new Array(PORTS);
  private readonly portOwners: (string | undefined)[] = new Array(PORTS);
  private readonly regions: MmioRegion[] = [];
  /** Per 4 KiB physical page: 1 if any MMIO region overlaps it (the CPU's fast RAM path checks this). */
  readonly mmioPages = new Uint8Array(1 << 20);
  /** Counters for --stats. */
  readonly counters = { portReads: 0, portWrites: 0, mmioReads: 0, mmioWrites: 0 };

  registerPorts(start: number, count: number, name: string, handler: PortHandler): void {
    if (!Number.isInteger(start) || !Number.isInteger(count) || count <= 0 || start < 0 || start + count > PORTS) {
      throw new BusError(`${name}: port range 0x${start.toString(16)}+${count} is outside 0x0000–0xffff`);
    }
    for (let p = start; p < start + count; p++) {
      const owner = this.portOwners[p];
      if (owner !== undefined) {
        throw new BusError(`${name}: port 0x${p.toString(16)} is already claimed by ${owner}`);
      }
    }
    for (let p = start; p < start + count; p++) {
      this.portHandlers[p] = handler;
      this.portOwners[p] = name;
    }
  }

  unregisterPorts(start: number, count: number): void {
    for (let p = start; p < start + count && p < PORTS; p++) {
      this.portHandlers[p] = undefined;
      this.portOwners[p] = undefined;
    }
  }

  registerMmio(start: number, length: number, name: string, handler: MmioHandler): void {
    const end = start + length;
    if (!Number.isInteger(start) || !Number.isInteger(length) || length <= 0 || start < 0 || end > 2 ** 32) {
      throw new BusError(`${name}: MMIO range 0x${start.toString(16)}+0x${length.toString(16)} is outside the 32-bit physical space`);
    }
    for (const r of this.regions) {
      if (start < r.end && r.start < end) {
        throw new BusError(`${name}: MMIO range 0x${start.toString(16)}–0x${(end - 1).toString(16)} overlaps ${r.name} at 0x${r.start.toString(16)}–0x${(r.end - 1).toString(16)}`);
      }
    }
    this.regions.push({ start, end, name, handler });
    this.regions.sort((a, b) => a.start - b.start);
    this.recomputeMmioPages();
  }

  unregisterMmio(start: number): void {
    const i = this.regions.findIndex((r) => r.start === start);
    if (i >= 0) {
      this.regions.splice(i, 1);
      this.recomputeMmioPages();
    }
  }

  /** Moves a region (PCI BAR reprogramming) keeping its handler. */
  moveMmio(oldStart: number, newStart: number): void {
    const r = this.regions.find((x) => x.start === oldStart);
    if (!r) return;
    this.unregisterMmio(oldStart);
    this.registerMmio(newStart, r.end - r.start, r.name, r.handler);
  }

  private recomputeMmioPages(): void {
    this.mmioPages.fill(0);
    for (const r of this.regions) {
      for (let p = Math.floor(r.start / 4096); p <= Math.floor((r.end - 1) / 4096); p++) this.mmioPages[p] = 1;
    }
  }

  private findRegion(addr: number): MmioRegion | undefined {
    for (const r of this.regions) {
      if (addr >= r.start && addr < r.end) return r;
    }
    return undefined;
  }

  isMmio(addr: number): boolean {
    return this.mmioPages[addr >>> PAGE_SHIFT] === 1 && this.findRegion(addr) !== undefined;
  }

  mmioRead(addr: number, size: 1 | 2 | 4): number {
    this.counters.mmioReads++;
    const r = this.findRegion(addr);
    if (!r) return size === 4 ? -1 : (1 << (size * 8)) - 1;
    return r.handler.read(addr - r.start, size);
  }

  mmioWrite(addr: number, size: 1 | 2 | 4, value: number): void {
    this.counters.mmioWrites++;
    const r = this.findRegion(addr);
    if (r) r.handler.write(addr - r.start, size, value);
  }

  in8(port: number): number {
    this.counters.portReads++;
    const h = this.portHandlers[port & 0xffff];
    return h?.read8 ? h.read8(port & 0xffff) & 0xff : 0xff;
  }

  in16(port: number): number {
    this.counters.portReads++;
    port &= 0xffff;
    const h = this.portHandlers[port];
    if (h?.read16) return h.read16(port) & 0xffff;
    // A device without a 16-bit path sees two byte cycles, as on ISA.
    return this.in8(port) | (this.in8((port + 1) & 0xffff) << 8);
  }

  in32(port: number): number {
    this.counters.portReads++;
    port &= 0xffff;
    const h = this.portHandlers[port];
    if (h?.read32) return h.read32(port) | 0;
    return (this.in16(port) | (this.in16((port + 2) & 0xffff) << 16)) | 0;
  }

  out8(port: number, value: number): void {
    this.counters.portWrites++;
    const h = this.portHandlers[port & 0xffff];
    if (h?.write8) h.write8(port & 0xffff, value & 0xff);
  }

  out16(port: number, value: number): void {
    this.counters.portWrites++;
    port &= 0xffff;
    const h = this.portHandlers[port];
    if (h?.write16) {
      h.write16(port, value & 0xffff);
      return;
    }
    this.out8(port, value);
    this.out8((port + 1) & 0xffff, value >>> 8);
  }

  out32(port: number, value: number): void {
    this.counters.portWrites++;
    port &= 0xffff;
    const h = this.portHandlers[port];
    if (h?.write32) {
      h.write32(port, value | 0);
      return;
    }
    this.out16(port, value);
    this.out16((port + 2) & 0xffff, value >>> 16);
  }
}
