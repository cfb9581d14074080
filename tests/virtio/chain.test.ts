import { describe, expect, it } from 'vitest';
import { IdentityDmaSpace } from '../../src/devices/dma-space.ts';
import { ChainError, walkChain } from '../../src/devices/virtio/chain.ts';
import { VIRTQ_DESC_F_INDIRECT, VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE } from '../../src/devices/virtio/constants.ts';
import { SplitVirtqueue, VirtqueueError } from '../../src/devices/virtio/queue.ts';
import { sliceBuffers } from '../../src/devices/virtio/guest-buffers.ts';

const ram = new Uint8Array(1 << 16);
const dma = new IdentityDmaSpace(ram);
const dv = new DataView(ram.buffer);

function desc(table: number, i: number, addr: number, len: number, flags: number, next = 0): void {
  const at = table + i * 16;
  dv.setUint32(at, addr % 2 ** 32, true);
  dv.setUint32(at + 4, Math.floor(addr / 2 ** 32), true);
  dv.setUint32(at + 8, len, true);
  dv.setUint16(at + 12, flags, true);
  dv.setUint16(at + 14, next, true);
}

describe('descriptor chain walker', () => {
  it('collects readable then writable buffers, skipping empty ones', () => {
    ram.fill(0);
    desc(0, 3, 0x1000, 16, VIRTQ_DESC_F_NEXT, 7);
    desc(0, 7, 0x2000, 0, VIRTQ_DESC_F_NEXT, 1); // empty: ignored
    desc(0, 1, 0x3000, 512, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 2);
    desc(0, 2, 0x4000, 1, VIRTQ_DESC_F_WRITE);
    const c = walkChain(dma, { addr: 0, size: 8 }, 3, false);
    expect(c.readable).toEqual([{ addr: 0x1000, len: 16 }]);
    expect(c.writable).toEqual([
      { addr: 0x3000, len: 512 },
      { addr: 0x4000, len: 1 },
    ]);
    expect([c.readableLength, c.writableLength]).toEqual([16, 513]);
  });

  it('ignores WRITE on the descriptor that points at an indirect table', () => {
    ram.fill(0);
    desc(0x800, 0, 0x1000, 16, VIRTQ_DESC_F_NEXT, 1);
    desc(0x800, 1, 0x1100, 1, VIRTQ_DESC_F_WRITE);
    desc(0, 0, 0x800, 32, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_WRITE);
    const c = walkChain(dma, { addr: 0, size: 4 }, 0, true);
    expect(c.readable).toEqual([{ addr: 0x1000, len: 16 }]);
    expect(c.writable).toEqual([{ addr: 0x1100, len: 1 }]);
  });

  it('bounds an indirect chain by its own table: a loop inside it is caught', () => {
    ram.fill(0);
    desc(0x800, 0, 0x1000, 16, VIRTQ_DESC_F_NEXT, 1);
    desc(0x800, 1, 0x1000, 16, VIRTQ_DESC_F_NEXT, 0);
    desc(0, 0, 0x800, 32, VIRTQ_DESC_F_INDIRECT);
    expect(() => walkChain(dma, { addr: 0, size: 4 }, 0, true)).toThrow(ChainError);
  });

  it('refuses a descriptor table beyond RAM', () => {
    expect(() => walkChain(dma, { addr: ram.length - 8, size: 4 }, 0, true)).toThrow(/cannot read descriptor/);
  });

  it('slices a buffer list as a byte stream', () => {
    const bufs = [
      { addr: 100, len: 10 },
      { addr: 200, len: 5 },
      { addr: 300, len: 20 },
    ];
    expect(sliceBuffers(bufs, 8, 10)).toEqual([
      { addr: 108, len: 2 },
      { addr: 200, len: 5 },
      { addr: 300, len: 3 },
    ]);
  });
});

describe('split virtqueue rings', () => {
  it('implements vring_need_event for EVENT_IDX across index wrap-around', () => {
    ram.fill(0);
    const q = new SplitVirtqueue(0, 8, dma);
    q.driverAddr = 0x100;
    q.deviceAddr = 0x200;
    q.eventIdx = true;
    q.loadState({ ...q.saveState(), usedIdx: 0xfffe, signalledUsedIdx: 0xfffe });
    dv.setUint16(0x100 + 4 + 8 * 2, 0xffff, true); // used_event: notify once entry 0xffff is used
    q.pushUsed(1, 0);
    expect(q.needsNotification()).toBe(false); // idx 0xffff written, event is "passed 0xffff"
    q.pushUsed(2, 0);
    expect(dv.getUint16(0x202, true)).toBe(0); // wrapped
    expect(q.needsNotification()).toBe(true);
  });

  it('reports ring accesses outside RAM as VirtqueueError', () => {
    const q = new SplitVirtqueue(0, 8, dma);
    q.driverAddr = ram.length - 1;
    expect(() => q.pending()).toThrow(VirtqueueError);
  });

  it('refuses queue sizes that are not powers of two', () => {
    expect(() => new SplitVirtqueue(0, 12, dma)).toThrow(RangeError);
    const q = new SplitVirtqueue(0, 16, dma);
    q.size = 6;
    expect(q.enable()).toMatch(/not a power of two/);
    q.size = 4;
    expect(q.enable()).toBeNull();
  });
});
