import { describe, expect, it } from 'vitest';
import { VirtioBlk } from '../../src/devices/virtio/blk.ts';
import { IdentityDmaSpace } from '../../src/devices/dma-space.ts';
import { BlkConfigOffset } from '../../src/devices/virtio/blk-config.ts';
import {
  BLK_F_DISCARD,
  BLK_F_FLUSH,
  BLK_F_MQ,
  BLK_F_RO,
  BLK_S_IOERR,
  BLK_S_OK,
  BLK_S_UNSUPP,
  BLK_T_DISCARD,
  BLK_T_FLUSH,
  BLK_T_GET_ID,
  BLK_T_IN,
  BLK_T_OUT,
  F_EVENT_IDX,
  F_INDIRECT_DESC,
  F_VERSION_1,
  STATUS_DEVICE_NEEDS_RESET,
  STATUS_DRIVER_OK,
  STATUS_FEATURES_OK,
  VIRTQ_AVAIL_F_NO_INTERRUPT,
  VIRTQ_DESC_F_INDIRECT,
  VIRTQ_DESC_F_NEXT,
  VIRTQ_DESC_F_WRITE,
  featureBit,
} from '../../src/devices/virtio/constants.ts';
import { MemoryBlockDevice } from '../../src/storage/backends/memory.ts';
import type { BlockDevice } from '../../src/storage/block-device.ts';
import { TestDisk, firstDifference, sectors } from '../storage/fakes.ts';
import { TestDriver, type Segment } from './driver.ts';

function header(type: number, sector = 0): Uint8Array {
  const h = new Uint8Array(16);
  const dv = new DataView(h.buffer);
  dv.setUint32(0, type, true);
  dv.setUint32(8, sector % 2 ** 32, true);
  dv.setUint32(12, Math.floor(sector / 2 ** 32), true);
  return h;
}

function discardSegment(sector: number, n: number, flags = 0): Uint8Array {
  const b = new Uint8Array(16);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, sector, true);
  dv.setUint32(8, n, true);
  dv.setUint32(12, flags, true);
  return b;
}

function setup(disk: BlockDevice = MemoryBlockDevice.create(2048), options: ConstructorParameters<typeof VirtioBlk>[2] = {}) {
  const logs: string[] = [];
  const made = TestDriver.ramWithDevice(1 << 20, (d) => new VirtioBlk(d, disk, { log: (m) => logs.push(m), ...options }));
  const driver = new TestDriver(made.ram, made.device);
  return { driver, device: made.device, ram: made.ram, disk, logs };
}

async function settle(device: VirtioBlk): Promise<void> {
  await device.whenIdle();
}

function statusOf(driver: TestDriver, sub: { lastByte: number }): number {
  return driver.ram[sub.lastByte]!;
}

describe('virtio-blk feature negotiation and config space', () => {
  it('offers modern, ring and blk features; accepts them', () => {
    const { driver, device } = setup(MemoryBlockDevice.create(2048), { numQueues: 2 });
    const offered = device.offered;
    for (const bit of [F_VERSION_1, F_INDIRECT_DESC, F_EVENT_IDX, BLK_F_FLUSH, BLK_F_DISCARD, BLK_F_MQ]) {
      expect(offered & featureBit(bit), `bit ${bit}`).not.toBe(0n);
    }
    expect(offered & featureBit(BLK_F_RO)).toBe(0n);
    expect(driver.init() & STATUS_DRIVER_OK).toBeTruthy();
    expect(device.negotiated).toBe(offered);
  });

  it('refuses FEATURES_OK for unoffered features or a legacy driver', () => {
    const { driver, device } = setup();
    expect(driver.init({ features: device.offered | featureBit(40) }) & STATUS_FEATURES_OK).toBe(0);
    expect(driver.init({ features: device.offered & ~featureBit(F_VERSION_1) }) & STATUS_FEATURES_OK).toBe(0);
  });

  it('lays out struct virtio_blk_config as the spec says', () => {
    const { device } = setup(MemoryBlockDevice.create(2 ** 20 + 8), { numQueues: 4, queueSize: 128, maxDiscardSegments: 7 });
    const o = BlkConfigOffset;
    expect(device.readConfig(o.capacity, 4)).toBe(2 ** 20 + 8);
    expect(device.readConfig(o.capacity + 4, 4)).toBe(0);
    expect(device.readConfig(o.segMax, 4)).toBe(126);
    expect(device.readConfig(o.blkSize, 4)).toBe(512);
    expect(device.readConfig(o.physicalBlockExp, 1)).toBe(3);
    expect(device.readConfig(o.minIoSize, 2)).toBe(8);
    expect(device.readConfig(o.numQueues, 2)).toBe(4);
    expect(device.readConfig(o.maxDiscardSeg, 4)).toBe(7);
    expect(device.readConfig(o.maxDiscardSectors, 4)).toBe(1 << 22);
    expect(device.readConfig(o.discardSectorAlignment, 4)).toBe(8);
    expect(device.readConfig(o.writeback, 1)).toBe(0);
    expect(device.readConfig(o.zoned, 4)).toBe(0);
    expect(device.readConfig(200, 4)).toBe(0);
  });

  it('offers RO for a read-only disk and fails writes with IOERR', async () => {
    const { driver, device } = setup(MemoryBlockDevice.create(64, { readOnly: true }));
    expect(device.offered & featureBit(BLK_F_RO)).not.toBe(0n);
    driver.init();
    const sub = driver.submit(0, [{ out: header(BLK_T_OUT, 0) }, { out: sectors(1, 1) }, { in: 1 }]);
    await settle(device);
    expect(statusOf(driver, sub)).toBe(BLK_S_IOERR);
  });
});

describe('virtio-blk requests', () => {
  it('writes and reads back with data and header split across descriptors', async () => {
    const { driver, device, disk } = setup();
    driver.init();
    const data = sectors(3, 9);
    const h = header(BLK_T_OUT, 10);
    const w = driver.submit(0, [{ out: h.subarray(0, 5) }, { out: h.subarray(5) }, { out: data.subarray(0, 700) }, { out: data.subarray(700) }, { in: 1 }]);
    await settle(device);
    expect(statusOf(driver, w)).toBe(BLK_S_OK);
    const back = new Uint8Array(data.length);
    await disk.readv(10, [back]);
    expect(firstDifference(back, data)).toBeNull();
    const r = driver.submit(0, [{ out: header(BLK_T_IN, 10) }, { in: 1000 }, { in: 536 + 1 }]);
    expect(driver.takeUsed(0).map((u) => u.id)).toEqual([w.head]); // the read is not complete yet
    await settle(device);
    const used = driver.takeUsed(0);
    expect(used).toEqual([{ id: r.head, len: 1537 }]);
    const got = new Uint8Array([...driver.ram.subarray(r.addrs[1]!, r.addrs[1]! + 1000), ...driver.ram.subarray(r.addrs[2]!, r.addrs[2]! + 536)]);
    expect(firstDifference(got, data)).toBeNull();
    expect(statusOf(driver, r)).toBe(BLK_S_OK);
  });

  it('accepts an indirect table, and direct descriptors followed by an indirect one', async () => {
    const { driver, device } = setup();
    driver.init();
    const r = driver.submit(0, [{ out: header(BLK_T_IN, 0) }, { in: 512 }, { in: 1 }], { indirect: true });
    await settle(device);
    expect(statusOf(driver, r)).toBe(BLK_S_OK);
    // header direct, then an indirect table holding data + status
    const l = driver.queues[0]!;
    const hdr = driver.alloc(16);
    driver.ram.set(header(BLK_T_IN, 1), hdr);
    const data = driver.alloc(512);
    const status = driver.alloc(1);
    const table = driver.alloc(32);
    driver.writeDesc(table, 0, data, 512, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
    driver.writeDesc(table, 1, status, 1, VIRTQ_DESC_F_WRITE, 0);
    driver.writeDesc(l.desc, 100, hdr, 16, VIRTQ_DESC_F_NEXT, 101);
    driver.writeDesc(l.desc, 101, table, 32, VIRTQ_DESC_F_INDIRECT, 0);
    driver.ram[status] = 0xff;
    driver.postHead(0, 100);
    device.queueNotify(0);
    await settle(device);
    expect(driver.ram[status]).toBe(BLK_S_OK);
    expect(device.needsResetFlag).toBe(false);
  });

  it('completes a read only after the disk finished it', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const mem = MemoryBlockDevice.create(64);
    const slow: BlockDevice = Object.assign(Object.create(mem), {
      readv: async (s: number, segs: Uint8Array[]) => {
        await gate;
        return mem.readv(s, segs);
      },
    });
    const { driver, device } = setup(slow);
    driver.init();
    driver.submit(0, [{ out: header(BLK_T_IN, 0) }, { in: 513 }]);
    await new Promise((r) => setTimeout(r, 5));
    expect(driver.usedIdx(0)).toBe(0);
    expect(device.inflightRequests).toBe(1);
    release();
    await settle(device);
    expect(driver.usedIdx(0)).toBe(1);
  });

  it('acknowledges FLUSH only after earlier writes completed and the disk is durable', async () => {
    const disk = new TestDisk(256, { latency: (op) => (op === 'write' ? 3 : 1) });
    const { driver, device } = setup(disk);
    driver.init();
    const data = sectors(8, 4);
    const w = driver.submit(0, [{ out: header(BLK_T_OUT, 16) }, { out: data }, { in: 1 }]);
    const f = driver.submit(0, [{ out: header(BLK_T_FLUSH) }, { in: 1 }]);
    await settle(device);
    expect(statusOf(driver, w)).toBe(BLK_S_OK);
    expect(statusOf(driver, f)).toBe(BLK_S_OK);
    expect(disk.log).toEqual(['write 16+8', 'flush']);
    expect(firstDifference(disk.durable.subarray(16 * 512, 24 * 512), data)).toBeNull();
  });

  it('makes every write durable on completion when the driver did not negotiate FLUSH', async () => {
    const disk = new TestDisk(64);
    const { driver, device } = setup(disk);
    driver.init({ features: device.offered & ~featureBit(BLK_F_FLUSH) });
    driver.submit(0, [{ out: header(BLK_T_OUT, 2) }, { out: sectors(1, 5) }, { in: 1 }]);
    await settle(device);
    expect(firstDifference(disk.durable.subarray(1024, 1536), sectors(1, 5))).toBeNull();
    const f = driver.submit(0, [{ out: header(BLK_T_FLUSH) }, { in: 1 }]);
    await settle(device);
    expect(statusOf(driver, f)).toBe(BLK_S_UNSUPP);
  });

  it('answers GET_ID with the NUL-padded serial', async () => {
    const { driver, device } = setup(MemoryBlockDevice.create(8), { serial: 'disk-7' });
    driver.init();
    const r = driver.submit(0, [{ out: header(BLK_T_GET_ID) }, { in: 20 }, { in: 1 }]);
    await settle(device);
    const id = driver.ram.subarray(r.addrs[1]!, r.addrs[1]! + 20);
    expect(new TextDecoder().decode(id.subarray(0, 6))).toBe('disk-7');
    expect(id.subarray(6).every((b) => b === 0)).toBe(true);
    expect(statusOf(driver, r)).toBe(BLK_S_OK);
  });

  it('discards ranges and enforces the discard rules', async () => {
    const disk = new TestDisk(4096);
    const { driver, device } = setup(disk, { maxDiscardSegments: 2, maxDiscardSectors: 64 });
    driver.init();
    const ok = driver.submit(0, [{ out: header(BLK_T_DISCARD) }, { out: discardSegment(8, 16) }, { out: discardSegment(100, 64) }, { in: 1 }]);
    const unmap = driver.submit(0, [{ out: header(BLK_T_DISCARD) }, { out: discardSegment(8, 8, 1) }, { in: 1 }]);
    const tooMany = driver.submit(0, [{ out: header(BLK_T_DISCARD) }, { out: new Uint8Array([...discardSegment(1, 1), ...discardSegment(2, 1), ...discardSegment(3, 1)]) }, { in: 1 }]);
    const tooBig = driver.submit(0, [{ out: header(BLK_T_DISCARD) }, { out: discardSegment(0, 65) }, { in: 1 }]);
    const ragged = driver.submit(0, [{ out: header(BLK_T_DISCARD) }, { out: new Uint8Array(10) }, { in: 1 }]);
    const past = driver.submit(0, [{ out: header(BLK_T_DISCARD) }, { out: discardSegment(4090, 10) }, { in: 1 }]);
    await settle(device);
    expect([ok, unmap, tooMany, tooBig, ragged, past].map((s) => statusOf(driver, s))).toEqual([BLK_S_OK, BLK_S_UNSUPP, BLK_S_IOERR, BLK_S_IOERR, BLK_S_IOERR, BLK_S_IOERR]);
    expect(disk.log).toEqual(['discard 8+16', 'discard 100+64']);
  });

  it('answers malformed requests with IOERR or UNSUPP and keeps working', async () => {
    const { driver, device } = setup(MemoryBlockDevice.create(64));
    driver.init();
    const cases: Array<[Segment[], number]> = [
      [[{ out: header(99) }, { in: 1 }], BLK_S_UNSUPP], // unknown type
      [[{ out: header(BLK_T_IN, 63) }, { in: 1024 }, { in: 1 }], BLK_S_IOERR], // past the end
      [[{ out: header(BLK_T_IN, 0) }, { in: 100 }, { in: 1 }], BLK_S_IOERR], // not whole sectors
      [[{ out: header(BLK_T_IN, 0).subarray(0, 12) }, { in: 1 }], BLK_S_IOERR], // short header
      [[{ out: header(BLK_T_IN, 0) }, { out: sectors(1, 1) }, { in: 1 }], BLK_S_IOERR], // read with device-readable data
      [[{ out: header(BLK_T_OUT, 0) }, { in: 512 }, { in: 1 }], BLK_S_IOERR], // write with device-writable data
      [[{ out: header(BLK_T_IN, 2 ** 40) }, { in: 512 }, { in: 1 }], BLK_S_IOERR], // absurd sector
    ];
    const subs = cases.map(([segs]) => driver.submit(0, segs));
    await settle(device);
    expect(subs.map((s) => statusOf(driver, s))).toEqual(cases.map(([, st]) => st));
    expect(device.needsResetFlag).toBe(false);
    expect(device.stats()).toMatchObject({ requests: cases.length, unsupported: 1, ioErrors: cases.length - 1 });
  });

  it('gives IOERR when a data buffer lies outside guest RAM', async () => {
    const { driver, device } = setup();
    driver.init();
    const l = driver.queues[0]!;
    const hdr = driver.alloc(16);
    driver.ram.set(header(BLK_T_IN, 0), hdr);
    const status = driver.alloc(1);
    driver.writeDesc(l.desc, 0, hdr, 16, VIRTQ_DESC_F_NEXT, 1);
    driver.writeDesc(l.desc, 1, driver.ram.length - 100, 512, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 2);
    driver.writeDesc(l.desc, 2, status, 1, VIRTQ_DESC_F_WRITE, 0);
    driver.postHead(0, 0);
    device.queueNotify(0);
    await settle(device);
    expect(driver.ram[status]).toBe(BLK_S_IOERR);
    expect(device.needsResetFlag).toBe(false);
  });

  it('serves several queues', async () => {
    const { driver, device } = setup(MemoryBlockDevice.create(64), { numQueues: 3 });
    driver.init();
    const a = driver.submit(2, [{ out: header(BLK_T_OUT, 5) }, { out: sectors(1, 3) }, { in: 1 }]);
    await settle(device);
    const b = driver.submit(1, [{ out: header(BLK_T_IN, 5) }, { in: 513 }]);
    await settle(device);
    expect(statusOf(driver, a)).toBe(BLK_S_OK);
    expect(firstDifference(driver.ram.subarray(b.addrs[1]!, b.addrs[1]! + 512), sectors(1, 3))).toBeNull();
    expect(driver.transport.interrupts).toEqual([
      { kind: 'queue', queue: 2 },
      { kind: 'queue', queue: 1 },
    ]);
  });
});

describe('virtio-blk notifications', () => {
  it('honours VIRTQ_AVAIL_F_NO_INTERRUPT without EVENT_IDX', async () => {
    const { driver, device } = setup();
    driver.init({ features: device.offered & ~featureBit(F_EVENT_IDX) });
    driver.setAvailFlags(0, VIRTQ_AVAIL_F_NO_INTERRUPT);
    driver.submit(0, [{ out: header(BLK_T_IN, 0) }, { in: 513 }]);
    await settle(device);
    expect(driver.transport.interrupts).toEqual([]);
    driver.setAvailFlags(0, 0);
    driver.submit(0, [{ out: header(BLK_T_IN, 0) }, { in: 513 }]);
    await settle(device);
    expect(driver.transport.interrupts).toHaveLength(1);
  });

  it('suppresses interrupts until used_event is passed, and publishes avail_event (EVENT_IDX)', async () => {
    const { driver, device } = setup();
    driver.init();
    expect(device.negotiated & featureBit(F_EVENT_IDX)).not.toBe(0n);
    driver.setUsedEvent(0, 2); // interrupt when the used index moves past 2
    for (let i = 0; i < 3; i++) {
      driver.submit(0, [{ out: header(BLK_T_IN, i) }, { in: 513 }]);
      await settle(device);
      expect(driver.availEvent(0)).toBe(i + 1);
      expect(driver.transport.interrupts.length, `after request ${i}`).toBe(i < 2 ? 0 : 1);
    }
  });
});

describe('virtio-blk broken drivers', () => {
  function rawChain(driver: TestDriver, build: (desc: number) => number): void {
    const head = build(driver.queues[0]!.desc);
    driver.postHead(0, head);
    driver.device.queueNotify(0);
  }

  const broken: Array<[string, (d: TestDriver, desc: number) => number, RegExp]> = [
    ['a descriptor loop', (d, desc) => (d.writeDesc(desc, 0, 0x8000, 16, VIRTQ_DESC_F_NEXT, 1), d.writeDesc(desc, 1, 0x8100, 16, VIRTQ_DESC_F_NEXT, 0), 0), /loops/],
    ['a next index outside the table', (d, desc) => (d.writeDesc(desc, 0, 0x8000, 16, VIRTQ_DESC_F_NEXT, 5000), 0), /outside the descriptor table/],
    ['nested indirect tables', (d, desc) => {
      const t = d.alloc(16);
      d.writeDesc(t, 0, 0x9000, 16, VIRTQ_DESC_F_INDIRECT, 0);
      d.writeDesc(desc, 0, t, 16, VIRTQ_DESC_F_INDIRECT, 0);
      return 0;
    }, /nests an indirect table/],
    ['INDIRECT together with NEXT', (d, desc) => (d.writeDesc(desc, 0, 0x9000, 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 1), 0), /both INDIRECT and NEXT/],
    ['an indirect table of 20 bytes', (d, desc) => (d.writeDesc(desc, 0, 0x9000, 20, VIRTQ_DESC_F_INDIRECT, 0), 0), /multiple of 16/],
    ['an indirect table outside RAM', (d, desc) => (d.writeDesc(desc, 0, 2 ** 40, 32, VIRTQ_DESC_F_INDIRECT, 0), 0), /cannot read descriptor/],
    ['a readable buffer after a writable one', (d, desc) => (d.writeDesc(desc, 0, 0x8000, 1, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1), d.writeDesc(desc, 1, 0x8100, 16, 0, 0), 0), /readable buffer after a device-writable/],
    ['a request without a status byte', (d, desc) => (d.writeDesc(desc, 0, 0x8000, 16, 0, 0), 0), /no device-writable byte/],
  ];

  for (const [what, build, reason] of broken) {
    it(`enters NEEDS_RESET on ${what}, signals a config change, and recovers after reset`, async () => {
      const { driver, device } = setup();
      driver.init();
      rawChain(driver, (desc) => build(driver, desc));
      await settle(device);
      expect(device.status & STATUS_DEVICE_NEEDS_RESET).toBeTruthy();
      expect(device.brokenReason).toMatch(reason);
      expect(driver.transport.interrupts).toContainEqual({ kind: 'config' });
      expect(driver.usedIdx(0)).toBe(0);
      // Further notifications are ignored until reset.
      driver.submit(0, [{ out: header(BLK_T_IN, 0) }, { in: 513 }]);
      await settle(device);
      expect(driver.usedIdx(0)).toBe(0);
      const fresh = new TestDriver(driver.ram, device, driver.transport, 0x80000);
      fresh.init();
      const ok = fresh.submit(0, [{ out: header(BLK_T_IN, 0) }, { in: 513 }]);
      await settle(device);
      expect(statusOf(fresh, ok)).toBe(BLK_S_OK);
    });
  }

  it('enters NEEDS_RESET when the available index jumps by more than the queue size', async () => {
    const { driver, device } = setup();
    driver.init({ queueSize: 8 });
    driver.view.setUint16(driver.queues[0]!.avail + 2, 9, true);
    device.queueNotify(0);
    expect(device.brokenReason).toMatch(/jumped by 9/);
  });

  it('enters NEEDS_RESET when a head is re-posted while in flight', async () => {
    const { driver, device } = setup();
    driver.init();
    const r = driver.submit(0, [{ out: header(BLK_T_IN, 0) }, { in: 513 }], { kick: false });
    driver.postHead(0, r.head);
    device.queueNotify(0);
    await settle(device);
    expect(device.brokenReason).toMatch(/made available again while still in use/);
  });

  it('refuses a queue size that is not a power of two', () => {
    const { device } = setup();
    const q = device.queue(0)!;
    q.size = 100;
    device.enableQueue(0);
    expect(device.brokenReason).toMatch(/size 100 is not a power of two/);
  });
});

describe('virtio-blk reset and snapshots', () => {
  it('keeps status non-zero until in-flight requests drain, and drops their completions', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const mem = MemoryBlockDevice.create(64);
    const slow: BlockDevice = Object.assign(Object.create(mem), {
      readv: async (s: number, segs: Uint8Array[]) => {
        await gate;
        return mem.readv(s, segs);
      },
    });
    const { driver, device } = setup(slow);
    driver.init();
    const r = driver.submit(0, [{ out: header(BLK_T_IN, 0) }, { in: 513 }]);
    driver.ram[r.lastByte] = 0xee;
    device.writeStatus(0);
    expect(device.status).not.toBe(0);
    release();
    await settle(device);
    expect(device.status).toBe(0);
    expect(driver.usedIdx(0)).toBe(0);
    expect(driver.ram[r.lastByte]).toBe(0xee); // status byte untouched
  });

  it('saves and restores queue progress', async () => {
    const { driver, device } = setup();
    driver.init();
    driver.submit(0, [{ out: header(BLK_T_IN, 0) }, { in: 513 }]);
    await settle(device);
    const state = device.saveState();
    expect(JSON.parse(JSON.stringify(state))).toEqual(state);
    const other = new VirtioBlk(new IdentityDmaSpace(driver.ram), MemoryBlockDevice.create(2048), { log: () => {} });
    other.loadState(state);
    other.attachTransport(driver.transport);
    driver.submit(0, [{ out: header(BLK_T_IN, 0) }, { in: 513 }], { kick: false });
    other.queueNotify(0);
    await other.whenIdle();
    expect(driver.usedIdx(0)).toBe(2);
  });
});

