// Every device reaches guest RAM through a DmaSpace, never through the RAM
// views directly. With the IOMMU off it is identity translation plus bounds
// checks; with the IOMMU on, each device gets a space that translates through
// its domain's mappings, checks permissions and reports faults.

/** Why a DMA access was refused. Devices turn this into their own error status. */
export class DmaFault extends Error {
  constructor(
    readonly addr: number,
    readonly length: number,
    readonly write: boolean,
    readonly reason: string,
  ) {
    super(`DMA ${write ? 'write' : 'read'} of ${length} bytes at 0x${addr.toString(16)} refused: ${reason}`);
    this.name = 'DmaFault';
  }
}

export interface DmaSpace {
  /** Copies guest bytes at bus address `addr` into `dst`. Throws DmaFault if any byte is not readable. */
  read(addr: number, dst: Uint8Array): void;
  /** Copies `src` to guest bus address `addr`. Throws DmaFault if any byte is not writable. */
  write(addr: number, src: Uint8Array): void;
  read16(addr: number): number;
  read32(addr: number): number;
  write16(addr: number, value: number): void;
  write32(addr: number, value: number): void;
  /**
   * A view straight onto guest RAM for the whole range, when the range is one
   * contiguous, permitted region (the zero-copy path); null otherwise, in
   * which case the caller falls back to read/write.
   */
  view(addr: number, length: number, write: boolean): Uint8Array | null;
}

/** Identity DMA over a RAM byte view: bus address == guest physical address. */
export class IdentityDmaSpace implements DmaSpace {
  private readonly dv: DataView;
  constructor(private readonly ram: Uint8Array) {
    this.dv = new DataView(ram.buffer, ram.byteOffset, ram.byteLength);
  }

  private check(addr: number, length: number, write: boolean): void {
    if (!Number.isInteger(addr) || !Number.isInteger(length) || addr < 0 || length < 0 || addr + length > this.ram.length) {
      throw new DmaFault(addr, length, write, 'outside guest RAM');
    }
  }

  read(addr: number, dst: Uint8Array): void {
    this.check(addr, dst.length, false);
    dst.set(this.ram.subarray(addr, addr + dst.length));
  }
  write(addr: number, src: Uint8Array): void {
    this.check(addr, src.length, true);
    this.ram.set(src, addr);
  }
  read16(addr: number): number {
    this.check(addr, 2, false);
    return this.dv.getUint16(addr, true);
  }
  read32(addr: number): number {
    this.check(addr, 4, false);
    return this.dv.getUint32(addr, true);
  }
  write16(addr: number, value: number): void {
    this.check(addr, 2, true);
    this.dv.setUint16(addr, value, true);
  }
  write32(addr: number, value: number): void {
    this.check(addr, 4, true);
    this.dv.setUint32(addr, value >>> 0, true);
  }
  view(addr: number, length: number, write: boolean): Uint8Array | null {
    this.check(addr, length, write);
    return this.ram.subarray(addr, addr + length);
  }
}
