// The DmaSpace every device of a machine uses: guest physical addresses,
// with bounds checks (IdentityDmaSpace),
// plus the one thing a device write must do besides storing bytes: the CPU
// caches decoded code per physical page, so every range a device writes
// drops the decoded blocks of the pages it touches — as the snooping
// instruction caches of a real PC make DMA into code visible to the CPU.
//
// Zero-copy views for device writes (a disk read straight into guest RAM)
// are filled after view() returns, possibly by another thread, and this
// layer does not see the end of the transfer. So a writable view is granted
// only for pages that hold no decoded code; otherwise view() returns null and
// the device bounces the data and copies it in with write(), which
// invalidates at the moment the bytes land. A page without decoded code can
// only gain some if the guest executes from a buffer while a device is still
// filling it, which is undefined on real hardware too.
//
// Devices behind the IOMMU (Pc's `iommu` option) see this space through a
// TranslatedDmaSpace for their requester ID (dma-space.ts), so translated
// accesses still land here, as guest physical addresses, and still drop
// decoded code.
import { IdentityDmaSpace, type DmaSpace } from '../devices/dma-space.ts';
import type { Machine } from './machine.ts';

/** What the DMA layer needs of the CPU: its decoded-code page map and invalidation. */
export interface DecodedCodeCache {
  /** One byte per 4 KiB physical RAM page: non-zero if decoded blocks come from it. */
  readonly codePages: Uint8Array;
  readonly blocks: { invalidateRange(phys: number, length: number): void };
}

export class GuestDmaSpace implements DmaSpace {
  readonly counters = { writes: 0, viewsGranted: 0, viewsRefusedForCode: 0 };

  constructor(
    private readonly inner: DmaSpace,
    private readonly cpu: DecodedCodeCache,
  ) {}

  read(addr: number, dst: Uint8Array): void {
    this.inner.read(addr, dst);
  }

  read16(addr: number): number {
    return this.inner.read16(addr);
  }

  read32(addr: number): number {
    return this.inner.read32(addr);
  }

  write(addr: number, src: Uint8Array): void {
    this.inner.write(addr, src);
    this.written(addr, src.length);
  }

  write16(addr: number, value: number): void {
    this.inner.write16(addr, value);
    this.written(addr, 2);
  }

  write32(addr: number, value: number): void {
    this.inner.write32(addr, value);
    this.written(addr, 4);
  }

  view(addr: number, length: number, write: boolean): Uint8Array | null {
    if (write && length > 0 && this.holdsCode(addr, length)) {
      this.counters.viewsRefusedForCode++;
      // Still subject to the inner space's checks: a bad range faults here, not in the bounce copy.
      this.inner.view(addr, length, write);
      return null;
    }
    const v = this.inner.view(addr, length, write);
    if (v) this.counters.viewsGranted++;
    return v;
  }

  private holdsCode(addr: number, length: number): boolean {
    const pages = this.cpu.codePages;
    const last = Math.min((addr + length - 1) >>> 12, pages.length - 1);
    for (let p = addr >>> 12; p <= last; p++) if (pages[p] !== 0) return true;
    return false;
  }

  private written(addr: number, length: number): void {
    this.counters.writes++;
    if (length > 0) this.cpu.blocks.invalidateRange(addr, length);
  }
}

/** The machine's DmaSpace: identity over guest RAM, invalidating decoded code on device writes. */
export function createGuestDma(machine: Machine): GuestDmaSpace {
  return new GuestDmaSpace(new IdentityDmaSpace(machine.views.ram8), machine.cpu);
}
