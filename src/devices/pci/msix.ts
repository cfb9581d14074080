// The MSI-X capability for PCI functions: the 12-byte capability (message
// control with enable and function mask, table and PBA locations), the vector
// table (address, data, per-vector mask) and the pending-bit array, which the
// device exposes inside one of its memory BARs through `tableRead/Write` and
// `pbaRead` (or `mmio()` when they sit in a BAR of their own). `notify(n)`
// signals vector n: delivered as an MSI write when enabled and unmasked, else
// held pending until unmasked.
import type { MmioHandler } from '../bus.ts';
import type { PciDevice } from './pci-device.ts';

/** Where MSI writes go (the local APIC). */
export interface MsiSink {
  deliverMsi(address: number, data: number): void;
}

const CTRL_ENABLE = 0x8000, CTRL_FUNCTION_MASK = 0x4000;
const ENTRY_MASKED = 1;

export class Msix {
  /** Four dwords per vector: address low, address high, data, vector control. */
  readonly table: Uint32Array;
  readonly pending: Uint32Array;
  readonly capOffset: number;
  readonly counters = { delivered: 0, heldPending: 0 };

  /**
   * @param tableBar/tableOffset where the table lives (offset 8-byte aligned)
   * @param pbaBar/pbaOffset where the pending-bit array lives
   */
  constructor(
    private readonly dev: PciDevice, readonly vectors: number, private readonly sink: MsiSink,
    readonly tableBar: number, readonly tableOffset: number, readonly pbaBar: number, readonly pbaOffset: number,
  ) {
    if (vectors < 1 || vectors > 2048) throw new RangeError(`MSI-X supports 1–2048 vectors, not ${vectors}`);
    this.table = new Uint32Array(vectors * 4);
    this.pending = new Uint32Array(Math.ceil(vectors / 32));
    const off = this.capOffset = dev.addCapability(0x11, 12);
    dev.set16(off + 2, vectors - 1);
    dev.set32(off + 4, (tableOffset | tableBar) >>> 0);
    dev.set32(off + 8, (pbaOffset | pbaBar) >>> 0);
    dev.writeMask[off + 3] = 0xc0; // enable and function mask
    dev.onConfigWrite((o, size) => {
      if (o <= off + 3 && o + size > off + 2) this.deliverPending();
    });
    this.reset();
  }

  private get control(): number {
    return this.dev.get16(this.capOffset + 2);
  }

  get enabled(): boolean {
    return (this.control & CTRL_ENABLE) !== 0;
  }

  get functionMasked(): boolean {
    return (this.control & CTRL_FUNCTION_MASK) !== 0;
  }

  reset(): void {
    this.table.fill(0);
    for (let v = 0; v < this.vectors; v++) this.table[v * 4 + 3] = ENTRY_MASKED;
    this.pending.fill(0);
  }

  /** Signals vector `n`. Returns false if MSI-X is disabled (the device should use INTx). */
  notify(n: number): boolean {
    if (!this.enabled) return false;
    if (n < 0 || n >= this.vectors) return true;
    if (this.functionMasked || (this.table[n * 4 + 3] & ENTRY_MASKED)) {
      this.pending[n >>> 5] |= 1 << (n & 31);
      this.counters.heldPending++;
      return true;
    }
    this.send(n);
    return true;
  }

  private send(n: number): void {
    this.counters.delivered++;
    this.sink.deliverMsi(this.table[n * 4], this.table[n * 4 + 2]);
  }

  private deliverPending(): void {
    if (!this.enabled || this.functionMasked) return;
    for (let w = 0; w < this.pending.length; w++) {
      while (this.pending[w] !== 0) {
        const bit = 31 - Math.clz32(this.pending[w]);
        const n = (w << 5) | bit;
        if (this.table[n * 4 + 3] & ENTRY_MASKED) break;
        this.pending[w] &= ~(1 << bit);
        this.send(n);
      }
    }
  }

  tableRead(offset: number, size: 1 | 2 | 4): number {
    const i = offset >>> 2;
    if (i >= this.table.length) return 0;
    const v = this.table[i];
    return size === 4 ? v | 0 : (v >>> ((offset & 3) * 8)) & (size === 1 ? 0xff : 0xffff);
  }

  tableWrite(offset: number, size: 1 | 2 | 4, value: number): void {
    const i = offset >>> 2;
    if (i >= this.table.length || size !== 4) return; // the spec requires dword (or qword) accesses
    this.table[i] = (i & 3) === 3 ? value & ENTRY_MASKED : value >>> 0;
    if ((i & 3) === 3 && !(value & ENTRY_MASKED)) {
      const n = i >>> 2;
      if (this.pending[n >>> 5] & (1 << (n & 31))) {
        this.pending[n >>> 5] &= ~(1 << (n & 31));
        if (this.enabled && !this.functionMasked) this.send(n);
        else this.pending[n >>> 5] |= 1 << (n & 31);
      }
    }
  }

  pbaRead(offset: number, size: 1 | 2 | 4): number {
    const i = offset >>> 2;
    if (i >= this.pending.length) return 0;
    const v = this.pending[i];
    return size === 4 ? v | 0 : (v >>> ((offset & 3) * 8)) & (size === 1 ? 0xff : 0xffff);
  }

  /** An MMIO handler for a BAR holding only the table and the PBA. */
  mmio(): MmioHandler {
    const tableEnd = this.tableOffset + this.table.length * 4;
    return {
      read: (o, size) => {
        if (o >= this.tableOffset && o < tableEnd) return this.tableRead(o - this.tableOffset, size);
        if (o >= this.pbaOffset) return this.pbaRead(o - this.pbaOffset, size);
        return 0;
      },
      write: (o, size, v) => {
        if (o >= this.tableOffset && o < tableEnd) this.tableWrite(o - this.tableOffset, size, v);
      },
    };
  }
}
