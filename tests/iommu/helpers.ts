// Building virtio-iommu requests and reading their status, over tests/virtio's TestDriver.
import { IdentityDmaSpace } from '../../src/devices/dma-space.ts';
import { VirtioIommu, type VirtioIommuOptions } from '../../src/devices/virtio/iommu.ts';
import {
  IOMMU_EVENT_QUEUE,
  IOMMU_FAULT_SIZE,
  IOMMU_REQUEST_QUEUE,
  IOMMU_T_ATTACH,
  IOMMU_T_DETACH,
  IOMMU_T_MAP,
  IOMMU_T_PROBE,
  IOMMU_T_UNMAP,
} from '../../src/devices/virtio/iommu-constants.ts';
import { TestDriver } from '../virtio/driver.ts';

export function bytes(size: number, fill: (v: DataView) => void): Uint8Array {
  const b = new Uint8Array(size);
  fill(new DataView(b.buffer));
  return b;
}

function set64(v: DataView, at: number, value: number | bigint): void {
  v.setBigUint64(at, BigInt(value), true);
}

export const req = {
  attach: (domain: number, endpoint: number, flags = 0) =>
    bytes(20, (v) => {
      v.setUint8(0, IOMMU_T_ATTACH);
      v.setUint32(4, domain, true);
      v.setUint32(8, endpoint, true);
      v.setUint32(12, flags, true);
    }),
  detach: (domain: number, endpoint: number) =>
    bytes(20, (v) => {
      v.setUint8(0, IOMMU_T_DETACH);
      v.setUint32(4, domain, true);
      v.setUint32(8, endpoint, true);
    }),
  map: (domain: number, virtStart: number | bigint, virtEnd: number | bigint, phys: number | bigint, flags: number) =>
    bytes(36, (v) => {
      v.setUint8(0, IOMMU_T_MAP);
      v.setUint32(4, domain, true);
      set64(v, 8, virtStart);
      set64(v, 16, virtEnd);
      set64(v, 24, phys);
      v.setUint32(32, flags, true);
    }),
  unmap: (domain: number, virtStart: number | bigint, virtEnd: number | bigint) =>
    bytes(28, (v) => {
      v.setUint8(0, IOMMU_T_UNMAP);
      v.setUint32(4, domain, true);
      set64(v, 8, virtStart);
      set64(v, 16, virtEnd);
    }),
  probe: (endpoint: number) =>
    bytes(72, (v) => {
      v.setUint8(0, IOMMU_T_PROBE);
      v.setUint32(4, endpoint, true);
    }),
};

export interface IommuRig {
  ram: Uint8Array;
  dma: IdentityDmaSpace;
  iommu: VirtioIommu;
  driver: TestDriver;
  logs: string[];
  /** Sends a request with `writable` device-writable bytes (the tail by default); returns the status byte. */
  send(request: Uint8Array, writable?: number): number;
  /** Same, returning the whole device-writable part and the used length. */
  sendFull(request: Uint8Array, writable: number): { status: number; written: Uint8Array; usedLen: number };
  /** Posts `n` event buffers. */
  postEvents(n: number): number[];
}

/** RAM with a virtio-iommu driven by TestDriver; endpoints 0x18 and 0x20 exist (00:03.0, 00:04.0). */
export function iommuRig(options: Partial<VirtioIommuOptions> = {}, ramSize = 1 << 22): IommuRig {
  const logs: string[] = [];
  const ram = new Uint8Array(ramSize);
  const dma = new IdentityDmaSpace(ram);
  const iommu = new VirtioIommu(dma, { hasEndpoint: (id) => id === 0x18 || id === 0x20, log: (m) => logs.push(m), ...options });
  const driver = new TestDriver(ram, iommu);
  const sendFull = (request: Uint8Array, writable: number) => {
    const s = driver.submit(IOMMU_REQUEST_QUEUE, [{ out: request }, { in: writable }]);
    const used = driver.takeUsed(IOMMU_REQUEST_QUEUE);
    if (used.length !== 1 || used[0]!.id !== s.head) throw new Error(`request not completed: ${JSON.stringify(used)}`);
    const at = s.addrs[1]!;
    const written = ram.slice(at, at + writable);
    return { status: written[writable - 4]!, written, usedLen: used[0]!.len };
  };
  return {
    ram,
    dma,
    iommu,
    driver,
    logs,
    sendFull,
    send: (request, writable = 4) => sendFull(request, writable).status,
    postEvents(n) {
      const addrs: number[] = [];
      for (let i = 0; i < n; i++) addrs.push(driver.submit(IOMMU_EVENT_QUEUE, [{ in: IOMMU_FAULT_SIZE }]).addrs[0]!);
      return addrs;
    },
  };
}
