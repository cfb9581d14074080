// Device-side virtio core shared by every virtio device: status and feature
// negotiation, the virtqueues, reset, NEEDS_RESET, and the small interface a
// transport (virtio-pci, written separately) plugs into:
//
//   transport → device: readDeviceFeatures / writeDriverFeatures, status /
//     writeStatus, queue(i) registers + enableQueue(i), queueNotify(i),
//     readConfig / writeConfig, configGeneration
//   device → transport: VirtioTransport.raiseInterrupt('queue', i) for used
//     buffers, raiseInterrupt('config') for configuration changes.

import type { DmaSpace } from '../dma-space.ts';
import {
  F_EVENT_IDX,
  F_INDIRECT_DESC,
  F_VERSION_1,
  STATUS_DEVICE_NEEDS_RESET,
  STATUS_DRIVER_OK,
  STATUS_FEATURES_OK,
  featureBit,
} from './constants.ts';
import { SplitVirtqueue, type VirtqueueState } from './queue.ts';
import type { DescriptorChain } from './chain.ts';

export type InterruptKind = 'queue' | 'config';

export interface VirtioTransport {
  /** A used-buffer notification for queue `queue`, or a configuration change notification. */
  raiseInterrupt(kind: InterruptKind, queue?: number): void;
}

export interface VirtioDeviceState {
  status: number;
  driverFeatures: string;
  configGeneration: number;
  queues: VirtqueueState[];
  device: unknown;
}

export abstract class VirtioDevice {
  readonly queues: readonly SplitVirtqueue[];
  /** Bumped whenever device configuration changes (the transport exposes it as config_generation). */
  configGeneration = 0;
  private transport: VirtioTransport | null = null;
  private deviceStatus = 0;
  private driverFeatureBits = 0n;
  private driverLow = 0;
  private driverHigh = 0;
  /** Requests started and not yet completed. */
  private inflight = 0;
  private idleWaiters: Array<() => void> = [];
  private resetPending = false;
  /**
   * Incremented by every reset: completions that belong to an earlier
   * generation must not touch guest memory (the driver owns the rings again).
   */
  protected generation = 0;
  /** Why the device stopped (NEEDS_RESET), for logs and tests. */
  brokenReason: string | null = null;

  protected constructor(
    readonly deviceId: number,
    protected readonly dma: DmaSpace,
    numQueues: number,
    queueSize: number,
    /** Device-specific features; VERSION_1, INDIRECT_DESC and EVENT_IDX are added. */
    deviceFeatures: bigint,
    protected readonly log: (message: string) => void,
  ) {
    this.queues = Array.from({ length: numQueues }, (_, i) => new SplitVirtqueue(i, queueSize, dma));
    this.offered = deviceFeatures | featureBit(F_VERSION_1) | featureBit(F_INDIRECT_DESC) | featureBit(F_EVENT_IDX);
  }

  readonly offered: bigint;

  attachTransport(transport: VirtioTransport): void {
    this.transport = transport;
  }

  // ---- features ----------------------------------------------------------------

  /** device_feature for device_feature_select = `select` (32-bit windows). */
  readDeviceFeatures(select: number): number {
    return window32(this.offered, select);
  }

  /** driver_feature for driver_feature_select = `select`. Ignored once FEATURES_OK is set. */
  writeDriverFeatures(select: number, value: number): void {
    if (this.deviceStatus & STATUS_FEATURES_OK || select < 0 || select > 1) return;
    const shift = BigInt(select * 32);
    const mask = 0xffffffffn << shift;
    this.setDriverFeatures((this.driverFeatureBits & ~mask) | (BigInt(value >>> 0) << shift));
  }

  readDriverFeatures(select: number): number {
    return window32(this.driverFeatureBits, select);
  }

  /** The features the driver accepted (valid once FEATURES_OK is set). */
  get negotiated(): bigint {
    return this.driverFeatureBits;
  }

  hasFeature(bit: number): boolean {
    // Plain-number halves: this is asked on every request, BigInt arithmetic is not free.
    if (bit < 32) return ((this.driverLow >>> bit) & 1) === 1;
    return bit < 64 && ((this.driverHigh >>> (bit - 32)) & 1) === 1;
  }

  private setDriverFeatures(bits: bigint): void {
    this.driverFeatureBits = bits;
    this.driverLow = Number(bits & 0xffffffffn);
    this.driverHigh = Number((bits >> 32n) & 0xffffffffn);
  }

  // ---- status ------------------------------------------------------------------

  /** device_status as the driver reads it; stays non-zero while a reset waits for in-flight requests. */
  get status(): number {
    return this.deviceStatus;
  }

  writeStatus(value: number): void {
    value &= 0xff;
    if (value === 0) {
      this.beginReset();
      return;
    }
    if (this.resetPending) return; // the driver must wait for status 0 first
    const old = this.deviceStatus;
    let next = value | (old & STATUS_DEVICE_NEEDS_RESET);
    if (value & STATUS_FEATURES_OK && !(old & STATUS_FEATURES_OK)) {
      const problem = this.checkFeatures();
      if (problem) {
        this.log(`virtio device ${this.deviceId}: refusing FEATURES_OK: ${problem}`);
        next &= ~STATUS_FEATURES_OK; // the driver re-reads status and sees it was refused
      }
    }
    this.deviceStatus = next;
    if (next & STATUS_DRIVER_OK && !(old & STATUS_DRIVER_OK)) {
      for (const q of this.queues) {
        q.eventIdx = this.hasFeature(F_EVENT_IDX);
        q.indirect = this.hasFeature(F_INDIRECT_DESC);
      }
      this.onDriverOk();
    }
  }

  private checkFeatures(): string | null {
    const extra = this.driverFeatureBits & ~this.offered;
    if (extra !== 0n) return `driver accepted features 0x${extra.toString(16)} that were not offered`;
    if (!this.hasFeature(F_VERSION_1)) return 'VIRTIO_F_VERSION_1 not accepted (legacy drivers are not supported)';
    return this.checkDeviceFeatures();
  }

  /** Device-specific feature combination checks; a reason refuses FEATURES_OK. */
  protected checkDeviceFeatures(): string | null {
    return null;
  }

  protected onDriverOk(): void {}

  // ---- queues ------------------------------------------------------------------

  queue(index: number): SplitVirtqueue | undefined {
    return this.queues[index];
  }

  /** queue_enable = 1 for `index`. */
  enableQueue(index: number): void {
    const q = this.queues[index];
    if (!q) return;
    const problem = q.enable();
    if (problem) this.needsReset(problem);
  }

  /** The driver notified queue `index` (a write to the notify region). Never throws. */
  queueNotify(index: number): void {
    const q = this.queues[index];
    if (!q || !q.enabled || this.resetPending) return;
    if (!(this.deviceStatus & STATUS_DRIVER_OK) || this.deviceStatus & STATUS_DEVICE_NEEDS_RESET) return;
    try {
      this.processQueue(q);
    } catch (e) {
      // Driver errors arrive here as VirtqueueError/ChainError; anything else is our bug,
      // but the guest still only sees a device that needs a reset.
      this.needsReset(e instanceof Error ? e.message : String(e));
    }
  }

  /** Takes and starts every available request of `q`. */
  protected abstract processQueue(q: SplitVirtqueue): void;

  /**
   * Hands every chain the driver made available on q to `take`. With
   * EVENT_IDX, buffers can arrive between the last check and avail_event
   * being published, so it looks again after publishing.
   */
  protected drainQueue(q: SplitVirtqueue, take: (chain: DescriptorChain) => void): void {
    for (;;) {
      let n = q.pending();
      if (n === 0) {
        q.publishAvailEvent();
        if (q.pending() === 0) return;
        continue;
      }
      while (n-- > 0) take(q.takeNext());
    }
  }

  /** Completes a request: used-ring entry, then a notification if the driver wants one. */
  protected pushUsed(q: SplitVirtqueue, head: number, writtenLength: number, generation: number): void {
    if (generation !== this.generation || this.deviceStatus & STATUS_DEVICE_NEEDS_RESET) return;
    try {
      q.pushUsed(head, writtenLength);
      if (q.needsNotification()) this.transport?.raiseInterrupt('queue', q.index);
    } catch (e) {
      this.needsReset(e instanceof Error ? e.message : String(e));
    }
  }

  /** Marks the device broken (§2.1.2): no further processing until the driver resets it. */
  protected needsReset(reason: string): void {
    if (this.deviceStatus & STATUS_DEVICE_NEEDS_RESET) return;
    this.brokenReason = reason;
    this.log(`virtio device ${this.deviceId} needs reset: ${reason}`);
    this.deviceStatus |= STATUS_DEVICE_NEEDS_RESET;
    if (this.deviceStatus & STATUS_DRIVER_OK) {
      this.configGeneration++;
      this.transport?.raiseInterrupt('config');
    }
  }

  get needsResetFlag(): boolean {
    return (this.deviceStatus & STATUS_DEVICE_NEEDS_RESET) !== 0;
  }

  // ---- in-flight tracking and reset -------------------------------------------------

  /** Runs an asynchronous request, counting it until it settles. */
  protected track(work: Promise<void>): void {
    this.inflight++;
    work
      .catch((e) => this.needsReset(`internal error completing a request: ${e instanceof Error ? e.message : String(e)}`))
      .finally(() => {
        this.inflight--;
        if (this.inflight === 0) this.settleIdle();
      });
  }

  get inflightRequests(): number {
    return this.inflight;
  }

  /** Resolves when no request is in flight. */
  whenIdle(): Promise<void> {
    if (this.inflight === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  private settleIdle(): void {
    if (this.resetPending) this.finishReset();
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  /**
   * Writing 0 to device_status. Requests already handed to the disk cannot be
   * recalled, so the reset completes (status reads 0) once they settle; their
   * results are discarded. The driver waits for status 0 (§2.1.2).
   */
  private beginReset(): void {
    this.generation++;
    this.onResetBegin();
    if (this.inflight > 0) this.resetPending = true;
    else this.finishReset();
  }

  private finishReset(): void {
    this.resetPending = false;
    this.deviceStatus = 0;
    this.setDriverFeatures(0n);
    this.brokenReason = null;
    for (const q of this.queues) q.reset();
    this.onReset();
  }

  protected onReset(): void {}
  /** The driver asked for a reset: requests the device is holding back must let go, or the reset never completes. */
  protected onResetBegin(): void {}

  // ---- snapshots ---------------------------------------------------------------

  /** Serialisable state; only valid when idle (await whenIdle() first). */
  saveState(): VirtioDeviceState {
    if (this.inflight > 0) throw new Error(`virtio device ${this.deviceId} has ${this.inflight} requests in flight; await whenIdle() before saving`);
    return {
      status: this.deviceStatus,
      driverFeatures: this.driverFeatureBits.toString(16),
      configGeneration: this.configGeneration,
      queues: this.queues.map((q) => q.saveState()),
      device: this.saveDeviceState(),
    };
  }

  loadState(s: VirtioDeviceState): void {
    this.deviceStatus = s.status;
    this.setDriverFeatures(BigInt(`0x${s.driverFeatures}`));
    this.configGeneration = s.configGeneration;
    s.queues.forEach((qs, i) => {
      const q = this.queues[i];
      if (!q) return;
      q.loadState(qs);
      q.eventIdx = this.hasFeature(F_EVENT_IDX);
      q.indirect = this.hasFeature(F_INDIRECT_DESC);
    });
    this.loadDeviceState(s.device);
  }

  protected saveDeviceState(): unknown {
    return null;
  }
  protected loadDeviceState(_state: unknown): void {}

  // ---- device configuration space --------------------------------------------------

  abstract readConfig(offset: number, size: 1 | 2 | 4): number;
  abstract writeConfig(offset: number, size: 1 | 2 | 4, value: number): void;
}

function window32(bits: bigint, select: number): number {
  if (select < 0 || select > 1) return 0;
  return Number((bits >> BigInt(select * 32)) & 0xffffffffn);
}
