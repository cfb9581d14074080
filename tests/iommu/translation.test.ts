import { describe, expect, it } from 'vitest';
import { DmaFault, TranslatedDmaSpace } from '../../src/devices/dma-space.ts';
import { VirtioBlk } from '../../src/devices/virtio/blk.ts';
import { BLK_S_IOERR, BLK_S_OK, BLK_T_IN, BLK_T_OUT, F_ACCESS_PLATFORM, featureBit } from '../../src/devices/virtio/constants.ts';
import {
  IOMMU_ATTACH_F_BYPASS,
  IOMMU_EVENT_QUEUE,
  IOMMU_FAULT_F_ADDRESS,
  IOMMU_FAULT_F_READ,
  IOMMU_FAULT_F_WRITE,
  IOMMU_FAULT_R_DOMAIN,
  IOMMU_FAULT_R_MAPPING,
  IOMMU_MAP_F_READ,
  IOMMU_MAP_F_WRITE,
  IommuConfig,
} from '../../src/devices/virtio/iommu-constants.ts';
import { FAULT_LOG_SIZE } from '../../src/devices/iommu/domains.ts';
import { MemoryBlockDevice } from '../../src/storage/backends/memory.ts';
import { TestDriver } from '../virtio/driver.ts';
import { iommuRig, req } from './helpers.ts';

const RW = IOMMU_MAP_F_READ | IOMMU_MAP_F_WRITE;
const EP = 0x18;

function ready() {
  const rig = iommuRig();
  rig.driver.init();
  const space = new TranslatedDmaSpace(rig.dma, rig.iommu, EP);
  return { ...rig, space };
}

function readFault(ram: Uint8Array, at: number) {
  const v = new DataView(ram.buffer, at, 24);
  return { reason: v.getUint8(0), flags: v.getUint32(4, true), endpoint: v.getUint32(8, true), address: Number(v.getBigUint64(16, true)) };
}

describe('IOMMU translation', () => {
  it('denies an endpoint without a domain unless bypass is on, and reports a DOMAIN fault', () => {
    const rig = ready();
    const [ev] = rig.postEvents(1);
    expect(() => rig.space.read32(0x1000)).toThrow(DmaFault);
    expect(readFault(rig.ram, ev!)).toEqual({ reason: IOMMU_FAULT_R_DOMAIN, flags: IOMMU_FAULT_F_READ | IOMMU_FAULT_F_ADDRESS, endpoint: EP, address: 0x1000 });
    expect(rig.driver.takeUsed(IOMMU_EVENT_QUEUE)).toEqual([{ id: expect.any(Number), len: 24 }]);
    rig.iommu.writeConfig(IommuConfig.bypass, 1, 1);
    rig.ram[0x1234] = 0x5a;
    expect(rig.space.read(0x1234, new Uint8Array(1))).toBeUndefined();
    const b = new Uint8Array(1);
    rig.space.read(0x1234, b);
    expect(b[0]).toBe(0x5a);
  });

  it('a bypass domain passes addresses through', () => {
    const rig = ready();
    rig.send(req.attach(5, EP, IOMMU_ATTACH_F_BYPASS));
    rig.space.write32(0x3000, 0xdeadbeef);
    expect(new DataView(rig.ram.buffer).getUint32(0x3000, true)).toBe(0xdeadbeef);
  });

  it('translates through the mappings, splitting accesses at their boundaries', () => {
    const rig = ready();
    rig.send(req.attach(1, EP));
    // IOVA 0x10000..0x11fff → two non-contiguous physical pages.
    rig.send(req.map(1, 0x10000, 0x10fff, 0x200000, RW));
    rig.send(req.map(1, 0x11000, 0x11fff, 0x100000, RW));
    rig.space.write(0x10ffe, Uint8Array.of(1, 2, 3, 4));
    expect([...rig.ram.subarray(0x200ffe, 0x201000)]).toEqual([1, 2]);
    expect([...rig.ram.subarray(0x100000, 0x100002)]).toEqual([3, 4]);
    expect(rig.space.read32(0x10ffe)).toBe(0x04030201);
    rig.space.write16(0x11010, 0xbeef);
    expect(rig.space.read16(0x11010)).toBe(0xbeef);
    expect(new DataView(rig.ram.buffer).getUint16(0x100010, true)).toBe(0xbeef);
    // A view only when the range is physically contiguous.
    expect(rig.space.view(0x10ff0, 0x20, true)).toBeNull();
    const v = rig.space.view(0x11000, 0x100, true)!;
    v[0] = 0x77;
    expect(rig.ram[0x100000]).toBe(0x77);
    expect(rig.iommu.domains.counters.translations).toBeGreaterThan(0);
  });

  it('checks permissions and reports MAPPING faults with the access direction', () => {
    const rig = ready();
    rig.send(req.attach(1, EP));
    rig.send(req.map(1, 0x10000, 0x10fff, 0x200000, IOMMU_MAP_F_READ));
    rig.send(req.map(1, 0x20000, 0x20fff, 0x210000, IOMMU_MAP_F_WRITE));
    const events = rig.postEvents(3);
    expect(rig.space.read32(0x10000)).toBe(0);
    expect(() => rig.space.write32(0x10000, 1)).toThrow(/not writable/);
    expect(() => rig.space.read32(0x20010)).toThrow(/not readable/);
    rig.space.write32(0x20010, 1);
    // A view is checked as a whole, before any byte moves: the unmapped tail faults.
    expect(() => rig.space.view(0x20f00, 0x200, true)).toThrow(/no mapping/);
    expect(events.map((a) => readFault(rig.ram, a))).toEqual([
      { reason: IOMMU_FAULT_R_MAPPING, flags: IOMMU_FAULT_F_WRITE | IOMMU_FAULT_F_ADDRESS, endpoint: EP, address: 0x10000 },
      { reason: IOMMU_FAULT_R_MAPPING, flags: IOMMU_FAULT_F_READ | IOMMU_FAULT_F_ADDRESS, endpoint: EP, address: 0x20010 },
      { reason: IOMMU_FAULT_R_MAPPING, flags: IOMMU_FAULT_F_WRITE | IOMMU_FAULT_F_ADDRESS, endpoint: EP, address: 0x21000 },
    ]);
    // Without event buffers, faults are still counted and logged, as dropped.
    expect(() => rig.space.read32(0x50000)).toThrow(DmaFault);
    const snap = rig.iommu.domains.snapshot();
    expect(snap.counters).toMatchObject({ faults: 4, faultsDropped: 1 });
    expect(snap.faults.map((f) => [f.address, f.write, f.reported, f.domain])).toEqual([
      [0x10000, true, true, 1],
      [0x20010, false, true, 1],
      [0x21000, true, true, 1],
      [0x50000, false, false, 1],
    ]);
  });

  it('returns an event buffer too small for a fault record unused, and counts the fault as dropped', () => {
    const rig = ready();
    const small = rig.driver.submit(IOMMU_EVENT_QUEUE, [{ in: 8 }]);
    expect(() => rig.space.read32(0x1000)).toThrow(DmaFault);
    expect(rig.driver.takeUsed(IOMMU_EVENT_QUEUE)).toEqual([{ id: small.head, len: 0 }]);
    expect(rig.iommu.domains.counters.faultsDropped).toBe(1);
    expect(rig.iommu.needsResetFlag).toBe(false);
  });

  it('unmapping takes effect for the next access', () => {
    const rig = ready();
    rig.send(req.attach(1, EP));
    rig.send(req.map(1, 0x10000, 0x10fff, 0x200000, RW));
    rig.space.read32(0x10000);
    rig.send(req.unmap(1, 0x10000, 0x10fff));
    expect(() => rig.space.read32(0x10000)).toThrow(DmaFault);
  });

  it('keeps a bounded fault log and notifies observers of changes', () => {
    const rig = ready();
    let changes = 0;
    const stop = rig.iommu.domains.subscribe(() => changes++);
    rig.send(req.attach(1, EP));
    rig.send(req.map(1, 0, 0xfff, 0, RW));
    expect(changes).toBe(2);
    for (let i = 0; i < FAULT_LOG_SIZE + 5; i++) expect(() => rig.space.read32(0x100000 + i * 4)).toThrow();
    const snap = rig.iommu.domains.snapshot();
    expect(snap.faults).toHaveLength(FAULT_LOG_SIZE);
    expect(snap.faults[0]!.seq).toBe(6);
    expect(changes).toBe(2 + FAULT_LOG_SIZE + 5);
    stop();
    rig.send(req.unmap(1, 0, 0xfff));
    expect(changes).toBe(2 + FAULT_LOG_SIZE + 5);
    expect(snap.domains).toEqual([{ id: 1, bypass: false, endpoints: [EP], mappings: [{ virtStart: 0, virtEnd: 0xfff, physStart: 0, flags: RW }] }]);
    expect(snap.endpoints).toEqual([{ id: EP, domain: 1 }]);
  });
});

describe('virtio-blk behind the IOMMU', () => {
  // The IOMMU's rings live low in RAM; the disk's rings and buffers at IOVA 0x100000+, mapped one to one.
  function setup() {
    const rig = iommuRig({}, 1 << 22);
    rig.driver.init();
    const space = new TranslatedDmaSpace(rig.dma, rig.iommu, EP);
    const disk = MemoryBlockDevice.create(64);
    const blk = new VirtioBlk(space, disk, { accessPlatform: true, log: () => {} });
    const blkDriver = new TestDriver(rig.ram, blk, undefined, 0x100000);
    rig.send(req.attach(1, EP));
    rig.send(req.map(1, 0x100000, 0x1fffff, 0x100000, RW));
    blkDriver.init();
    return { ...rig, blk, blkDriver, disk };
  }

  function header(type: number, sector: number): Uint8Array {
    const h = new Uint8Array(16);
    new DataView(h.buffer).setUint32(0, type, true);
    new DataView(h.buffer).setUint32(8, sector, true);
    return h;
  }

  async function settle(blk: VirtioBlk): Promise<void> {
    await blk.whenIdle();
    await new Promise((r) => setTimeout(r, 0));
  }

  it('offers ACCESS_PLATFORM, and works through mapped buffers', async () => {
    const { blk, blkDriver, ram } = setup();
    expect(blk.negotiated & featureBit(F_ACCESS_PLATFORM)).not.toBe(0n);
    const data = new Uint8Array(512).map((_, i) => i & 0xff);
    const w = blkDriver.submit(0, [{ out: header(BLK_T_OUT, 3) }, { out: data }, { in: 1 }]);
    await settle(blk);
    expect(ram[w.lastByte]).toBe(BLK_S_OK);
    const r = blkDriver.submit(0, [{ out: header(BLK_T_IN, 3) }, { in: 512 }, { in: 1 }]);
    await settle(blk);
    expect(ram[r.lastByte]).toBe(BLK_S_OK);
    expect(ram.subarray(r.addrs[1]!, r.addrs[1]! + 512)).toEqual(data);
  });

  it('completes a request whose data buffer is not mapped with IOERR, and reports the fault', async () => {
    const rig = setup();
    const events = rig.postEvents(1);
    const r = rig.blkDriver.submit(0, [{ out: header(BLK_T_IN, 0) }, { in: 512 }, { in: 1 }], { kick: false });
    // Point the data descriptor at RAM the domain does not map.
    const desc = rig.blkDriver.queues[0]!.desc;
    const data = rig.blkDriver.view.getUint16(desc + r.head * 16 + 14, true);
    rig.blkDriver.view.setUint32(desc + data * 16, 0x300000, true);
    rig.blk.queueNotify(0);
    await settle(rig.blk);
    expect(rig.ram[r.lastByte]).toBe(BLK_S_IOERR);
    expect(readFault(rig.ram, events[0]!)).toEqual({ reason: IOMMU_FAULT_R_MAPPING, flags: IOMMU_FAULT_F_WRITE | IOMMU_FAULT_F_ADDRESS, endpoint: EP, address: 0x300000 });
    expect(rig.blk.needsResetFlag).toBe(false);
    expect(rig.blk.stats().ioErrors).toBe(1);
  });

  it('a disk whose rings are not mapped needs a reset rather than touching unmapped memory', async () => {
    const rig = setup();
    rig.send(req.unmap(1, 0x100000, 0x1fffff));
    rig.blkDriver.submit(0, [{ out: header(BLK_T_IN, 0) }, { in: 512 }, { in: 1 }]);
    await settle(rig.blk);
    expect(rig.blk.needsResetFlag).toBe(true);
    expect(rig.iommu.domains.counters.faults).toBeGreaterThan(0);
  });
});
