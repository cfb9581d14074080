// virtio-blk when the disk itself fails (a full quota, an image server gone):
// with errorPolicy 'stop' the request is held, not failed; the machine is told
// once per episode; a FLUSH behind a held write is not acknowledged; retrying
// completes everything; a device reset lets go of held requests.
import { describe, expect, it } from 'vitest';
import { VirtioBlk, type VirtioBlkOptions } from '../../src/devices/virtio/blk.ts';
import { BLK_S_IOERR, BLK_S_OK, BLK_T_FLUSH, BLK_T_IN, BLK_T_OUT } from '../../src/devices/virtio/constants.ts';
import { TestDisk, firstDifference, sectors } from '../storage/fakes.ts';
import { TestDriver } from './driver.ts';

function header(type: number, sector = 0): Uint8Array {
  const h = new Uint8Array(16);
  new DataView(h.buffer).setUint32(0, type, true);
  new DataView(h.buffer).setUint32(8, sector, true);
  return h;
}

function setup(disk: TestDisk, options: VirtioBlkOptions = {}) {
  const held: Error[] = [];
  const made = TestDriver.ramWithDevice(1 << 20, (d) => new VirtioBlk(d, disk, { log: () => {}, onHold: (e) => held.push(e), ...options }));
  const driver = new TestDriver(made.ram, made.device);
  driver.init();
  return { driver, device: made.device, held };
}

/** Lets the disk's promises run (TestDisk completes on timers). */
const tick = (ms = 20) => new Promise((r) => setTimeout(r, ms));

describe("virtio-blk errorPolicy 'stop'", () => {
  it('holds a failed write and the flush behind it, then completes both on retry with the data durable', async () => {
    const disk = new TestDisk(256);
    const { driver, device, held } = setup(disk, { errorPolicy: 'stop' });
    disk.failWrites = 1;
    const data = sectors(8, 3);
    const w = driver.submit(0, [{ out: header(BLK_T_OUT, 32) }, { out: data }, { in: 1 }]);
    const f = driver.submit(0, [{ out: header(BLK_T_FLUSH) }, { in: 1 }]);
    await tick();
    expect(held).toHaveLength(1);
    expect(held[0]!.message).toMatch(/injected write failure/);
    expect(device.heldRequests).toBe(1);
    // Neither completed: the guest must not see the flush succeed over a write that is not stored.
    expect(driver.usedIdx(0)).toBe(0);
    expect(disk.log).not.toContain('flush');
    expect(device.inflightRequests).toBe(2);

    expect(device.retryHeld()).toBe(1);
    await device.whenIdle();
    expect(driver.usedIdx(0)).toBe(2);
    expect(driver.ram[w.lastByte]).toBe(BLK_S_OK);
    expect(driver.ram[f.lastByte]).toBe(BLK_S_OK);
    expect(firstDifference(disk.durable.subarray(32 * 512, 40 * 512), data)).toBeNull();
    expect(device.stats()).toMatchObject({ held: 1, ioErrors: 0 });
  });

  it('holds a failed flush and retries it; a second failure starts a new episode', async () => {
    const disk = new TestDisk(64);
    const { driver, device, held } = setup(disk, { errorPolicy: 'stop' });
    driver.submit(0, [{ out: header(BLK_T_OUT, 1) }, { out: sectors(1, 7) }, { in: 1 }]);
    await device.whenIdle();
    disk.failFlushes = 2;
    const f = driver.submit(0, [{ out: header(BLK_T_FLUSH) }, { in: 1 }]);
    await tick();
    expect(held).toHaveLength(1);
    device.retryHeld();
    await tick();
    expect(held).toHaveLength(2);
    expect(device.heldRequests).toBe(1);
    expect(firstDifference(disk.durable.subarray(512, 1024), new Uint8Array(512))).toBeNull(); // not durable yet
    device.retryHeld();
    await device.whenIdle();
    expect(driver.ram[f.lastByte]).toBe(BLK_S_OK);
    expect(firstDifference(disk.durable.subarray(512, 1024), sectors(1, 7))).toBeNull();
  });

  it('tells the machine once for several requests failing together', async () => {
    const disk = new TestDisk(64);
    const { driver, device, held } = setup(disk, { errorPolicy: 'stop' });
    disk.failReads = 3;
    const reads = [0, 8, 16].map((s) => driver.submit(0, [{ out: header(BLK_T_IN, s) }, { in: 512 }, { in: 1 }]));
    await tick();
    expect(held).toHaveLength(1);
    expect(device.heldRequests).toBe(3);
    device.retryHeld();
    await device.whenIdle();
    for (const r of reads) expect(driver.ram[r.lastByte]).toBe(BLK_S_OK);
  });

  it('abandons held requests when the driver resets the device, so the reset completes', async () => {
    const disk = new TestDisk(64);
    const { driver, device } = setup(disk, { errorPolicy: 'stop' });
    disk.failWrites = 1;
    driver.submit(0, [{ out: header(BLK_T_OUT, 0) }, { out: sectors(1, 1) }, { in: 1 }]);
    await tick();
    expect(device.heldRequests).toBe(1);
    device.writeStatus(0);
    await device.whenIdle();
    expect(device.status).toBe(0);
    expect(device.heldRequests).toBe(0);
    expect(driver.usedIdx(0)).toBe(0); // an abandoned request writes nothing into guest memory
  });
});

describe("virtio-blk errorPolicy 'report' (default)", () => {
  it('completes a failed request with IOERR and never holds', async () => {
    const disk = new TestDisk(64);
    const { driver, device, held } = setup(disk);
    disk.failWrites = 1;
    const w = driver.submit(0, [{ out: header(BLK_T_OUT, 0) }, { out: sectors(1, 1) }, { in: 1 }]);
    await device.whenIdle();
    expect(driver.ram[w.lastByte]).toBe(BLK_S_IOERR);
    expect(held).toHaveLength(0);
  });
});
