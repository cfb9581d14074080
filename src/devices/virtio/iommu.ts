// virtio-iommu (virtio 1.2 §5.13): the machine's IOMMU. The request queue
// carries ATTACH, DETACH, MAP, UNMAP and PROBE; the event queue takes
// buffers the driver posts and returns a struct virtio_iommu_fault in one
// for every refused DMA access. Translation itself is in IommuDomains; this
// file parses and validates requests and implements DmaTranslator, so each
// endpoint's TranslatedDmaSpace asks here.
//
// The device's own DMA (its rings, requests, fault records) is untranslated:
// an IOMMU is not behind itself (Linux's VIOT code skips it the same way).
//
// Requests are synchronous, so a request's status is written before the
// driver's next notification is looked at.

import { DmaFault, type DmaExtent, type DmaSpace, type DmaTranslator } from '../dma-space.ts';
import { IommuDomains, type IommuDomainsState, type IommuFault, type IommuObserver } from '../iommu/domains.ts';
import type { DescriptorChain } from './chain.ts';
import { STATUS_DRIVER_OK, featureBit } from './constants.ts';
import { VirtioDevice } from './device.ts';
import { readStream, sliceBuffers, writeStream } from './guest-buffers.ts';
import {
  IOMMU_ATTACH_F_BYPASS,
  IOMMU_EVENT_QUEUE,
  IOMMU_FAULT_F_ADDRESS,
  IOMMU_FAULT_F_READ,
  IOMMU_FAULT_F_WRITE,
  IOMMU_FAULT_SIZE,
  IOMMU_F_BYPASS_CONFIG,
  IOMMU_F_DOMAIN_RANGE,
  IOMMU_F_INPUT_RANGE,
  IOMMU_F_MAP_UNMAP,
  IOMMU_F_PROBE,
  IOMMU_HEAD_SIZE,
  IOMMU_MAP_F_READ,
  IOMMU_MAP_F_WRITE,
  IOMMU_PROBE_PROP_HEADER,
  IOMMU_PROBE_T_RESV_MEM,
  IOMMU_REQUEST_QUEUE,
  IOMMU_REQ_SIZE,
  IOMMU_RESV_MEM_LENGTH,
  IOMMU_RESV_MEM_T_MSI,
  IOMMU_S_INVAL,
  IOMMU_S_NOENT,
  IOMMU_S_OK,
  IOMMU_S_RANGE,
  IOMMU_S_UNSUPP,
  IOMMU_TAIL_SIZE,
  IOMMU_T_ATTACH,
  IOMMU_T_DETACH,
  IOMMU_T_MAP,
  IOMMU_T_PROBE,
  IOMMU_T_UNMAP,
  IommuConfig,
  VIRTIO_ID_IOMMU,
} from './iommu-constants.ts';
import type { SplitVirtqueue } from './queue.ts';

export interface ReservedRegion {
  start: number;
  /** Inclusive. */
  end: number;
  /** IOMMU_RESV_MEM_T_RESERVED or IOMMU_RESV_MEM_T_MSI. */
  subtype: number;
}

export interface VirtioIommuOptions {
  /** Whether an endpoint ID names a device behind this IOMMU. */
  hasEndpoint: (endpoint: number) => boolean;
  /**
   * Whether endpoints not attached to a domain reach memory untranslated
   * after a reset (config.bypass). Default false: nothing DMAs before the
   * driver attaches its devices, as there is no firmware using the disk.
   */
  bootBypass?: boolean;
  /**
   * Reserved IOVA ranges reported by PROBE for every endpoint. Default: the
   * x86 MSI window 0xFEE00000–0xFEEFFFFF, as QEMU reports it, so the guest
   * never allocates IOVAs there.
   */
  reserved?: ReservedRegion[];
  queueSize?: number;
  log?: (message: string) => void;
}

/** 4 KiB pages only: the granule Linux's x86 DMA API maps. */
export const IOMMU_PAGE_SIZE_MASK = 0xfffff000n;
/** IOVAs up to 48 bits: every one is exact as a JS number, and far above what an i386 guest uses. */
export const IOMMU_INPUT_END = 2 ** 48 - 1;
export const IOMMU_DOMAIN_END = 0xffffffff;
export const IOMMU_PROBE_SIZE = 512;
const PAGE_MASK = 0xfff;

const X86_MSI_WINDOW: ReservedRegion = { start: 0xfee00000, end: 0xfeefffff, subtype: IOMMU_RESV_MEM_T_MSI };

/** Why a request is refused, with the status it gets. */
class Refused extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

export class VirtioIommu extends VirtioDevice implements DmaTranslator {
  readonly domains: IommuDomains;
  private readonly config = new Uint8Array(IommuConfig.size);
  private readonly configView = new DataView(this.config.buffer);
  private readonly bootBypass: boolean;
  private readonly reserved: ReservedRegion[];

  constructor(dma: DmaSpace, options: VirtioIommuOptions) {
    const features =
      featureBit(IOMMU_F_INPUT_RANGE) | featureBit(IOMMU_F_DOMAIN_RANGE) | featureBit(IOMMU_F_MAP_UNMAP) | featureBit(IOMMU_F_PROBE) | featureBit(IOMMU_F_BYPASS_CONFIG);
    super(VIRTIO_ID_IOMMU, dma, 2, options.queueSize ?? 64, features, options.log ?? ((m) => console.warn(`[ts86 virtio-iommu] ${m}`)));
    this.bootBypass = options.bootBypass ?? false;
    this.reserved = options.reserved ?? [X86_MSI_WINDOW];
    this.domains = new IommuDomains(options.hasEndpoint);
    this.domains.reportFault = (f) => this.postFault(f);
    const c = this.configView;
    c.setBigUint64(IommuConfig.pageSizeMask, IOMMU_PAGE_SIZE_MASK, true);
    c.setBigUint64(IommuConfig.inputRangeStart, 0n, true);
    c.setBigUint64(IommuConfig.inputRangeEnd, BigInt(IOMMU_INPUT_END), true);
    c.setUint32(IommuConfig.domainRangeStart, 0, true);
    c.setUint32(IommuConfig.domainRangeEnd, IOMMU_DOMAIN_END, true);
    c.setUint32(IommuConfig.probeSize, IOMMU_PROBE_SIZE, true);
    this.setBypass(this.bootBypass);
  }

  get configSize(): number {
    return IommuConfig.size;
  }

  readConfig(offset: number, size: 1 | 2 | 4): number {
    if (offset < 0 || offset + size > this.config.length) return 0;
    const c = this.configView;
    return size === 1 ? c.getUint8(offset) : size === 2 ? c.getUint16(offset, true) : c.getUint32(offset, true);
  }

  /** Only bypass is writable, and only once BYPASS_CONFIG is negotiated (§5.13.4). */
  writeConfig(offset: number, size: 1 | 2 | 4, value: number): void {
    if (offset !== IommuConfig.bypass || size !== 1 || !this.hasFeature(IOMMU_F_BYPASS_CONFIG)) return;
    this.setBypass((value & 0xff) === 1);
  }

  private setBypass(on: boolean): void {
    this.config[IommuConfig.bypass] = on ? 1 : 0;
    this.domains.bypass = on;
  }

  protected override onReset(): void {
    this.domains.clear();
    this.setBypass(this.bootBypass);
  }

  /** The read-only view for the page: domains, endpoints, mappings, faults, counters. */
  get observer(): IommuObserver {
    return this.domains;
  }

  protected override saveDeviceState(): IommuDomainsState {
    return this.domains.saveState();
  }

  protected override loadDeviceState(state: unknown): void {
    const s = state as IommuDomainsState;
    this.domains.loadState(s);
    this.config[IommuConfig.bypass] = s.bypass ? 1 : 0;
  }

  translate(endpoint: number, addr: number, length: number, write: boolean, out: DmaExtent): void {
    const fault = this.domains.lookup(endpoint, addr, length, write, out);
    if (fault) throw fault;
  }

  // ---- requests ---------------------------------------------------------------------

  protected processQueue(q: SplitVirtqueue): void {
    // Event buffers wait until a fault needs one.
    if (q.index === IOMMU_EVENT_QUEUE) return;
    this.drainQueue(q, (chain) => this.handle(q, chain));
  }

  private handle(q: SplitVirtqueue, chain: DescriptorChain): void {
    const generation = this.generation;
    if (chain.writableLength < IOMMU_TAIL_SIZE) {
      // Nowhere to put a status: the request can only be returned unanswered, leaving the device usable.
      this.log(`request ${chain.head}: ${chain.writableLength} device-writable bytes, no room for the status`);
      this.pushUsed(q, chain.head, 0, generation);
      return;
    }
    let status: number;
    let written = IOMMU_TAIL_SIZE;
    try {
      written += this.execute(chain);
      status = IOMMU_S_OK;
    } catch (e) {
      if (e instanceof Refused) status = e.status;
      else if (e instanceof DmaFault) status = IOMMU_S_INVAL; // the untranslated space refused the request's own buffers
      else throw e;
      this.domains.counters.failedRequests++;
    }
    try {
      writeStream(this.dma, sliceBuffers(chain.writable, chain.writableLength - IOMMU_TAIL_SIZE, IOMMU_TAIL_SIZE), Uint8Array.of(status, 0, 0, 0));
    } catch (e) {
      this.needsReset(`cannot write the status of request ${chain.head}: ${e instanceof Error ? e.message : String(e)}`);
      return;
    }
    this.pushUsed(q, chain.head, status === IOMMU_S_OK ? written : IOMMU_TAIL_SIZE, generation);
  }

  /** Carries out a request; returns the bytes written before the tail (PROBE's properties). */
  private execute(chain: DescriptorChain): number {
    if (chain.readableLength < IOMMU_HEAD_SIZE) throw new Refused(IOMMU_S_INVAL, `request of ${chain.readableLength} bytes has no head`);
    const type = readStream(this.dma, sliceBuffers(chain.readable, 0, 1))[0]!;
    const size = IOMMU_REQ_SIZE[type];
    if (size === undefined) throw new Refused(IOMMU_S_UNSUPP, `unknown request type ${type}`);
    // A longer device-readable part is a driver newer than us adding fields; shorter cannot be parsed.
    if (chain.readableLength < size) throw new Refused(IOMMU_S_INVAL, `request type ${type} has ${chain.readableLength} bytes, needs ${size}`);
    const req = new DataView(readStream(this.dma, sliceBuffers(chain.readable, 0, size)).buffer);
    const d = this.domains;
    switch (type) {
      case IOMMU_T_ATTACH: {
        const domain = req.getUint32(4, true);
        const endpoint = req.getUint32(8, true);
        const flags = req.getUint32(12, true);
        const bypassAllowed = this.hasFeature(IOMMU_F_BYPASS_CONFIG) ? IOMMU_ATTACH_F_BYPASS : 0;
        if (flags & ~bypassAllowed || !zero(req, 16, 4)) throw new Refused(IOMMU_S_INVAL, 'ATTACH with unknown flags or reserved bytes set');
        expectOk(d.attach(domain, endpoint, (flags & IOMMU_ATTACH_F_BYPASS) !== 0));
        return 0;
      }
      case IOMMU_T_DETACH: {
        if (!zero(req, 12, 8)) throw new Refused(IOMMU_S_INVAL, 'DETACH with reserved bytes set');
        expectOk(d.detach(req.getUint32(4, true), req.getUint32(8, true)));
        return 0;
      }
      case IOMMU_T_MAP: {
        const domain = req.getUint32(4, true);
        const flags = req.getUint32(32, true);
        if (flags & ~(IOMMU_MAP_F_READ | IOMMU_MAP_F_WRITE)) throw new Refused(IOMMU_S_INVAL, `MAP flags 0x${flags.toString(16)} (MMIO is not offered)`);
        const [start, end] = mapRange(u64(req, 8), u64(req, 16));
        const phys = u64(req, 24);
        // Guest physical addresses beyond 2^48 cannot be RAM; one that is not exact as a number is refused rather than rounded.
        if (phys === null || phys % (PAGE_MASK + 1) !== 0 || phys + (end - start) > IOMMU_INPUT_END) throw new Refused(IOMMU_S_RANGE, 'MAP physical address unaligned or out of range');
        expectOk(d.map(domain, { virtStart: start, virtEnd: end, physStart: phys, flags }));
        return 0;
      }
      case IOMMU_T_UNMAP: {
        if (!zero(req, 24, 4)) throw new Refused(IOMMU_S_INVAL, 'UNMAP with reserved bytes set');
        const start = u64(req, 8);
        const end = u64(req, 16);
        // Linux unmaps "everything" with virt_end = ~0: clamp to the input range instead of refusing it.
        if (start === null || (end !== null && start > end)) throw new Refused(IOMMU_S_INVAL, 'UNMAP range is empty or out of range');
        expectOk(d.unmap(req.getUint32(4, true), start, end ?? IOMMU_INPUT_END));
        return 0;
      }
      case IOMMU_T_PROBE: {
        const endpoint = req.getUint32(4, true);
        if (!zero(req, 8, 64)) throw new Refused(IOMMU_S_INVAL, 'PROBE with reserved bytes set');
        if (!d.hasEndpoint(endpoint)) throw new Refused(IOMMU_S_NOENT, `PROBE of unknown endpoint ${endpoint}`);
        if (chain.writableLength < IOMMU_PROBE_SIZE + IOMMU_TAIL_SIZE) throw new Refused(IOMMU_S_INVAL, `PROBE with ${chain.writableLength} writable bytes, needs probe_size + 4`);
        d.counters.probes++;
        writeStream(this.dma, sliceBuffers(chain.writable, 0, IOMMU_PROBE_SIZE), this.probeProperties());
        return IOMMU_PROBE_SIZE;
      }
    }
    throw new Refused(IOMMU_S_UNSUPP, `unknown request type ${type}`);
  }

  /** The properties every endpoint has (the reserved regions), then zeroes: a NONE property ends the list. */
  private probeProperties(): Uint8Array {
    const out = new Uint8Array(IOMMU_PROBE_SIZE);
    const v = new DataView(out.buffer);
    let at = 0;
    for (const r of this.reserved) {
      if (at + IOMMU_PROBE_PROP_HEADER + IOMMU_RESV_MEM_LENGTH > out.length) break;
      v.setUint16(at, IOMMU_PROBE_T_RESV_MEM, true);
      v.setUint16(at + 2, IOMMU_RESV_MEM_LENGTH, true);
      v.setUint8(at + 4, r.subtype);
      v.setBigUint64(at + 8, BigInt(r.start), true);
      v.setBigUint64(at + 16, BigInt(r.end), true);
      at += IOMMU_PROBE_PROP_HEADER + IOMMU_RESV_MEM_LENGTH;
    }
    return out;
  }

  // ---- fault events ------------------------------------------------------------------

  /** Puts a fault record in the next event buffer; false if there is none (the fault is dropped, §5.13.6.9 allows it). */
  private postFault(f: IommuFault): boolean {
    const q = this.queues[IOMMU_EVENT_QUEUE]!;
    if (!(this.status & STATUS_DRIVER_OK) || this.needsResetFlag || !q.enabled) return false;
    try {
      if (q.pending() === 0) return false;
      const chain = q.takeNext();
      if (chain.writableLength < IOMMU_FAULT_SIZE) {
        this.pushUsed(q, chain.head, 0, this.generation);
        return false;
      }
      const rec = new Uint8Array(IOMMU_FAULT_SIZE);
      const v = new DataView(rec.buffer);
      v.setUint8(0, f.reason);
      v.setUint32(4, (f.write ? IOMMU_FAULT_F_WRITE : IOMMU_FAULT_F_READ) | IOMMU_FAULT_F_ADDRESS, true);
      v.setUint32(8, f.endpoint, true);
      v.setBigUint64(16, BigInt(f.address), true);
      writeStream(this.dma, chain.writable, rec);
      this.pushUsed(q, chain.head, IOMMU_FAULT_SIZE, this.generation);
      return true;
    } catch (e) {
      this.needsReset(`cannot deliver a fault event: ${e instanceof Error ? e.message : String(e)}`);
      return false;
    }
  }
}

function expectOk(status: number): void {
  if (status !== IOMMU_S_OK) throw new Refused(status, `status ${status}`);
}

function zero(v: DataView, offset: number, length: number): boolean {
  for (let i = 0; i < length; i++) if (v.getUint8(offset + i) !== 0) return false;
  return true;
}

/** A le64 field as an exact number, or null when it is beyond the 48-bit input range. */
function u64(v: DataView, offset: number): number | null {
  const hi = v.getUint32(offset + 4, true);
  if (hi > 0xffff) return null;
  return hi * 2 ** 32 + v.getUint32(offset, true);
}

/** MAP's IOVA range: inside input_range and on page boundaries (§5.13.6.6: RANGE otherwise). */
function mapRange(start: number | null, end: number | null): [number, number] {
  if (start === null || end === null || start > end) throw new Refused(IOMMU_S_RANGE, 'MAP range is empty or outside the input range');
  if (start % (PAGE_MASK + 1) !== 0 || (end + 1) % (PAGE_MASK + 1) !== 0) throw new Refused(IOMMU_S_RANGE, 'MAP range is not page aligned');
  return [start, end];
}
