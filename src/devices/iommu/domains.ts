// The IOMMU's translation state, apart from any transport: domains holding
// interval mappings (IOVA start..end inclusive → guest physical, read/write),
// endpoints attached to domains, and the lookup every DMA access goes
// through. Operations return virtio-iommu status codes because that is the
// only front end, but nothing here reads guest memory.
//
// It is also what the page observes: snapshot() is a plain-data copy and
// subscribe() tells listeners that something changed (they re-read when
// they draw, so bursts of MAP/UNMAP cost one redraw).

import { DmaFault, type DmaExtent } from '../dma-space.ts';
import {
  IOMMU_FAULT_R_DOMAIN,
  IOMMU_FAULT_R_MAPPING,
  IOMMU_MAP_F_READ,
  IOMMU_MAP_F_WRITE,
  IOMMU_S_INVAL,
  IOMMU_S_NOENT,
  IOMMU_S_OK,
  IOMMU_S_RANGE,
} from '../virtio/iommu-constants.ts';

export interface Mapping {
  virtStart: number;
  /** Inclusive. */
  virtEnd: number;
  physStart: number;
  /** IOMMU_MAP_F_READ | IOMMU_MAP_F_WRITE. */
  flags: number;
}

interface Domain {
  id: number;
  bypass: boolean;
  /** Sorted by virtStart, never overlapping. */
  mappings: Mapping[];
  endpoints: Set<number>;
}

export interface IommuFault {
  /** Sequence number, from 1 across the machine's life. */
  seq: number;
  endpoint: number;
  address: number;
  write: boolean;
  /** IOMMU_FAULT_R_*. */
  reason: number;
  /** The endpoint's domain at the time, or null if it had none. */
  domain: number | null;
  /** False if the event queue had no buffer for it. */
  reported: boolean;
}

export interface IommuCounters {
  attaches: number;
  detaches: number;
  maps: number;
  unmaps: number;
  probes: number;
  /** Requests completed with a status other than OK. */
  failedRequests: number;
  /** Translated pieces of DMA accesses. */
  translations: number;
  faults: number;
  faultsDropped: number;
}

export interface IommuSnapshot {
  /** Endpoints not attached to a domain reach guest memory untranslated. */
  bypass: boolean;
  domains: Array<{ id: number; bypass: boolean; endpoints: number[]; mappings: Mapping[] }>;
  endpoints: Array<{ id: number; domain: number | null }>;
  faults: IommuFault[];
  counters: IommuCounters;
}

/** What the page may see of the IOMMU: reads and change notifications, nothing that changes it. */
export interface IommuObserver {
  snapshot(): IommuSnapshot;
  subscribe(listener: () => void): () => void;
  domainOf(endpoint: number): number | null;
  mappings(domainId: number): readonly Mapping[];
}

/** Serialisable translation state (snapshots); counters and the fault log are not part of the machine. */
export interface IommuDomainsState {
  bypass: boolean;
  domains: Array<{ id: number; bypass: boolean; endpoints: number[]; mappings: Mapping[] }>;
}

/** Faults kept for observers; older ones are dropped. */
export const FAULT_LOG_SIZE = 64;

export class IommuDomains implements IommuObserver {
  private domains = new Map<number, Domain>();
  /** Endpoint → its domain. */
  private attached = new Map<number, Domain>();
  private faultLog: IommuFault[] = [];
  private faultSeq = 0;
  private listeners = new Set<() => void>();
  readonly counters: IommuCounters = newCounters();
  /** Whether endpoints without a domain bypass translation (virtio-iommu's config.bypass). */
  bypass = false;

  constructor(
    /** Whether an endpoint ID names a device behind this IOMMU (NOENT otherwise). */
    readonly hasEndpoint: (endpoint: number) => boolean,
  ) {}

  /** Drops every domain and attachment (device reset). Counters and the fault log are history and stay. */
  clear(): void {
    this.domains.clear();
    this.attached.clear();
    this.changed();
  }

  saveState(): IommuDomainsState {
    const { bypass, domains } = this.snapshot();
    return { bypass, domains };
  }

  loadState(s: IommuDomainsState): void {
    this.domains.clear();
    this.attached.clear();
    this.bypass = s.bypass;
    for (const d of s.domains) {
      const domain: Domain = { id: d.id, bypass: d.bypass, mappings: d.mappings.map((m) => ({ ...m })), endpoints: new Set(d.endpoints) };
      this.domains.set(d.id, domain);
      for (const ep of d.endpoints) this.attached.set(ep, domain);
    }
    this.changed();
  }

  // ---- requests ----------------------------------------------------------------

  attach(domainId: number, endpoint: number, bypass: boolean): number {
    if (!this.hasEndpoint(endpoint)) return IOMMU_S_NOENT;
    let domain = this.domains.get(domainId);
    // A domain is either a bypass domain or a mapping one for its whole life (§5.13.6.3).
    if (domain && domain.bypass !== bypass) return IOMMU_S_INVAL;
    const old = this.attached.get(endpoint);
    if (old === domain && domain) return IOMMU_S_OK;
    if (old) this.removeEndpoint(old, endpoint);
    if (!domain) {
      domain = { id: domainId, bypass, mappings: [], endpoints: new Set() };
      this.domains.set(domainId, domain);
    }
    domain.endpoints.add(endpoint);
    this.attached.set(endpoint, domain);
    this.counters.attaches++;
    this.changed();
    return IOMMU_S_OK;
  }

  detach(domainId: number, endpoint: number): number {
    if (!this.hasEndpoint(endpoint)) return IOMMU_S_NOENT;
    const domain = this.domains.get(domainId);
    if (!domain) return IOMMU_S_NOENT;
    if (this.attached.get(endpoint) !== domain) return IOMMU_S_INVAL;
    this.removeEndpoint(domain, endpoint);
    this.counters.detaches++;
    this.changed();
    return IOMMU_S_OK;
  }

  /** A domain lives while endpoints are attached to it, as in QEMU: its mappings go with it. */
  private removeEndpoint(domain: Domain, endpoint: number): void {
    domain.endpoints.delete(endpoint);
    this.attached.delete(endpoint);
    if (domain.endpoints.size === 0) this.domains.delete(domain.id);
  }

  map(domainId: number, m: Mapping): number {
    const domain = this.domains.get(domainId);
    if (!domain) return IOMMU_S_NOENT;
    if (domain.bypass) return IOMMU_S_INVAL;
    const list = domain.mappings;
    const i = upperBound(list, m.virtStart); // first mapping starting after virtStart
    const before = list[i - 1];
    const after = list[i];
    if ((before && before.virtEnd >= m.virtStart) || (after && after.virtStart <= m.virtEnd)) return IOMMU_S_INVAL;
    list.splice(i, 0, { ...m });
    this.counters.maps++;
    this.changed();
    return IOMMU_S_OK;
  }

  /** Removes every mapping inside [virtStart, virtEnd]; one that would be split refuses the whole request. */
  unmap(domainId: number, virtStart: number, virtEnd: number): number {
    const domain = this.domains.get(domainId);
    if (!domain) return IOMMU_S_NOENT;
    if (domain.bypass) return IOMMU_S_INVAL;
    const list = domain.mappings;
    let first = upperBound(list, virtStart) - 1;
    if (first < 0 || list[first]!.virtEnd < virtStart) first++;
    let last = first;
    while (last < list.length && list[last]!.virtStart <= virtEnd) last++;
    if (first < last && (list[first]!.virtStart < virtStart || list[last - 1]!.virtEnd > virtEnd)) return IOMMU_S_RANGE;
    if (first < last) {
      list.splice(first, last - first);
      this.changed();
    }
    this.counters.unmaps++;
    return IOMMU_S_OK;
  }

  // ---- translation ---------------------------------------------------------------

  /**
   * The guest physical address of `addr` for `endpoint` and how many bytes
   * from it the same mapping covers, or a DmaFault (returned, not thrown, so
   * the caller can report it first).
   */
  lookup(endpoint: number, addr: number, length: number, write: boolean, out: DmaExtent): DmaFault | null {
    const domain = this.attached.get(endpoint);
    if (!domain) {
      if (this.bypass) return identity(addr, length, out);
      return this.fault(endpoint, addr, length, write, IOMMU_FAULT_R_DOMAIN, null, 'the endpoint is not attached to a domain');
    }
    if (domain.bypass) return identity(addr, length, out);
    const list = domain.mappings;
    const m = list[upperBound(list, addr) - 1];
    if (!m || m.virtEnd < addr) {
      return this.fault(endpoint, addr, length, write, IOMMU_FAULT_R_MAPPING, domain.id, `no mapping in domain ${domain.id}`);
    }
    if (!(m.flags & (write ? IOMMU_MAP_F_WRITE : IOMMU_MAP_F_READ))) {
      return this.fault(endpoint, addr, length, write, IOMMU_FAULT_R_MAPPING, domain.id, `the mapping in domain ${domain.id} is not ${write ? 'writable' : 'readable'}`);
    }
    this.counters.translations++;
    out.gpa = m.physStart + (addr - m.virtStart);
    out.length = Math.max(1, Math.min(length, m.virtEnd - addr + 1));
    return null;
  }

  /** Set by the device to put a fault on its event queue; returns whether it could. */
  reportFault: (f: IommuFault) => boolean = () => false;

  private fault(endpoint: number, address: number, length: number, write: boolean, reason: number, domain: number | null, why: string): DmaFault {
    const f: IommuFault = { seq: ++this.faultSeq, endpoint, address, write, reason, domain, reported: false };
    this.counters.faults++;
    f.reported = this.reportFault(f);
    if (!f.reported) this.counters.faultsDropped++;
    this.faultLog.push(f);
    if (this.faultLog.length > FAULT_LOG_SIZE) this.faultLog.shift();
    this.changed();
    return new DmaFault(address, length, write, `IOMMU: endpoint ${endpointName(endpoint)}: ${why}`);
  }

  // ---- observation -----------------------------------------------------------------

  domainOf(endpoint: number): number | null {
    return this.attached.get(endpoint)?.id ?? null;
  }

  mappings(domainId: number): readonly Mapping[] {
    return this.domains.get(domainId)?.mappings ?? [];
  }

  snapshot(): IommuSnapshot {
    return {
      bypass: this.bypass,
      domains: [...this.domains.values()]
        .sort((a, b) => a.id - b.id)
        .map((d) => ({ id: d.id, bypass: d.bypass, endpoints: [...d.endpoints].sort((a, b) => a - b), mappings: d.mappings.map((m) => ({ ...m })) })),
      endpoints: [...this.attached.entries()].sort((a, b) => a[0] - b[0]).map(([id, d]) => ({ id, domain: d.id })),
      faults: this.faultLog.map((f) => ({ ...f })),
      counters: { ...this.counters },
    };
  }

  /** Calls `listener` after every change (synchronously, from the machine's thread); returns an unsubscribe. */
  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed(): void {
    for (const l of this.listeners) l();
  }
}

function newCounters(): IommuCounters {
  return { attaches: 0, detaches: 0, maps: 0, unmaps: 0, probes: 0, failedRequests: 0, translations: 0, faults: 0, faultsDropped: 0 };
}

function identity(addr: number, length: number, out: DmaExtent): null {
  out.gpa = addr;
  out.length = Math.max(1, length);
  return null;
}

/** Index of the first mapping whose virtStart is greater than `addr`. */
function upperBound(list: readonly Mapping[], addr: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid]!.virtStart <= addr) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** PCI requester IDs read better as bus:dev.fn. */
export function endpointName(endpoint: number): string {
  const hex = (v: number, w: number) => v.toString(16).padStart(w, '0');
  return `${hex(endpoint >>> 8, 2)}:${hex((endpoint >>> 3) & 31, 2)}.${endpoint & 7}`;
}
