// The virtio 1.2 modern PCI transport on the PC board, driven as a guest
// driver would: PCI config space and capabilities, the BAR's common/ISR/
// device/notify regions, split rings in guest RAM, MSI-X and INTx.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Pc } from '../../src/machine/pc.ts';
import { MemoryBlockDevice } from '../../src/storage/backends/memory.ts';
import { FileBlockDevice } from '../../src/storage/backends/file.ts';
import { openNodeFile } from '../../src/storage/node.ts';
import type { BlockDevice } from '../../src/storage/block-device.ts';
import {
  BLK_F_FLUSH,
  BLK_S_OK,
  BLK_T_FLUSH,
  BLK_T_GET_ID,
  BLK_T_IN,
  BLK_T_OUT,
  F_VERSION_1,
  STATUS_ACKNOWLEDGE,
  STATUS_DEVICE_NEEDS_RESET,
  STATUS_DRIVER,
  STATUS_DRIVER_OK,
  STATUS_FEATURES_OK,
  featureBit,
} from '../../src/devices/virtio/constants.ts';
import {
  Common,
  ISR_CONFIG,
  ISR_QUEUE,
  VIRTIO_MSI_NO_VECTOR,
  VIRTIO_PCI_CAP_COMMON_CFG,
  VIRTIO_PCI_CAP_DEVICE_CFG,
  VIRTIO_PCI_CAP_ISR_CFG,
  VIRTIO_PCI_CAP_NOTIFY_CFG,
  VIRTIO_PCI_CAP_PCI_CFG,
} from '../../src/devices/virtio/pci-caps.ts';
import { BlkConfigOffset } from '../../src/devices/virtio/blk-config.ts';
import { PciVirtioDriver } from './pci-driver.ts';
import { pseudoRandomBytes } from '../support/pseudo-random.ts';

const SLOT = 3;
const MSI_ADDRESS = 0xfee00000;

function header(type: number, sector = 0): Uint8Array {
  const h = new Uint8Array(16);
  const dv = new DataView(h.buffer);
  dv.setUint32(0, type, true);
  dv.setUint32(8, sector, true);
  return h;
}

/** A disk whose requests wait until the test opens the gate. */
class GatedDisk implements BlockDevice {
  private gate: Promise<void> | null = null;
  private open: () => void = () => {};
  started = 0;
  constructor(readonly inner: BlockDevice) {}
  get name() { return `gated:${this.inner.name}`; }
  get capacity() { return this.inner.capacity; }
  get readOnly() { return this.inner.readOnly; }
  hold(): void {
    this.gate = new Promise((r) => (this.open = r));
  }
  release(): void {
    this.gate = null;
    this.open();
  }
  private async wait(): Promise<void> {
    this.started++;
    if (this.gate) await this.gate;
  }
  async readv(sector: number, segments: readonly Uint8Array[]) { await this.wait(); return this.inner.readv(sector, segments); }
  async writev(sector: number, segments: readonly Uint8Array[], o?: Parameters<BlockDevice['writev']>[2]) { await this.wait(); return this.inner.writev(sector, segments, o); }
  async flush() { await this.wait(); return this.inner.flush(); }
  async discard(sector: number, count: number) { await this.wait(); return this.inner.discard(sector, count); }
  stats() { return this.inner.stats(); }
  close() { return this.inner.close(); }
}

function board(disk: BlockDevice = MemoryBlockDevice.create(2048)) {
  const pc = new Pc({ memoryMiB: 16, clock: 'deterministic' });
  const fn = pc.attachDisk(disk, { log: () => {} });
  const drv = new PciVirtioDriver(pc, SLOT);
  return { pc, fn, drv, blk: pc.disks[0]!.blk };
}

describe('virtio-pci: identity and capabilities', () => {
  it('is a non-transitional virtio 1.2 block function at 00:03.0 with the five capabilities and MSI-X', () => {
    const { drv, pc } = board();
    expect(drv.cfgRead(0x00, 2)).toBe(0x1af4);
    expect(drv.cfgRead(0x02, 2)).toBe(0x1042);
    expect(drv.cfgRead(0x08, 1)).toBe(1); // revision 1: modern only
    expect(drv.cfgRead(0x08, 4) >>> 8).toBe(0x010000);
    expect(drv.cfgRead(0x2c, 2)).toBe(0x1af4);
    expect(drv.cfgRead(0x2e, 2)).toBe(0x1100);
    expect(drv.cfgRead(0x3d, 1)).toBe(1); // INTA#
    expect(drv.cfgRead(0x3c, 1)).toBe(11); // slot 3 INTA# → PIRQD → IRQ 11 (firmware routing)
    expect(drv.cfgRead(0x06, 2) & 0x10).toBe(0x10); // capability list
    // No I/O BAR (no legacy interface); one 16 KiB 32-bit memory BAR.
    for (let bar = 1; bar < 6; bar++) expect(drv.cfgRead(0x10 + bar * 4, 4)).toBe(0);
    const base = drv.barBase(0);
    expect(base).toBe(0xe000_0000);
    expect(drv.cfgRead(0x04, 2) & 0x6).toBe(0x6); // firmware enabled memory decoding and bus mastering

    const caps = drv.caps;
    expect(caps.get(VIRTIO_PCI_CAP_COMMON_CFG)).toMatchObject({ bar: 0, offset: 0, length: 0x3c });
    expect(caps.get(VIRTIO_PCI_CAP_NOTIFY_CFG)).toMatchObject({ bar: 0, offset: 0x2000, length: 4 });
    expect(drv.notifyMultiplier).toBe(4);
    expect(caps.get(VIRTIO_PCI_CAP_ISR_CFG)).toMatchObject({ bar: 0, offset: 0x800 });
    expect(caps.get(VIRTIO_PCI_CAP_DEVICE_CFG)).toMatchObject({ bar: 0, offset: 0x1000, length: 96 });
    expect(caps.has(VIRTIO_PCI_CAP_PCI_CFG)).toBe(true);
    for (const cap of caps.values()) expect(drv.cfgRead(cap.at + 2, 1)).toBeGreaterThanOrEqual(16); // cap_len

    const msix = drv.findCapability(0x11);
    expect(msix).not.toBe(0);
    expect((drv.cfgRead(msix + 2, 2) & 0x7ff) + 1).toBe(2); // config vector + one per queue
    expect(drv.cfgRead(msix + 4, 4)).toBe(0x3000); // table: BAR0 + 0x3000
    expect(drv.cfgRead(msix + 8, 4)).toBe(0x3800); // PBA: BAR0 + 0x3800

    // BAR sizing, then back where the firmware put it.
    drv.cfgWrite(0x10, 4, 0xffffffff);
    expect(drv.cfgRead(0x10, 4)).toBe(0xffffc000);
    drv.cfgWrite(0x10, 4, base);
    expect(drv.common(Common.numQueues, 2)).toBe(1);
    expect(pc.machine.bus.isMmio(base + 0x3fff)).toBe(true);
  });

  it('puts each further disk in its own slot and BAR', () => {
    const pc = new Pc({ memoryMiB: 16, clock: 'deterministic' });
    pc.attachDisk(MemoryBlockDevice.create(8), { log: () => {} });
    pc.attachDisk(MemoryBlockDevice.create(16), { log: () => {} });
    const a = new PciVirtioDriver(pc, 3);
    const b = new PciVirtioDriver(pc, 4);
    expect(b.cfgRead(0x02, 2)).toBe(0x1042);
    expect(a.barBase(0)).not.toBe(b.barBase(0));
    expect(a.deviceConfig(BlkConfigOffset.capacity, 4)).toBe(8);
    expect(b.deviceConfig(BlkConfigOffset.capacity, 4)).toBe(16);
    expect(b.cfgRead(0x3c, 1)).toBe(10); // slot 4 INTA# → PIRQA → IRQ 10
  });

  it('refuses disks once the machine has run', () => {
    const pc = new Pc({ memoryMiB: 16, clock: 'deterministic' });
    pc.machine.cpu.addInstructions(1);
    expect(() => pc.attachDisk(MemoryBlockDevice.create(8))).toThrow(/before the machine starts/);
  });
});

describe('virtio-pci: feature negotiation and queue setup', () => {
  it('offers VERSION_1 and accepts the offered features', () => {
    const { drv, blk } = board();
    const offered = drv.deviceFeatures();
    expect(offered & featureBit(F_VERSION_1)).not.toBe(0n);
    expect(offered).toBe(blk.offered);
    drv.setCommon(Common.deviceFeatureSelect, 4, 2);
    expect(drv.common(Common.deviceFeature, 4)).toBe(0);
    expect(drv.init() & STATUS_DRIVER_OK).toBeTruthy();
    expect(blk.negotiated).toBe(offered);
    drv.setCommon(Common.driverFeatureSelect, 4, 0);
    expect(drv.common(Common.driverFeature, 4)).toBe(Number(offered & 0xffffffffn));
  });

  it('refuses FEATURES_OK to a driver without VIRTIO_F_VERSION_1 (legacy) or with unoffered features', () => {
    const { drv } = board();
    expect(drv.init({ features: (f) => f & ~featureBit(F_VERSION_1) }) & STATUS_FEATURES_OK).toBe(0);
    expect(drv.init({ features: (f) => f | featureBit(40) }) & STATUS_FEATURES_OK).toBe(0);
    expect(drv.init() & STATUS_FEATURES_OK).toBeTruthy();
  });

  it('ignores driver features written after FEATURES_OK', () => {
    const { drv, blk } = board();
    drv.init({ features: (f) => f & ~featureBit(BLK_F_FLUSH) });
    drv.setDriverFeatures(blk.offered);
    expect(blk.negotiated & featureBit(BLK_F_FLUSH)).toBe(0n);
  });

  it('has queue registers with the 1.2 semantics', () => {
    const { drv, blk } = board();
    drv.enableFunction();
    drv.setStatus(STATUS_ACKNOWLEDGE | STATUS_DRIVER);
    drv.setCommon(Common.queueSelect, 2, 0);
    expect(drv.common(Common.queueSize, 2)).toBe(256); // the maximum on reset
    expect(drv.common(Common.queueEnable, 2)).toBe(0);
    expect(drv.common(Common.queueNotifyOff, 2)).toBe(0);
    expect(drv.common(Common.queueMsixVector, 2)).toBe(VIRTIO_MSI_NO_VECTOR);
    drv.setCommon(Common.queueSize, 2, 100); // not a power of two: ignored
    expect(drv.common(Common.queueSize, 2)).toBe(256);
    drv.setCommon(Common.queueSize, 2, 512); // above the maximum: ignored
    expect(drv.common(Common.queueSize, 2)).toBe(256);
    drv.setCommon(Common.queueSize, 2, 64);
    expect(drv.common(Common.queueSize, 2)).toBe(64);
    drv.setCommon(Common.queueDescLo, 4, 0x12340);
    drv.setCommon(Common.queueDescHi, 4, 0);
    drv.setCommon(Common.queueDriverLo, 4, 0x22000);
    drv.setCommon(Common.queueDeviceLo, 4, 0x23000);
    expect(drv.common(Common.queueDescLo, 4)).toBe(0x12340);
    expect(drv.common(Common.queueDriverLo, 4)).toBe(0x22000);
    expect(drv.common(Common.queueDeviceLo, 4)).toBe(0x23000);
    drv.setCommon(Common.queueDeviceHi, 4, 1);
    expect(drv.common(Common.queueDeviceHi, 4)).toBe(1);
    expect(blk.queue(0)!.deviceAddr).toBe(2 ** 32 + 0x23000);
    drv.setCommon(Common.queueDeviceHi, 4, 0);
    drv.setCommon(Common.queueEnable, 2, 1);
    expect(drv.common(Common.queueEnable, 2)).toBe(1);
    // A live queue's size and addresses stay as they were.
    drv.setCommon(Common.queueSize, 2, 32);
    drv.setCommon(Common.queueDescLo, 4, 0x40000);
    expect(drv.common(Common.queueSize, 2)).toBe(64);
    expect(drv.common(Common.queueDescLo, 4)).toBe(0x12340);
    // A queue that does not exist: size 0, everything reads 0, writes go nowhere.
    drv.setCommon(Common.queueSelect, 2, 1);
    expect(drv.common(Common.queueSelect, 2)).toBe(1);
    expect(drv.common(Common.queueSize, 2)).toBe(0);
    drv.setCommon(Common.queueEnable, 2, 1);
    expect(drv.common(Common.queueEnable, 2)).toBe(0);
    expect(drv.common(Common.queueReset, 2)).toBe(0);
  });

  it('reads the device configuration through the DEVICE_CFG region', () => {
    const { drv } = board(MemoryBlockDevice.create(5000));
    expect(drv.deviceConfig(BlkConfigOffset.capacity, 4)).toBe(5000);
    expect(drv.deviceConfig(BlkConfigOffset.capacity + 4, 4)).toBe(0);
    expect(drv.deviceConfig(BlkConfigOffset.blkSize, 4)).toBe(512);
    expect(drv.deviceConfig(BlkConfigOffset.capacity, 1)).toBe(5000 & 0xff);
    expect(drv.common(Common.configGeneration, 1)).toBe(0);
  });
});

describe('virtio-pci: requests through a real host file', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ts86-vpci-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes, flushes (fsync) and reads back, and GET_ID returns the serial', async () => {
    const path = join(dir, 'disk.img');
    const initial = pseudoRandomBytes(256 * 512, 1);
    writeFileSync(path, initial);
    const raw = await openNodeFile(path);
    let fsyncs = 0;
    const file = { ...raw, flush: async () => { fsyncs++; await raw.flush(); } };
    const disk = await FileBlockDevice.open(file);
    const { pc, drv } = board(disk);
    expect(drv.init() & STATUS_DRIVER_OK).toBeTruthy();
    expect(drv.deviceConfig(BlkConfigOffset.capacity, 4)).toBe(256);

    const data = pseudoRandomBytes(8 * 512, 2);
    const w = drv.submit(0, [{ out: header(BLK_T_OUT, 10) }, { out: data }, { in: 1 }]);
    await pc.disksIdle();
    expect(drv.ram[w.lastByte]).toBe(BLK_S_OK);
    const f = drv.submit(0, [{ out: header(BLK_T_FLUSH) }, { in: 1 }]);
    await pc.disksIdle();
    expect(drv.ram[f.lastByte]).toBe(BLK_S_OK);
    expect(fsyncs).toBeGreaterThan(0);
    // The host file has the guest's bytes where it put them and nothing else changed.
    const expected = initial.slice();
    expected.set(data, 10 * 512);
    expect(Buffer.compare(readFileSync(path), Buffer.from(expected))).toBe(0);

    const r = drv.submit(0, [{ out: header(BLK_T_IN, 8) }, { in: 12 * 512 }, { in: 1 }]);
    await pc.disksIdle();
    expect(drv.ram[r.lastByte]).toBe(BLK_S_OK);
    expect(Buffer.compare(Buffer.from(drv.ram.subarray(r.addrs[1]!, r.addrs[1]! + 12 * 512)), Buffer.from(expected.subarray(8 * 512, 20 * 512)))).toBe(0);

    const id = drv.submit(0, [{ out: header(BLK_T_GET_ID) }, { in: 20 }, { in: 1 }]);
    await pc.disksIdle();
    expect(new TextDecoder().decode(drv.ram.subarray(id.addrs[1]!, id.addrs[1]! + 10))).toBe('ts86-disk0');

    const used = drv.takeUsed(0).map((u) => u.id);
    expect(used).toEqual([w.head, f.head, r.head, id.head]);
    await disk.close();
  });
});

describe('virtio-pci: interrupts', () => {
  function enableMsix(drv: PciVirtioDriver, vectors: number[]): void {
    const cap = drv.findCapability(0x11);
    const table = drv.barBase(0) + 0x3000;
    vectors.forEach((v, i) => {
      drv.mmioWrite(table + i * 16, 4, MSI_ADDRESS);
      drv.mmioWrite(table + i * 16 + 4, 4, 0);
      drv.mmioWrite(table + i * 16 + 8, 4, v);
      drv.mmioWrite(table + i * 16 + 12, 4, 0); // unmask
    });
    drv.cfgWrite(cap + 2, 2, 0x8000);
  }

  it('signals a used buffer on the queue MSI-X vector, never INTx, and wakes the host', async () => {
    const { pc, drv } = board();
    const msi = vi.spyOn(pc.lapic, 'deliverMsi');
    const irq = vi.spyOn(pc.irqs, 'setIrq');
    const wake = vi.fn();
    pc.wakeHost = wake;
    enableMsix(drv, [0x41, 0x42]);
    expect(drv.init({ vectors: { config: 0, queue: [1] } }) & STATUS_DRIVER_OK).toBeTruthy();
    drv.setCommon(Common.queueSelect, 2, 0);
    expect(drv.common(Common.queueMsixVector, 2)).toBe(1);
    expect(drv.common(Common.msixConfig, 2)).toBe(0);
    drv.submit(0, [{ out: header(BLK_T_IN, 0) }, { in: 512 }, { in: 1 }]);
    await pc.disksIdle();
    expect(msi).toHaveBeenCalledWith(MSI_ADDRESS, 0x42);
    expect(irq.mock.calls.filter(([line]) => line === 11)).toEqual([]);
    expect(wake).toHaveBeenCalled();
    expect(drv.readIsr()).toBe(0); // queue interrupts do not touch the ISR under MSI-X
  });

  it('reads back NO_VECTOR for a vector the table does not have', () => {
    const { drv } = board();
    drv.init();
    drv.setCommon(Common.msixConfig, 2, 2);
    expect(drv.common(Common.msixConfig, 2)).toBe(VIRTIO_MSI_NO_VECTOR);
    drv.setCommon(Common.queueSelect, 2, 0);
    drv.setCommon(Common.queueMsixVector, 2, 7);
    expect(drv.common(Common.queueMsixVector, 2)).toBe(VIRTIO_MSI_NO_VECTOR);
    drv.setCommon(Common.queueMsixVector, 2, 1);
    expect(drv.common(Common.queueMsixVector, 2)).toBe(1);
  });

  it('holds a masked vector pending and delivers it on unmask', async () => {
    const { pc, drv } = board();
    const msi = vi.spyOn(pc.lapic, 'deliverMsi');
    enableMsix(drv, [0x41, 0x42]);
    const table = drv.barBase(0) + 0x3000;
    drv.mmioWrite(table + 16 + 12, 4, 1); // mask vector 1
    drv.init({ vectors: { config: 0, queue: [1] } });
    drv.submit(0, [{ out: header(BLK_T_IN, 0) }, { in: 512 }, { in: 1 }]);
    await pc.disksIdle();
    expect(msi).not.toHaveBeenCalled();
    expect(drv.mmioRead(drv.barBase(0) + 0x3800, 4)).toBe(0b10);
    drv.mmioWrite(table + 16 + 12, 4, 0);
    expect(msi).toHaveBeenCalledWith(MSI_ADDRESS, 0x42);
    expect(drv.mmioRead(drv.barBase(0) + 0x3800, 4)).toBe(0);
  });

  it('signals a configuration change (NEEDS_RESET) on the config vector and in the ISR', async () => {
    const { pc, drv } = board();
    const msi = vi.spyOn(pc.lapic, 'deliverMsi');
    enableMsix(drv, [0x41, 0x42]);
    drv.init({ vectors: { config: 0, queue: [1] } });
    // A driver bug the device cannot survive: the available index runs ahead by more than the queue size.
    drv.view.setUint16(drv.rings[0]!.avail + 2, 1000, true);
    drv.kick(0);
    expect(drv.status() & STATUS_DEVICE_NEEDS_RESET).toBeTruthy();
    expect(msi).toHaveBeenCalledWith(MSI_ADDRESS, 0x41);
    expect(drv.common(Common.configGeneration, 1)).toBe(1);
    expect(drv.readIsr()).toBe(ISR_CONFIG);
    await pc.disksIdle();
  });

  it('uses INTA# through the PIRQ routing without MSI-X; reading the ISR clears it and releases the line', async () => {
    const { pc, drv } = board();
    const levels: boolean[] = [];
    const irq = vi.spyOn(pc.irqs, 'setIrq').mockImplementation(function (this: unknown, line: number, level: boolean) {
      if (line === 11) levels.push(level);
    });
    const msi = vi.spyOn(pc.lapic, 'deliverMsi');
    drv.init();
    drv.submit(0, [{ out: header(BLK_T_IN, 0) }, { in: 512 }, { in: 1 }]);
    await pc.disksIdle();
    expect(levels).toEqual([true]);
    expect(drv.cfgRead(0x06, 2) & 0x8).toBe(0x8); // PCI status: interrupt pending
    expect(drv.readIsr()).toBe(ISR_QUEUE);
    expect(levels).toEqual([true, false]);
    expect(drv.cfgRead(0x06, 2) & 0x8).toBe(0);
    expect(drv.readIsr()).toBe(0);
    expect(msi).not.toHaveBeenCalled();
    irq.mockRestore();
  });

  it('respects INTx disable in the command register', async () => {
    const { pc, drv } = board();
    drv.init();
    drv.cfgWrite(0x04, 2, drv.cfgRead(0x04, 2) | 0x400);
    drv.submit(0, [{ out: header(BLK_T_IN, 0) }, { in: 512 }, { in: 1 }]);
    await pc.disksIdle();
    expect(pc.pci.pirqAsserted[3]).toBe(0);
    expect(drv.cfgRead(0x06, 2) & 0x8).toBe(0x8); // still reported in the status register
    drv.cfgWrite(0x04, 2, drv.cfgRead(0x04, 2) & ~0x400);
    expect(pc.pci.pirqAsserted[3]).toBe(1);
    drv.readIsr();
    expect(pc.pci.pirqAsserted[3]).toBe(0);
  });

  it('drops INTx when the driver switches to MSI-X', async () => {
    const { pc, drv } = board();
    drv.init();
    drv.submit(0, [{ out: header(BLK_T_IN, 0) }, { in: 512 }, { in: 1 }]);
    await pc.disksIdle();
    expect(pc.pci.pirqAsserted[3]).toBe(1);
    enableMsix(drv, [0x41, 0x42]);
    expect(pc.pci.pirqAsserted[3]).toBe(0);
  });
});

describe('virtio-pci: reset', () => {
  it('completes a reset only after in-flight requests settle, and never touches the rings for them', async () => {
    const gated = new GatedDisk(MemoryBlockDevice.create(64));
    const { pc, drv, blk } = board(gated);
    drv.init();
    gated.hold();
    drv.submit(0, [{ out: header(BLK_T_IN, 0) }, { in: 4096 }, { in: 1 }]);
    drv.submit(0, [{ out: header(BLK_T_OUT, 8) }, { out: new Uint8Array(512).fill(7) }, { in: 1 }]);
    await new Promise((r) => setImmediate(r));
    expect(gated.started).toBe(2);
    expect(blk.inflightRequests).toBe(2);
    drv.setStatus(0);
    // The driver must wait for status 0: it is not 0 while requests are in flight.
    expect(drv.status()).not.toBe(0);
    // Writes other than 0 are ignored meanwhile.
    drv.setStatus(STATUS_ACKNOWLEDGE);
    expect(drv.status() & STATUS_DRIVER_OK).toBeTruthy();
    gated.release();
    await pc.disksIdle();
    expect(drv.status()).toBe(0);
    expect(drv.usedIdx(0)).toBe(0);
    drv.setCommon(Common.queueSelect, 2, 0);
    expect(drv.common(Common.queueEnable, 2)).toBe(0);
    expect(drv.common(Common.queueSize, 2)).toBe(256);
    expect(drv.common(Common.queueDescLo, 4)).toBe(0);
    expect(drv.common(Common.msixConfig, 2)).toBe(VIRTIO_MSI_NO_VECTOR);
    expect(drv.common(Common.queueMsixVector, 2)).toBe(VIRTIO_MSI_NO_VECTOR);
    expect(drv.readIsr()).toBe(0);
    // The device works again after a fresh initialisation.
    expect(drv.init() & STATUS_DRIVER_OK).toBeTruthy();
    const r = drv.submit(0, [{ out: header(BLK_T_IN, 8) }, { in: 512 }, { in: 1 }]);
    await pc.disksIdle();
    expect(drv.ram[r.lastByte]).toBe(BLK_S_OK);
    expect(drv.ram[r.addrs[1]!]).toBe(7); // the write before the reset was carried out (it had reached the disk)
  });

  it('a machine reset puts the function and the device back to power-on state', async () => {
    const { pc, drv } = board();
    drv.init();
    const cap = drv.findCapability(0x11);
    drv.cfgWrite(cap + 2, 2, 0x8000);
    pc.machine.reset();
    expect(drv.status()).toBe(0);
    expect(drv.cfgRead(cap + 2, 2) & 0x8000).toBe(0);
    expect(drv.barBase(0)).toBe(0xe000_0000); // placed again by the firmware
    expect(drv.init() & STATUS_DRIVER_OK).toBeTruthy();
  });
});

describe('virtio-pci: malformed accesses', () => {
  it('reads zero and ignores writes for wrong widths, gaps and read-only fields', () => {
    const { drv, pc } = board();
    drv.init();
    const base = drv.barBase(0);
    expect(drv.mmioRead(base + Common.numQueues, 4)).toBe(0); // 16-bit field read as 32
    expect(drv.mmioRead(base + Common.deviceFeature, 2)).toBe(0);
    expect(drv.mmioRead(base + Common.deviceStatus, 2)).toBe(0);
    expect(drv.mmioRead(base + 0x13, 1)).toBe(0); // inside a field
    drv.mmioWrite(base + Common.deviceStatus, 4, 0); // not a reset: wrong width
    expect(drv.status() & STATUS_DRIVER_OK).toBeTruthy();
    drv.mmioWrite(base + Common.numQueues, 2, 9);
    expect(drv.common(Common.numQueues, 2)).toBe(1);
    drv.mmioWrite(base + Common.queueSelect, 1, 5); // byte write of a 16-bit field
    expect(drv.common(Common.queueSelect, 2)).toBe(0);
    expect(drv.mmioRead(base + 0x500, 4)).toBe(0); // gap
    expect(drv.mmioRead(base + 0x801, 1)).toBe(0); // beyond the ISR byte
    expect(drv.mmioRead(base + 0x1000 + 94, 4)).toBe(0); // runs past the device config
    drv.mmioWrite(base + 0x2002, 2, 0); // notify at a misaligned offset
    drv.mmioWrite(base + 0x2000, 1, 0); // byte-wide notify
    expect(pc.disks[0]!.pci.counters.notifies).toBe(0);
  });

  it('survives random BAR and config-space traffic mixed with real requests, and works again after a reset', async () => {
    const { drv, pc, fn, blk } = board();
    let s = 12345;
    const rnd = (n: number) => {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      return (s >>> 8) % n;
    };
    const sizes = [1, 2, 4] as const;
    const fields = [...Array(0x3c).keys()];
    const interesting = [0, 1, 2, 3, 4, 7, 8, 0xf, 0x40, 0x80, 0xff, 0x100, 0xffff, 0x10000, 0xffffffff, 0x20_0000];
    const value = () => (rnd(2) ? interesting[rnd(interesting.length)]! : (Math.imul(s, 2654435761) >>> 0));
    let okRequests = 0;
    for (let round = 0; round < 40; round++) {
      if (rnd(3) === 0) drv.init({ queueSize: 1 << (1 + rnd(8)) });
      for (let i = 0; i < 500; i++) {
        const size = sizes[rnd(3)]!;
        const base = fn.mappedAt[0]! >= 0 ? fn.mappedAt[0]! : 0xe000_0000;
        switch (rnd(10)) {
          case 0: pc.machine.bus.mmioRead(base + fields[rnd(fields.length)]!, size); break;
          case 1: case 2: pc.machine.bus.mmioWrite(base + fields[rnd(fields.length)]!, size, value()); break;
          case 3: pc.machine.bus.mmioWrite(base + 0x2000 + rnd(8), size, value()); break; // notify
          case 4: pc.machine.bus.mmioRead(base + 0x800 + rnd(8), size); break; // ISR
          case 5: pc.machine.bus.mmioWrite(base + rnd(0x4000), size, value()); break;
          case 6: fn.writeConfig(0x40 + rnd(0xc0), 1, value() & 0xff); break; // capabilities, PCI_CFG window, MSI-X control
          case 7: fn.readConfig(rnd(0x100) & ~(size - 1), size); break;
          case 8: {
            // Garbage in the rings the driver set up.
            const l = drv.rings[0];
            if (l) drv.view.setUint16([l.avail + 2, l.desc + 16 * rnd(l.size) + 8, l.desc + 16 * rnd(l.size) + 12][rnd(3)]!, value() & 0xffff, true);
            break;
          }
          default:
            if (drv.rings[0] && drv.status() & STATUS_DRIVER_OK) {
              drv.submit(0, [{ out: header(rnd(2) ? BLK_T_IN : BLK_T_OUT, rnd(2048)) }, rnd(2) ? { in: 512 } : { out: new Uint8Array(512) }, { in: 1 }]);
            }
        }
      }
      await pc.disksIdle();
      okRequests = blk.stats().requests;
    }
    expect(fn.counters.notifies).toBeGreaterThan(100);
    expect(okRequests).toBeGreaterThan(50);
    pc.machine.reset();
    await pc.disksIdle();
    const again = new PciVirtioDriver(pc, SLOT, 0x80_0000);
    expect(again.init() & STATUS_DRIVER_OK).toBeTruthy();
    const r = again.submit(0, [{ out: header(BLK_T_IN, 0) }, { in: 512 }, { in: 1 }]);
    await pc.disksIdle();
    expect(again.ram[r.lastByte]).toBe(BLK_S_OK);
  });
});

describe('virtio-pci: the PCI_CFG access capability', () => {
  it('reads and writes the BAR through config space, including the read-to-clear ISR', async () => {
    const { pc, drv } = board();
    expect(drv.cfgWindowRead(0, Common.numQueues, 2)).toBe(1);
    expect(drv.cfgWindowRead(0, Common.deviceFeature, 4)).toBe(Number(pc.disks[0]!.blk.offered & 0xffffffffn));
    drv.cfgWindowWrite(0, Common.deviceStatus, 1, STATUS_ACKNOWLEDGE);
    expect(drv.status()).toBe(STATUS_ACKNOWLEDGE);
    drv.cfgWindowWrite(0, Common.deviceStatus, 1, 0);
    drv.init();
    drv.submit(0, [{ out: header(BLK_T_IN, 0) }, { in: 512 }, { in: 1 }]);
    await pc.disksIdle();
    expect(drv.cfgWindowRead(0, 0x800, 1)).toBe(ISR_QUEUE);
    expect(drv.readIsr()).toBe(0);
    // Invalid windows do nothing: a length of 3, a misaligned offset, another BAR.
    drv.cfgWindowWrite(0, Common.deviceStatus, 3 as 1, 0);
    drv.cfgWindowWrite(0, Common.queueSelect + 1, 2, 0);
    drv.cfgWindowWrite(2, Common.deviceStatus, 1, 0);
    expect(drv.status() & STATUS_DRIVER_OK).toBeTruthy();
  });
});
