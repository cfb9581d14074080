import { describe, expect, it } from 'vitest';
import { F_ACCESS_PLATFORM, STATUS_DRIVER_OK, featureBit } from '../../src/devices/virtio/constants.ts';
import {
  IOMMU_ATTACH_F_BYPASS,
  IOMMU_F_BYPASS,
  IOMMU_F_BYPASS_CONFIG,
  IOMMU_F_DOMAIN_RANGE,
  IOMMU_F_INPUT_RANGE,
  IOMMU_F_MAP_UNMAP,
  IOMMU_F_MMIO,
  IOMMU_F_PROBE,
  IOMMU_MAP_F_MMIO,
  IOMMU_MAP_F_READ,
  IOMMU_MAP_F_WRITE,
  IOMMU_PROBE_T_RESV_MEM,
  IOMMU_RESV_MEM_T_MSI,
  IOMMU_S_INVAL,
  IOMMU_S_NOENT,
  IOMMU_S_OK,
  IOMMU_S_RANGE,
  IOMMU_S_UNSUPP,
  IommuConfig,
  VIRTIO_ID_IOMMU,
} from '../../src/devices/virtio/iommu-constants.ts';
import { IOMMU_PROBE_SIZE } from '../../src/devices/virtio/iommu.ts';
import { bytes, iommuRig, req } from './helpers.ts';

const RW = IOMMU_MAP_F_READ | IOMMU_MAP_F_WRITE;

describe('virtio-iommu: configuration and features', () => {
  it('offers INPUT_RANGE, DOMAIN_RANGE, MAP_UNMAP, PROBE and BYPASS_CONFIG, not MMIO or the legacy BYPASS', () => {
    const { iommu } = iommuRig();
    expect(iommu.deviceId).toBe(VIRTIO_ID_IOMMU);
    const offered = iommu.offered;
    for (const bit of [IOMMU_F_INPUT_RANGE, IOMMU_F_DOMAIN_RANGE, IOMMU_F_MAP_UNMAP, IOMMU_F_PROBE, IOMMU_F_BYPASS_CONFIG]) {
      expect(offered & featureBit(bit)).not.toBe(0n);
    }
    for (const bit of [IOMMU_F_BYPASS, IOMMU_F_MMIO, F_ACCESS_PLATFORM]) expect(offered & featureBit(bit)).toBe(0n);
  });

  it('reports 4 KiB pages, a 48-bit input range, 32-bit domain IDs, the probe size and bypass off', () => {
    const { iommu } = iommuRig();
    const r32 = (o: number) => iommu.readConfig(o, 4);
    expect([r32(IommuConfig.pageSizeMask), r32(IommuConfig.pageSizeMask + 4)]).toEqual([0xfffff000, 0]);
    expect([r32(IommuConfig.inputRangeStart), r32(IommuConfig.inputRangeStart + 4)]).toEqual([0, 0]);
    expect([r32(IommuConfig.inputRangeEnd), r32(IommuConfig.inputRangeEnd + 4)]).toEqual([0xffffffff, 0xffff]);
    expect([r32(IommuConfig.domainRangeStart), r32(IommuConfig.domainRangeEnd)]).toEqual([0, 0xffffffff]);
    expect(r32(IommuConfig.probeSize)).toBe(IOMMU_PROBE_SIZE);
    expect(iommu.readConfig(IommuConfig.bypass, 1)).toBe(0);
    expect(iommu.readConfig(IommuConfig.size, 4)).toBe(0);
  });

  it('lets the driver set bypass only once BYPASS_CONFIG is negotiated; a reset restores it', () => {
    const rig = iommuRig();
    rig.iommu.writeConfig(IommuConfig.bypass, 1, 1);
    expect(rig.iommu.readConfig(IommuConfig.bypass, 1)).toBe(0);
    expect(rig.driver.init() & STATUS_DRIVER_OK).toBeTruthy();
    rig.iommu.writeConfig(IommuConfig.bypass, 1, 1);
    expect(rig.iommu.readConfig(IommuConfig.bypass, 1)).toBe(1);
    expect(rig.iommu.domains.bypass).toBe(true);
    rig.iommu.writeConfig(IommuConfig.pageSizeMask, 4, 0); // read-only
    expect(rig.iommu.readConfig(IommuConfig.pageSizeMask, 4)).toBe(0xfffff000);
    rig.iommu.writeStatus(0);
    expect(rig.iommu.readConfig(IommuConfig.bypass, 1)).toBe(0);
  });
});

describe('virtio-iommu: requests', () => {
  function ready() {
    const rig = iommuRig();
    rig.driver.init();
    return rig;
  }

  it('attaches and detaches endpoints; a domain disappears with its last endpoint', () => {
    const rig = ready();
    const d = rig.iommu.domains;
    expect(rig.send(req.attach(1, 0x18))).toBe(IOMMU_S_OK);
    expect(rig.send(req.attach(1, 0x20))).toBe(IOMMU_S_OK);
    expect(d.domainOf(0x18)).toBe(1);
    expect(rig.send(req.map(1, 0x1000, 0x1fff, 0x5000, RW))).toBe(IOMMU_S_OK);
    // Re-attaching elsewhere moves the endpoint (implicit detach).
    expect(rig.send(req.attach(2, 0x20))).toBe(IOMMU_S_OK);
    expect(d.snapshot().domains.map((x) => [x.id, x.endpoints])).toEqual([[1, [0x18]], [2, [0x20]]]);
    expect(rig.send(req.detach(2, 0x18))).toBe(IOMMU_S_INVAL); // not attached to domain 2
    expect(rig.send(req.detach(7, 0x18))).toBe(IOMMU_S_NOENT);
    expect(rig.send(req.detach(1, 0x18))).toBe(IOMMU_S_OK);
    expect(d.domainOf(0x18)).toBeNull();
    // Domain 1 went with its last endpoint, mappings included.
    expect(rig.send(req.attach(1, 0x18))).toBe(IOMMU_S_OK);
    expect(d.mappings(1)).toEqual([]);
    expect(d.counters).toMatchObject({ attaches: 4, detaches: 1, maps: 1 });
  });

  it('refuses unknown endpoints (NOENT), flags and reserved bytes (INVAL), and mixing bypass and mapping domains', () => {
    const rig = ready();
    expect(rig.send(req.attach(1, 0x28))).toBe(IOMMU_S_NOENT);
    expect(rig.send(req.attach(1, 0x18, 2))).toBe(IOMMU_S_INVAL);
    const reserved = req.attach(1, 0x18);
    reserved[17] = 1;
    expect(rig.send(reserved)).toBe(IOMMU_S_INVAL);
    expect(rig.send(req.attach(1, 0x18))).toBe(IOMMU_S_OK);
    expect(rig.send(req.attach(1, 0x20, IOMMU_ATTACH_F_BYPASS))).toBe(IOMMU_S_INVAL);
    expect(rig.send(req.attach(3, 0x20, IOMMU_ATTACH_F_BYPASS))).toBe(IOMMU_S_OK);
    expect(rig.send(req.map(3, 0, 0xfff, 0, RW))).toBe(IOMMU_S_INVAL); // a bypass domain has no mappings
    const detachReserved = req.detach(3, 0x20);
    detachReserved[19] = 1;
    expect(rig.send(detachReserved)).toBe(IOMMU_S_INVAL);
    expect(rig.send(req.detach(3, 0x28))).toBe(IOMMU_S_NOENT);
  });

  it('refuses ATTACH with the bypass flag when BYPASS_CONFIG was not negotiated', () => {
    const rig = iommuRig();
    rig.driver.init({ features: rig.iommu.offered & ~featureBit(IOMMU_F_BYPASS_CONFIG) });
    expect(rig.send(req.attach(1, 0x18, IOMMU_ATTACH_F_BYPASS))).toBe(IOMMU_S_INVAL);
  });

  it('validates MAP: domain, alignment and input range, flags, overlap', () => {
    const rig = ready();
    expect(rig.send(req.map(1, 0, 0xfff, 0, RW))).toBe(IOMMU_S_NOENT);
    rig.send(req.attach(1, 0x18));
    expect(rig.send(req.map(1, 0x1000, 0x2fff, 0x10000, RW))).toBe(IOMMU_S_OK);
    expect(rig.send(req.map(1, 0x3800, 0x3fff, 0x10000, RW))).toBe(IOMMU_S_RANGE); // start unaligned
    expect(rig.send(req.map(1, 0x4000, 0x47ff, 0x10000, RW))).toBe(IOMMU_S_RANGE); // end + 1 unaligned
    expect(rig.send(req.map(1, 0x4000, 0x4fff, 0x10800, RW))).toBe(IOMMU_S_RANGE); // phys unaligned
    expect(rig.send(req.map(1, 0x5000, 0x4fff, 0x10000, RW))).toBe(IOMMU_S_RANGE); // empty
    expect(rig.send(req.map(1, 2n ** 48n, 2n ** 48n + 0xfffn, 0, RW))).toBe(IOMMU_S_RANGE); // above input_range
    expect(rig.send(req.map(1, 0x4000, 0x4fff, 0x10000, IOMMU_MAP_F_MMIO))).toBe(IOMMU_S_INVAL); // MMIO not offered
    expect(rig.send(req.map(1, 0x4000, 0x4fff, 0x10000, 8))).toBe(IOMMU_S_INVAL);
    expect(rig.send(req.map(1, 0x2000, 0x3fff, 0x20000, RW))).toBe(IOMMU_S_INVAL); // overlaps [0x1000, 0x2fff]
    expect(rig.send(req.map(1, 0x0000, 0x1fff, 0x20000, RW))).toBe(IOMMU_S_INVAL);
    expect(rig.send(req.map(1, 0x0000, 0x0fff, 0x20000, IOMMU_MAP_F_READ))).toBe(IOMMU_S_OK); // adjacent is fine
    expect(rig.send(req.map(1, 0x3000, 0x3fff, 0x30000, IOMMU_MAP_F_WRITE))).toBe(IOMMU_S_OK);
    expect(rig.iommu.domains.mappings(1)).toEqual([
      { virtStart: 0x0000, virtEnd: 0x0fff, physStart: 0x20000, flags: IOMMU_MAP_F_READ },
      { virtStart: 0x1000, virtEnd: 0x2fff, physStart: 0x10000, flags: RW },
      { virtStart: 0x3000, virtEnd: 0x3fff, physStart: 0x30000, flags: IOMMU_MAP_F_WRITE },
    ]);
  });

  it('UNMAP removes whole mappings inside the range, refuses to split one (RANGE), and accepts an empty range', () => {
    const rig = ready();
    rig.send(req.attach(1, 0x18));
    for (let i = 0; i < 4; i++) rig.send(req.map(1, 0x10000 * (i + 1), 0x10000 * (i + 1) + 0x1fff, 0x100000 + 0x2000 * i, RW));
    expect(rig.send(req.unmap(1, 0x20000, 0x20fff))).toBe(IOMMU_S_RANGE); // half of the second mapping
    expect(rig.send(req.unmap(1, 0x21000, 0x30fff))).toBe(IOMMU_S_RANGE); // tail of one, head of the next
    expect(rig.iommu.domains.mappings(1)).toHaveLength(4);
    expect(rig.send(req.unmap(1, 0x18000, 0x31fff))).toBe(IOMMU_S_OK); // the second and third, whole
    expect(rig.iommu.domains.mappings(1).map((m) => m.virtStart)).toEqual([0x10000, 0x40000]);
    expect(rig.send(req.unmap(1, 0x80000, 0x8ffff))).toBe(IOMMU_S_OK); // nothing there
    expect(rig.send(req.unmap(1, 0n, 2n ** 64n - 1n))).toBe(IOMMU_S_OK); // Linux's "everything"
    expect(rig.iommu.domains.mappings(1)).toEqual([]);
    expect(rig.send(req.unmap(9, 0, 0xfff))).toBe(IOMMU_S_NOENT);
    expect(rig.send(req.unmap(1, 0x2000, 0x1000))).toBe(IOMMU_S_INVAL);
  });

  it('PROBE reports the x86 MSI window as a reserved region, then a NONE property', () => {
    const rig = ready();
    const { status, written, usedLen } = rig.sendFull(req.probe(0x18), IOMMU_PROBE_SIZE + 4);
    expect(status).toBe(IOMMU_S_OK);
    expect(usedLen).toBe(IOMMU_PROBE_SIZE + 4);
    const v = new DataView(written.buffer);
    expect(v.getUint16(0, true)).toBe(IOMMU_PROBE_T_RESV_MEM);
    expect(v.getUint16(2, true)).toBe(20);
    expect(v.getUint8(4)).toBe(IOMMU_RESV_MEM_T_MSI);
    expect(v.getBigUint64(8, true)).toBe(0xfee00000n);
    expect(v.getBigUint64(16, true)).toBe(0xfeefffffn);
    expect(v.getUint16(24, true)).toBe(0); // NONE ends the list
    expect(rig.send(req.probe(0x28), IOMMU_PROBE_SIZE + 4)).toBe(IOMMU_S_NOENT);
    expect(rig.send(req.probe(0x18), 64)).toBe(IOMMU_S_INVAL); // no room for probe_size bytes
    expect(rig.iommu.domains.counters.probes).toBe(1);
  });

  it('answers unknown types with UNSUPP and short requests with INVAL, without breaking the device', () => {
    const rig = ready();
    expect(rig.send(bytes(20, (v) => v.setUint8(0, 9)))).toBe(IOMMU_S_UNSUPP);
    expect(rig.send(req.map(1, 0, 0xfff, 0, RW).subarray(0, 20))).toBe(IOMMU_S_INVAL);
    expect(rig.send(bytes(2, () => {}))).toBe(IOMMU_S_INVAL);
    // A request whose writable part cannot hold the tail is returned unanswered.
    const s = rig.driver.submit(0, [{ out: req.attach(1, 0x18) }, { in: 2 }]);
    expect(rig.driver.takeUsed(0)).toEqual([{ id: s.head, len: 0 }]);
    expect(rig.iommu.needsResetFlag).toBe(false);
    expect(rig.send(req.attach(1, 0x18))).toBe(IOMMU_S_OK);
    expect(rig.iommu.domains.counters.failedRequests).toBe(3);
  });

  it('forgets every domain on a device reset', () => {
    const rig = ready();
    rig.send(req.attach(1, 0x18));
    rig.send(req.map(1, 0, 0xfff, 0, RW));
    rig.driver.init();
    expect(rig.iommu.domains.snapshot().domains).toEqual([]);
    expect(rig.iommu.domains.domainOf(0x18)).toBeNull();
  });

  it('saves and restores its domains, mappings and bypass with the device state', () => {
    const rig = ready();
    rig.send(req.attach(1, 0x18));
    rig.send(req.attach(2, 0x20, IOMMU_ATTACH_F_BYPASS));
    rig.send(req.map(1, 0x1000, 0x1fff, 0x5000, RW));
    rig.iommu.writeConfig(IommuConfig.bypass, 1, 1);
    const saved = JSON.parse(JSON.stringify(rig.iommu.saveState()));
    const other = iommuRig();
    other.iommu.loadState(saved);
    expect(other.iommu.observer.snapshot().domains).toEqual(rig.iommu.observer.snapshot().domains);
    expect(other.iommu.readConfig(IommuConfig.bypass, 1)).toBe(1);
    expect(other.iommu.domains.domainOf(0x20)).toBe(2);
  });
});
