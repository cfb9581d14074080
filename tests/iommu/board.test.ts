// The IOMMU on the PC board: its PCI function, the ACPI VIOT that describes
// it, and a disk whose DMA goes through it, all driven over the PCI bus.
import { describe, expect, it } from 'vitest';
import { Pc } from '../../src/machine/pc.ts';
import { MemoryBlockDevice } from '../../src/storage/backends/memory.ts';
import { BLK_S_OK, BLK_T_IN, F_ACCESS_PLATFORM, STATUS_DEVICE_NEEDS_RESET, STATUS_DRIVER_OK } from '../../src/devices/virtio/constants.ts';
import { IOMMU_FAULT_R_DOMAIN, IOMMU_MAP_F_READ, IOMMU_MAP_F_WRITE, IOMMU_S_OK } from '../../src/devices/virtio/iommu-constants.ts';
import { PciVirtioDriver } from '../virtio/pci-driver.ts';
import { req } from './helpers.ts';

function tables(pc: Pc) {
  const ram = pc.machine.views.ram8;
  const dv = new DataView(ram.buffer, ram.byteOffset, ram.byteLength);
  const sig = (a: number) => String.fromCharCode(...ram.subarray(a, a + 4));
  const sum = (a: number, n: number) => ram.subarray(a, a + n).reduce((s, b) => (s + b) & 0xff, 0);
  const rsdt = dv.getUint32(pc.acpi.rsdp + 16, true);
  const n = (dv.getUint32(rsdt + 4, true) - 36) / 4;
  const list = Array.from({ length: n }, (_, i) => dv.getUint32(rsdt + 36 + 4 * i, true));
  return { ram, dv, sig, sum, list };
}

describe('PC with an IOMMU', () => {
  it('has no IOMMU and no VIOT by default', () => {
    const pc = new Pc({ memoryMiB: 16, clock: 'deterministic' });
    expect(pc.iommu).toBeNull();
    expect(tables(pc).list.map(tables(pc).sig)).toEqual(['FACP', 'APIC']);
    expect(pc.acpi.viot).toBe(0);
  });

  // QEMU 7.2's VIOT for -M pc -device virtio-iommu-pci has the same 88 bytes of nodes (its IOMMU is at 00:04.0).
  it('lists a VIOT naming the virtio-pci IOMMU at 00:03.0 and every function of bus 0 behind it', () => {
    const pc = new Pc({ memoryMiB: 16, clock: 'deterministic', iommu: true });
    const { dv, sig, sum, list, ram } = tables(pc);
    expect(list.map(sig)).toEqual(['FACP', 'APIC', 'VIOT']);
    const v = pc.acpi.viot;
    expect(list[2]).toBe(v);
    const len = dv.getUint32(v + 4, true);
    expect(sum(v, len)).toBe(0);
    expect(len).toBe(48 + 16 + 24);
    expect(dv.getUint16(v + 36, true)).toBe(2); // node_count
    const first = dv.getUint16(v + 38, true);
    expect(first).toBe(48);
    // virtio-pci IOMMU node: type 3, length 16, segment 0, BDF 00:03.0.
    expect([ram[v + first], dv.getUint16(v + first + 2, true), dv.getUint16(v + first + 4, true), dv.getUint16(v + first + 6, true)]).toEqual([3, 16, 0, 0x18]);
    // PCI range node: type 1, length 24, endpoint_start 0, segments 0..0, BDFs 0..0xff, output node = the IOMMU node.
    const r = v + first + 16;
    expect([ram[r], dv.getUint16(r + 2, true), dv.getUint32(r + 4, true), dv.getUint16(r + 8, true), dv.getUint16(r + 10, true), dv.getUint16(r + 12, true), dv.getUint16(r + 14, true), dv.getUint16(r + 16, true)])
      .toEqual([1, 24, 0, 0, 0, 0, 0xff, first]);
  });

  it('puts the IOMMU at 00:03.0 and disks after it, offering ACCESS_PLATFORM', () => {
    const pc = new Pc({ memoryMiB: 16, clock: 'deterministic', iommu: true });
    pc.attachDisk(MemoryBlockDevice.create(8), { log: () => {} });
    const iommu = new PciVirtioDriver(pc, 3);
    expect(iommu.cfgRead(0, 4)).toBe(0x10571af4);
    const disk = new PciVirtioDriver(pc, 4);
    expect(disk.cfgRead(0, 4)).toBe(0x10421af4);
    expect(disk.deviceFeatures() & (1n << BigInt(F_ACCESS_PLATFORM))).not.toBe(0n);
    // Endpoints are the functions present, but not the IOMMU itself.
    const has = pc.iommu!.device.domains.hasEndpoint;
    expect([0x00, 0x08, 0x0b, 0x18, 0x20, 0x28].map(has)).toEqual([true, true, true, false, true, false]);
  });

  it('by default (boot bypass, as QEMU) a disk the guest never attached reaches memory untranslated', async () => {
    const pc = new Pc({ memoryMiB: 16, clock: 'deterministic', iommu: true });
    const image = new Uint8Array(8 * 512).map((_, i) => (i * 5) & 0xff);
    pc.attachDisk(MemoryBlockDevice.fromImage(image), { log: () => {} });
    const disk = new PciVirtioDriver(pc, 4, 0x30_0000);
    expect(disk.init() & STATUS_DRIVER_OK).toBeTruthy();
    const h = new Uint8Array(16);
    new DataView(h.buffer).setUint32(0, BLK_T_IN, true);
    new DataView(h.buffer).setUint32(8, 2, true);
    const r = disk.submit(0, [{ out: h }, { in: 512 }, { in: 1 }]);
    await pc.disksIdle();
    expect(disk.ram[r.lastByte]).toBe(BLK_S_OK);
    expect(disk.ram.subarray(r.addrs[1]!, r.addrs[1]! + 512)).toEqual(image.subarray(1024, 1536));
    expect(pc.iommu!.device.domains.counters.faults).toBe(0);
  });

  it('a disk reads through the mappings the guest made, and is stopped before it has any', async () => {
    const pc = new Pc({ memoryMiB: 16, clock: 'deterministic', iommu: true, iommuBootBypass: false });
    const image = new Uint8Array(8 * 512).map((_, i) => (i * 7) & 0xff);
    pc.attachDisk(MemoryBlockDevice.fromImage(image), { log: () => {} });
    const iommu = new PciVirtioDriver(pc, 3, 0x20_0000);
    expect(iommu.init() & STATUS_DRIVER_OK).toBeTruthy();
    const send = (request: Uint8Array) => {
      const c = iommu.submit(0, [{ out: request }, { in: 4 }]);
      expect(iommu.takeUsed(0)).toHaveLength(1);
      return iommu.ram[c.lastByte - 3];
    };
    const disk = new PciVirtioDriver(pc, 4, 0x30_0000);
    expect(disk.init() & STATUS_DRIVER_OK).toBeTruthy();
    const header = (type: number, sector: number) => {
      const h = new Uint8Array(16);
      new DataView(h.buffer).setUint32(0, type, true);
      new DataView(h.buffer).setUint32(8, sector, true);
      return h;
    };

    // Not attached yet: the disk cannot even read its ring, and the fault is logged.
    disk.submit(0, [{ out: header(BLK_T_IN, 1) }, { in: 512 }, { in: 1 }]);
    await pc.disksIdle();
    expect(disk.status() & STATUS_DEVICE_NEEDS_RESET).toBeTruthy();
    const domains = pc.iommu!.device.domains;
    expect(domains.snapshot().faults[0]).toMatchObject({ endpoint: 0x20, reason: IOMMU_FAULT_R_DOMAIN, domain: null });

    expect(send(req.attach(1, 0x20))).toBe(IOMMU_S_OK);
    // The disk driver's heap, mapped one to one, as Linux's DMA API maps each buffer.
    expect(send(req.map(1, 0x30_0000, 0x3f_ffff, 0x30_0000, IOMMU_MAP_F_READ | IOMMU_MAP_F_WRITE))).toBe(IOMMU_S_OK);
    expect(disk.init() & STATUS_DRIVER_OK).toBeTruthy();
    const r = disk.submit(0, [{ out: header(BLK_T_IN, 1) }, { in: 512 }, { in: 1 }]);
    await pc.disksIdle();
    expect(disk.ram[r.lastByte]).toBe(BLK_S_OK);
    expect(disk.ram.subarray(r.addrs[1]!, r.addrs[1]! + 512)).toEqual(image.subarray(512, 1024));
    expect(domains.counters).toMatchObject({ attaches: 1, maps: 1, faults: 1 });
    expect(domains.counters.translations).toBeGreaterThan(4);
    // Translated writes still go through the machine's space, which drops decoded code.
    expect(pc.dma.counters.writes).toBeGreaterThan(0);
  });
});
