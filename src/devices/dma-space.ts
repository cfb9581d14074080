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

/** One translated piece of an access: `length` bytes from bus address `addr` live at guest physical `gpa`. */
export interface DmaExtent {
  gpa: number;
  length: number;
}

/**
 * Where bus addresses become guest physical addresses (the IOMMU). It
 * answers for the start of an access and may cover less than asked (the
 * access then continues with the next extent); a refused access throws
 * DmaFault after the translator has recorded and reported it.
 */
export interface DmaTranslator {
  translate(endpoint: number, addr: number, length: number, write: boolean, out: DmaExtent): void;
}

/**
 * The DmaSpace of one endpoint behind a translator: each access is split at
 * mapping boundaries and carried out on `inner` (guest physical addresses),
 * so inner's bounds checks and code invalidation still apply.
 */
export class TranslatedDmaSpace implements DmaSpace {
  private readonly extent: DmaExtent = { gpa: 0, length: 0 };
  private readonly scratch = new Uint8Array(4);
  private readonly scratchView = new DataView(this.scratch.buffer);

  constructor(
    private readonly inner: DmaSpace,
    private readonly translator: DmaTranslator,
    readonly endpoint: number,
  ) {}

  private check(addr: number, length: number, write: boolean): void {
    if (!Number.isSafeInteger(addr) || !Number.isSafeInteger(length) || addr < 0 || length < 0) {
      throw new DmaFault(addr, length, write, 'not a valid bus address');
    }
  }

  /** Splits [addr, addr + buf.length) where mappings end and hands each translated piece to `access`. */
  private pieces(addr: number, buf: Uint8Array, write: boolean, access: (gpa: number, piece: Uint8Array) => void): void {
    this.check(addr, buf.length, write);
    let done = 0;
    while (done < buf.length) {
      this.translator.translate(this.endpoint, addr + done, buf.length - done, write, this.extent);
      const n = Math.min(this.extent.length, buf.length - done);
      access(this.extent.gpa, buf.subarray(done, done + n));
      done += n;
    }
  }

  read(addr: number, dst: Uint8Array): void {
    this.pieces(addr, dst, false, (gpa, piece) => this.inner.read(gpa, piece));
  }

  write(addr: number, src: Uint8Array): void {
    this.pieces(addr, src, true, (gpa, piece) => this.inner.write(gpa, piece));
  }

  read16(addr: number): number {
    this.read(addr, this.scratch.subarray(0, 2));
    return this.scratchView.getUint16(0, true);
  }
  read32(addr: number): number {
    this.read(addr, this.scratch);
    return this.scratchView.getUint32(0, true);
  }
  write16(addr: number, value: number): void {
    this.scratchView.setUint16(0, value, true);
    this.write(addr, this.scratch.subarray(0, 2));
  }
  write32(addr: number, value: number): void {
    this.scratchView.setUint32(0, value >>> 0, true);
    this.write(addr, this.scratch);
  }

  view(addr: number, length: number, write: boolean): Uint8Array | null {
    this.check(addr, length, write);
    if (length === 0) return new Uint8Array(0);
    // Translating the whole range up front also faults a bad buffer here rather than in the bounce copy.
    let done = 0;
    let gpa = -1;
    let contiguous = true;
    while (done < length) {
      this.translator.translate(this.endpoint, addr + done, length - done, write, this.extent);
      if (done === 0) gpa = this.extent.gpa;
      else if (this.extent.gpa !== gpa + done) contiguous = false;
      done += Math.min(this.extent.length, length - done);
    }
    return contiguous ? this.inner.view(gpa, length, write) : null;
  }
}
