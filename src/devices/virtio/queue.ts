// Device side of one split virtqueue (virtio 1.2 §2.7). Every access to the
// descriptor table and the rings goes through the device's DmaSpace; driver
// mistakes surface as VirtqueueError/ChainError, which the device turns into
// DEVICE_NEEDS_RESET.

import { DmaFault, type DmaSpace } from '../dma-space.ts';
import { walkChain, type DescriptorChain } from './chain.ts';
import { MAX_QUEUE_SIZE, VIRTQ_AVAIL_F_NO_INTERRUPT } from './constants.ts';

export class VirtqueueError extends Error {
  override name = 'VirtqueueError';
}

/** Queue registers as the transport sees them, plus ring progress (for snapshots). */
export interface VirtqueueState {
  size: number;
  descAddr: number;
  driverAddr: number;
  deviceAddr: number;
  enabled: boolean;
  lastAvailIdx: number;
  usedIdx: number;
  signalledUsedIdx: number;
}

export class SplitVirtqueue {
  /** Set by the transport (queue_size); the device offers maxSize. */
  size: number;
  /** Descriptor area (queue_desc). */
  descAddr = 0;
  /** Driver area: the available ring (queue_driver). */
  driverAddr = 0;
  /** Device area: the used ring (queue_device). */
  deviceAddr = 0;
  private isEnabled = false;
  private lastAvailIdx = 0;
  private usedIdx = 0;
  /** used idx at the last notification decision (EVENT_IDX bookkeeping). */
  private signalledUsedIdx = 0;
  /** Negotiated features that change ring behaviour; set by the device at DRIVER_OK. */
  eventIdx = false;
  indirect = false;

  constructor(
    readonly index: number,
    readonly maxSize: number,
    private readonly dma: DmaSpace,
  ) {
    if (maxSize < 1 || maxSize > MAX_QUEUE_SIZE || (maxSize & (maxSize - 1)) !== 0) {
      throw new RangeError(`queue size ${maxSize} must be a power of two between 1 and ${MAX_QUEUE_SIZE}`);
    }
    this.size = maxSize;
  }

  get enabled(): boolean {
    return this.isEnabled;
  }

  /**
   * queue_enable written with 1. Returns a reason if the configuration is
   * unusable (the device then needs a reset), null if the queue is live.
   */
  enable(): string | null {
    if (this.size < 1 || this.size > this.maxSize || (this.size & (this.size - 1)) !== 0) {
      return `queue ${this.index}: size ${this.size} is not a power of two up to ${this.maxSize}`;
    }
    this.isEnabled = true;
    return null;
  }

  reset(): void {
    this.size = this.maxSize;
    this.descAddr = this.driverAddr = this.deviceAddr = 0;
    this.isEnabled = false;
    this.lastAvailIdx = this.usedIdx = this.signalledUsedIdx = 0;
    this.eventIdx = this.indirect = false;
  }

  /** Buffers the driver made available that the device has not taken yet. */
  pending(): number {
    const availIdx = this.guard('read the available ring index', () => this.dma.read16(this.driverAddr + 2));
    const n = (availIdx - this.lastAvailIdx) & 0xffff;
    if (n > this.size) {
      throw new VirtqueueError(`queue ${this.index}: available index jumped by ${n}, more than the queue size ${this.size}`);
    }
    return n;
  }

  /** Takes the next available chain head and walks its descriptors. */
  takeNext(): DescriptorChain {
    const slot = this.lastAvailIdx % this.size;
    const head = this.guard('read the available ring', () => this.dma.read16(this.driverAddr + 4 + slot * 2));
    this.lastAvailIdx = (this.lastAvailIdx + 1) & 0xffff;
    if (head >= this.size) throw new VirtqueueError(`queue ${this.index}: chain head ${head} is outside the descriptor table of ${this.size}`);
    return walkChain(this.dma, { addr: this.descAddr, size: this.size }, head, this.indirect);
  }

  /** Returns a finished chain to the driver: element first, then the index (the driver polls the index). */
  pushUsed(head: number, writtenLength: number): void {
    const slot = this.usedIdx % this.size;
    this.guard('write the used ring', () => {
      this.dma.write32(this.deviceAddr + 4 + slot * 8, head);
      this.dma.write32(this.deviceAddr + 4 + slot * 8 + 4, writtenLength >>> 0);
      this.usedIdx = (this.usedIdx + 1) & 0xffff;
      this.dma.write16(this.deviceAddr + 2, this.usedIdx);
    });
  }

  /**
   * Whether the driver wants a used-buffer notification for what was pushed
   * since the last decision (§2.7.10: used_event with EVENT_IDX, else the
   * NO_INTERRUPT flag).
   */
  needsNotification(): boolean {
    const newIdx = this.usedIdx;
    const oldIdx = this.signalledUsedIdx;
    this.signalledUsedIdx = newIdx;
    if (this.eventIdx) {
      const usedEvent = this.guard('read used_event', () => this.dma.read16(this.driverAddr + 4 + this.size * 2));
      return ((newIdx - usedEvent - 1) & 0xffff) < ((newIdx - oldIdx) & 0xffff);
    }
    const flags = this.guard('read the available ring flags', () => this.dma.read16(this.driverAddr));
    return (flags & VIRTQ_AVAIL_F_NO_INTERRUPT) === 0;
  }

  /** With EVENT_IDX: asks the driver to notify when it makes the next buffer available (avail_event). */
  publishAvailEvent(): void {
    if (!this.eventIdx) return;
    this.guard('write avail_event', () => this.dma.write16(this.deviceAddr + 4 + this.size * 8, this.lastAvailIdx));
  }

  saveState(): VirtqueueState {
    return {
      size: this.size,
      descAddr: this.descAddr,
      driverAddr: this.driverAddr,
      deviceAddr: this.deviceAddr,
      enabled: this.isEnabled,
      lastAvailIdx: this.lastAvailIdx,
      usedIdx: this.usedIdx,
      signalledUsedIdx: this.signalledUsedIdx,
    };
  }

  loadState(s: VirtqueueState): void {
    this.size = s.size;
    this.descAddr = s.descAddr;
    this.driverAddr = s.driverAddr;
    this.deviceAddr = s.deviceAddr;
    this.isEnabled = s.enabled;
    this.lastAvailIdx = s.lastAvailIdx;
    this.usedIdx = s.usedIdx;
    this.signalledUsedIdx = s.signalledUsedIdx;
  }

  private guard<T>(what: string, run: () => T): T {
    try {
      return run();
    } catch (e) {
      if (e instanceof DmaFault) throw new VirtqueueError(`queue ${this.index}: cannot ${what}: ${e.message}`);
      throw e;
    }
  }
}
