// A minimal guest-side virtio driver for tests: negotiates features, lays out
// split rings in a RAM buffer, builds descriptor chains (direct or indirect),
// and reads completions back — all by plain memory access, as a guest would.

import { IdentityDmaSpace } from '../../src/devices/dma-space.ts';
import {
  F_EVENT_IDX,
  F_INDIRECT_DESC,
  F_VERSION_1,
  STATUS_ACKNOWLEDGE,
  STATUS_DRIVER,
  STATUS_DRIVER_OK,
  STATUS_FEATURES_OK,
  VIRTQ_DESC_F_INDIRECT,
  VIRTQ_DESC_F_NEXT,
  VIRTQ_DESC_F_WRITE,
  featureBit,
} from '../../src/devices/virtio/constants.ts';
import type { InterruptKind, VirtioDevice, VirtioTransport } from '../../src/devices/virtio/device.ts';

export class RecordingTransport implements VirtioTransport {
  readonly interrupts: Array<{ kind: InterruptKind; queue?: number }> = [];
  raiseInterrupt(kind: InterruptKind, queue?: number): void {
    this.interrupts.push(queue === undefined ? { kind } : { kind, queue });
  }
}

export interface QueueLayout {
  desc: number;
  avail: number;
  used: number;
  size: number;
}

export interface Segment {
  /** Bytes the device reads (data is copied into guest memory). */
  out?: Uint8Array;
  /** Bytes the device may write (a zeroed guest buffer of this length). */
  in?: number;
}

export interface Submitted {
  head: number;
  /** Guest addresses of each segment's buffer, in order. */
  addrs: number[];
  /** Address of the chain's last byte (virtio-blk's status byte). */
  lastByte: number;
}

export class TestDriver {
  readonly view: DataView;
  private next: number;
  readonly queues: QueueLayout[] = [];
  private availIdx: number[] = [];
  private usedSeen: number[] = [];
  private freeHeads: number[][] = [];
  /** Descriptors each outstanding chain occupies, returned to the free list when it is used. */
  private chainDescs: Array<Map<number, number[]>> = [];

  constructor(
    readonly ram: Uint8Array,
    readonly device: VirtioDevice,
    readonly transport = new RecordingTransport(),
    /** Allocation starts here (tests may reserve the bottom). */
    heapStart = 0x1000,
  ) {
    this.view = new DataView(ram.buffer, ram.byteOffset, ram.byteLength);
    this.next = heapStart;
    device.attachTransport(transport);
  }

  static ramWithDevice<D extends VirtioDevice>(size: number, make: (dma: IdentityDmaSpace) => D): { ram: Uint8Array; dma: IdentityDmaSpace; device: D } {
    const ram = new Uint8Array(size);
    const dma = new IdentityDmaSpace(ram);
    return { ram, dma, device: make(dma) };
  }

  alloc(bytes: number, align = 16): number {
    const at = Math.ceil(this.next / align) * align;
    this.next = at + bytes;
    if (this.next > this.ram.length) throw new Error('test RAM exhausted');
    return at;
  }

  /** Runs the §3.1 initialisation sequence; returns the device status afterwards. */
  init(options: { features?: bigint; queueSize?: number; queues?: number } = {}): number {
    const d = this.device;
    d.writeStatus(0);
    d.writeStatus(STATUS_ACKNOWLEDGE);
    d.writeStatus(STATUS_ACKNOWLEDGE | STATUS_DRIVER);
    const offered = BigInt(d.readDeviceFeatures(0)) | (BigInt(d.readDeviceFeatures(1)) << 32n);
    const wanted = options.features ?? offered;
    d.writeDriverFeatures(0, Number(wanted & 0xffffffffn));
    d.writeDriverFeatures(1, Number(wanted >> 32n));
    d.writeStatus(STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK);
    if (!(d.status & STATUS_FEATURES_OK)) return d.status;
    const count = options.queues ?? d.queues.length;
    for (let i = 0; i < count; i++) {
      const q = d.queue(i)!;
      const size = options.queueSize ?? q.maxSize;
      q.size = size;
      const layout = { desc: this.alloc(16 * size, 16), avail: this.alloc(6 + 2 * size, 2), used: this.alloc(6 + 8 * size, 4), size };
      q.descAddr = layout.desc;
      q.driverAddr = layout.avail;
      q.deviceAddr = layout.used;
      d.enableQueue(i);
      this.queues[i] = layout;
      this.availIdx[i] = 0;
      this.usedSeen[i] = 0;
      this.freeHeads[i] = Array.from({ length: size }, (_, k) => k);
      this.chainDescs[i] = new Map();
    }
    d.writeStatus(STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK | STATUS_DRIVER_OK);
    return d.status;
  }

  writeDesc(table: number, index: number, addr: number, len: number, flags: number, next: number): void {
    const at = table + index * 16;
    this.view.setUint32(at, addr % 2 ** 32, true);
    this.view.setUint32(at + 4, Math.floor(addr / 2 ** 32), true);
    this.view.setUint32(at + 8, len, true);
    this.view.setUint16(at + 12, flags, true);
    this.view.setUint16(at + 14, next, true);
  }

  /** Builds a chain from segments (direct descriptors, or one indirect table) and makes it available. */
  submit(q: number, segments: Segment[], options: { indirect?: boolean; kick?: boolean } = {}): Submitted {
    const layout = this.queues[q]!;
    const addrs = segments.map((s) => {
      const len = s.out ? s.out.length : (s.in ?? 0);
      const at = this.alloc(Math.max(len, 1), 8);
      if (s.out) this.ram.set(s.out, at);
      return at;
    });
    const flagsOf = (s: Segment) => (s.out ? 0 : VIRTQ_DESC_F_WRITE);
    const lenOf = (s: Segment) => (s.out ? s.out.length : (s.in ?? 0));
    let head: number;
    if (options.indirect) {
      const table = this.alloc(16 * segments.length, 16);
      segments.forEach((s, i) => {
        const last = i === segments.length - 1;
        this.writeDesc(table, i, addrs[i]!, lenOf(s), flagsOf(s) | (last ? 0 : VIRTQ_DESC_F_NEXT), last ? 0 : i + 1);
      });
      head = this.takeHeads(q, 1)[0]!;
      this.chainDescs[q]!.set(head, [head]);
      this.writeDesc(layout.desc, head, table, 16 * segments.length, VIRTQ_DESC_F_INDIRECT, 0);
    } else {
      const heads = this.takeHeads(q, segments.length);
      segments.forEach((s, i) => {
        const last = i === segments.length - 1;
        this.writeDesc(layout.desc, heads[i]!, addrs[i]!, lenOf(s), flagsOf(s) | (last ? 0 : VIRTQ_DESC_F_NEXT), last ? 0 : heads[i + 1]!);
      });
      head = heads[0]!;
      this.chainDescs[q]!.set(head, heads);
    }
    this.postHead(q, head);
    if (options.kick ?? true) this.device.queueNotify(q);
    const lastLen = lenOf(segments[segments.length - 1]!);
    return { head, addrs, lastByte: addrs[addrs.length - 1]! + Math.max(lastLen, 1) - 1 };
  }

  private takeHeads(q: number, n: number): number[] {
    const free = this.freeHeads[q]!;
    if (free.length < n) throw new Error('test driver ran out of descriptors');
    return free.splice(0, n);
  }

  /** Puts `head` in the available ring and bumps the index (no notification). */
  postHead(q: number, head: number): void {
    const layout = this.queues[q]!;
    const idx = this.availIdx[q]!;
    this.view.setUint16(layout.avail + 4 + (idx % layout.size) * 2, head, true);
    this.availIdx[q] = (idx + 1) & 0xffff;
    this.view.setUint16(layout.avail + 2, this.availIdx[q]!, true);
  }

  setAvailFlags(q: number, flags: number): void {
    this.view.setUint16(this.queues[q]!.avail, flags, true);
  }

  setUsedEvent(q: number, value: number): void {
    const l = this.queues[q]!;
    this.view.setUint16(l.avail + 4 + l.size * 2, value, true);
  }

  availEvent(q: number): number {
    const l = this.queues[q]!;
    return this.view.getUint16(l.used + 4 + l.size * 8, true);
  }

  usedIdx(q: number): number {
    return this.view.getUint16(this.queues[q]!.used + 2, true);
  }

  /** New used entries since the last call. */
  takeUsed(q: number): Array<{ id: number; len: number }> {
    const l = this.queues[q]!;
    const out: Array<{ id: number; len: number }> = [];
    const idx = this.usedIdx(q);
    while (this.usedSeen[q] !== idx) {
      const slot = this.usedSeen[q]! % l.size;
      const id = this.view.getUint32(l.used + 4 + slot * 8, true);
      out.push({ id, len: this.view.getUint32(l.used + 8 + slot * 8, true) });
      const descs = this.chainDescs[q]!.get(id);
      if (descs) {
        this.chainDescs[q]!.delete(id);
        this.freeHeads[q]!.push(...descs);
      }
      this.usedSeen[q] = (this.usedSeen[q]! + 1) & 0xffff;
    }
    return out;
  }
}

export const ALL_RING_FEATURES = featureBit(F_VERSION_1) | featureBit(F_INDIRECT_DESC) | featureBit(F_EVENT_IDX);
