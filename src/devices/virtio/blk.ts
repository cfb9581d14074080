// virtio-blk device logic (virtio 1.2 §5.2) over a BlockDevice. Requests run
// concurrently and complete asynchronously; a request's used-ring entry is
// written only after its I/O finished, and a FLUSH only after every write
// submitted before it completed and the disk reported durability.
//
// Driver mistakes inside a request (bad header, wrong direction, bad sector,
// unreachable data buffer) complete with VIRTIO_BLK_S_IOERR or UNSUPP; mistakes
// that make the chain or rings untrustworthy put the device in NEEDS_RESET.
//
// Failures of the disk itself (a full browser quota, an image server gone) are
// not the guest's fault. With errorPolicy 'stop' (QEMU's werror/rerror=stop)
// the request is held instead of failed, the machine is told to pause, and
// retryHeld() runs the held requests again: the guest never sees an I/O error
// it could not have caused, and a FLUSH stays pending until every write before
// it has really been stored.

import type { BlockDevice } from '../../storage/block-device.ts';
import { SECTOR_SIZE } from '../../storage/block-device.ts';
import { DmaFault, type DmaSpace } from '../dma-space.ts';
import type { DescriptorChain, GuestBuffer } from './chain.ts';
import { BLK_CONFIG_SIZE, encodeBlkConfig } from './blk-config.ts';
import {
  BLK_DISCARD_SEGMENT_SIZE,
  BLK_F_BLK_SIZE,
  BLK_F_DISCARD,
  BLK_F_FLUSH,
  BLK_F_MQ,
  BLK_F_RO,
  BLK_F_SEG_MAX,
  BLK_F_TOPOLOGY,
  BLK_ID_BYTES,
  BLK_REQ_HEADER_SIZE,
  BLK_S_IOERR,
  BLK_S_OK,
  BLK_S_UNSUPP,
  BLK_T_DISCARD,
  BLK_T_FLUSH,
  BLK_T_GET_ID,
  BLK_T_IN,
  BLK_T_OUT,
  F_ACCESS_PLATFORM,
  VIRTIO_ID_BLOCK,
  featureBit,
} from './constants.ts';
import { VirtioDevice } from './device.ts';
import { mapBuffers, readStream, sliceBuffers, writeStream } from './guest-buffers.ts';
import type { SplitVirtqueue } from './queue.ts';

export interface VirtioBlkOptions {
  /** Request queues (VIRTIO_BLK_F_MQ when > 1). Default 1. */
  numQueues?: number;
  /** Maximum (and default) queue size. Default 256. */
  queueSize?: number;
  /** Device ID string returned by GET_ID (ASCII, up to 20 bytes). */
  serial?: string;
  /** Largest discard segment, in sectors. Default 4 Mi sectors (2 GiB). */
  maxDiscardSectors?: number;
  /** Most segments per DISCARD request. Default 32. */
  maxDiscardSegments?: number;
  /** Advertise VIRTIO_F_ACCESS_PLATFORM (the machine has an IOMMU translating this device's DMA). */
  accessPlatform?: boolean;
  /** What a failure of the disk (not of the request) does: 'report' completes it with IOERR (default); 'stop' holds it. */
  errorPolicy?: DiskErrorPolicy;
  /** With errorPolicy 'stop': called when the first request of an episode is held; the machine should pause. */
  onHold?: (error: Error) => void;
  log?: (message: string) => void;
}

export type DiskErrorPolicy = 'report' | 'stop';

/** Per-request bookkeeping that outlives a retry. */
interface RequestState {
  /** Set once the request counts as a write for FLUSH ordering; called when it has finally completed. */
  writeSettled: (() => void) | null;
}

/** Why a request failed, for the log; the driver only sees the status byte. */
class RequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** virtio-blk reports its logical block as 512 bytes and a 4 KiB physical block (topology), like QEMU. */
const PHYSICAL_BLOCK_EXP = 3;

export class VirtioBlk extends VirtioDevice {
  private readonly config: Uint8Array;
  private readonly serial: Uint8Array;
  private readonly maxDiscardSectors: number;
  private readonly maxDiscardSegments: number;
  /** Heads handed out by each queue and not yet returned: a driver re-posting one is broken. */
  private readonly activeHeads: Array<Set<number>>;
  /** Writes and discards not yet completed (held ones included), across queues, for FLUSH ordering. */
  private readonly pendingWrites = new Set<Promise<void>>();
  private readonly counters = { requests: 0, ioErrors: 0, unsupported: 0, held: 0 };
  private readonly errorPolicy: DiskErrorPolicy;
  private readonly onHold: (error: Error) => void;
  /** Held requests' continuations: true = run again, false = abandon (device reset). */
  private held: Array<(retry: boolean) => void> = [];

  constructor(
    dma: DmaSpace,
    private readonly disk: BlockDevice,
    options: VirtioBlkOptions = {},
  ) {
    const numQueues = options.numQueues ?? 1;
    const queueSize = options.queueSize ?? 256;
    if (!Number.isInteger(numQueues) || numQueues < 1 || numQueues > 0xffff) throw new RangeError(`virtio-blk queue count ${numQueues} is invalid`);
    let features =
      featureBit(BLK_F_SEG_MAX) | featureBit(BLK_F_BLK_SIZE) | featureBit(BLK_F_TOPOLOGY) | featureBit(BLK_F_FLUSH) | featureBit(BLK_F_DISCARD);
    if (disk.readOnly) features |= featureBit(BLK_F_RO);
    if (numQueues > 1) features |= featureBit(BLK_F_MQ);
    if (options.accessPlatform) features |= featureBit(F_ACCESS_PLATFORM);
    super(VIRTIO_ID_BLOCK, dma, numQueues, queueSize, features, options.log ?? ((m) => console.warn(`[ts86 virtio-blk] ${m}`)));
    this.errorPolicy = options.errorPolicy ?? 'report';
    this.onHold = options.onHold ?? (() => {});
    this.maxDiscardSectors = options.maxDiscardSectors ?? 1 << 22;
    this.maxDiscardSegments = options.maxDiscardSegments ?? 32;
    this.serial = new TextEncoder().encode((options.serial ?? 'ts86-virtio-blk').slice(0, BLK_ID_BYTES));
    this.activeHeads = Array.from({ length: numQueues }, () => new Set());
    this.config = encodeBlkConfig({
      capacity: disk.capacity,
      segMax: queueSize - 2, // a request needs the header and status descriptors too
      blkSize: SECTOR_SIZE,
      physicalBlockExp: PHYSICAL_BLOCK_EXP,
      minIoSize: 1 << PHYSICAL_BLOCK_EXP,
      optIoSize: 0,
      numQueues,
      maxDiscardSectors: this.maxDiscardSectors,
      maxDiscardSeg: this.maxDiscardSegments,
      discardSectorAlignment: 1 << PHYSICAL_BLOCK_EXP,
    });
  }

  get configSize(): number {
    return BLK_CONFIG_SIZE;
  }

  stats(): { requests: number; ioErrors: number; unsupported: number; held: number; inflight: number } {
    return { ...this.counters, inflight: this.inflightRequests };
  }

  /** Requests held after a disk failure, waiting for retryHeld(). */
  get heldRequests(): number {
    return this.held.length;
  }

  /** Runs every held request again (the user fixed the cause and resumed). Returns how many. */
  retryHeld(): number {
    return this.releaseHeld(true);
  }

  /** Gives up on held requests: they never complete (the machine is going away). Returns how many. */
  abandonHeld(): number {
    return this.releaseHeld(false);
  }

  private releaseHeld(retry: boolean): number {
    const held = this.held;
    this.held = [];
    for (const release of held) release(retry);
    return held.length;
  }

  protected override onResetBegin(): void {
    this.abandonHeld();
  }

  readConfig(offset: number, size: 1 | 2 | 4): number {
    if (offset < 0 || offset + size > this.config.length) return 0;
    const dv = new DataView(this.config.buffer, offset, size);
    return size === 1 ? dv.getUint8(0) : size === 2 ? dv.getUint16(0, true) : dv.getUint32(0, true);
  }

  /** No field is driver-writable without VIRTIO_BLK_F_CONFIG_WCE, which is not offered. */
  writeConfig(): void {}

  protected override onReset(): void {
    for (const s of this.activeHeads) s.clear();
  }

  // ---- request intake ------------------------------------------------------------

  protected processQueue(q: SplitVirtqueue): void {
    const active = this.activeHeads[q.index]!;
    this.drainQueue(q, (chain) => {
      if (active.has(chain.head)) throw new Error(`queue ${q.index}: chain head ${chain.head} was made available again while still in use`);
      active.add(chain.head);
      this.start(q, chain);
    });
  }

  private start(q: SplitVirtqueue, chain: DescriptorChain): void {
    this.counters.requests++;
    const generation = this.generation;
    if (chain.writableLength === 0) {
      throw new Error(`queue ${q.index}: request ${chain.head} has no device-writable byte for its status`);
    }
    const statusBuffer = sliceBuffers(chain.writable, chain.writableLength - 1, 1);
    this.track(
      this.complete(q, chain, generation).then((status) => {
        this.activeHeads[q.index]!.delete(chain.head);
        if (status === null || generation !== this.generation) return; // reset since: the driver owns the rings again
        try {
          writeStream(this.dma, statusBuffer, Uint8Array.of(status));
        } catch (e) {
          this.needsReset(`cannot write the status byte of request ${chain.head}: ${e instanceof Error ? e.message : String(e)}`);
          return;
        }
        // Like QEMU: report the whole writable length; drivers read the status byte, not the length.
        this.pushUsed(q, chain.head, chain.writableLength, generation);
      }),
    );
  }

  /** Runs a request to its status byte, holding and retrying it under the 'stop' policy; null if abandoned while held. */
  private async complete(q: SplitVirtqueue, chain: DescriptorChain, generation: number): Promise<number | null> {
    const state: RequestState = { writeSettled: null };
    try {
      for (;;) {
        try {
          await this.execute(chain, state);
          return BLK_S_OK;
        } catch (e) {
          if (e instanceof RequestError) {
            if (e.status === BLK_S_UNSUPP) this.counters.unsupported++;
            else this.counters.ioErrors++;
            return e.status;
          }
          if (!(e instanceof DmaFault) && this.errorPolicy === 'stop' && generation === this.generation) {
            if (await this.hold(e)) continue;
            return null;
          }
          this.counters.ioErrors++;
          if (!(e instanceof DmaFault)) this.log(`request ${chain.head} on queue ${q.index} failed: ${e instanceof Error ? e.message : String(e)}`);
          return BLK_S_IOERR;
        }
      }
    } finally {
      state.writeSettled?.();
    }
  }

  /** Parks a request whose disk failed; resolves true to run it again, false to abandon it. */
  private hold(e: unknown): Promise<boolean> {
    this.counters.held++;
    const first = this.held.length === 0;
    const released = new Promise<boolean>((resolve) => this.held.push(resolve));
    if (first) this.onHold(e instanceof Error ? e : new Error(String(e)));
    return released;
  }

  // ---- request execution -----------------------------------------------------------

  private async execute(chain: DescriptorChain, state: RequestState): Promise<void> {
    if (chain.readableLength < BLK_REQ_HEADER_SIZE) {
      throw new RequestError(BLK_S_IOERR, `request header is ${chain.readableLength} bytes, needs ${BLK_REQ_HEADER_SIZE}`);
    }
    const header = new DataView(readStream(this.dma, sliceBuffers(chain.readable, 0, BLK_REQ_HEADER_SIZE)).buffer);
    const type = header.getUint32(0, true);
    const sector = header.getUint32(12, true) * 2 ** 32 + header.getUint32(8, true);
    const out = sliceBuffers(chain.readable, BLK_REQ_HEADER_SIZE, chain.readableLength - BLK_REQ_HEADER_SIZE);
    const inData = sliceBuffers(chain.writable, 0, chain.writableLength - 1);
    switch (type) {
      case BLK_T_IN:
        return this.read(sector, out, inData);
      case BLK_T_OUT:
        this.countAsWrite(state);
        return this.write(sector, out, inData);
      case BLK_T_FLUSH:
        return this.flush();
      case BLK_T_GET_ID:
        return this.getId(inData);
      case BLK_T_DISCARD:
        this.countAsWrite(state);
        return this.discard(out);
      default:
        throw new RequestError(BLK_S_UNSUPP, `request type ${type} is not supported`);
    }
  }

  /** A later FLUSH must wait for this request's final completion, across retries. */
  private countAsWrite(state: RequestState): void {
    if (state.writeSettled) return;
    let settle!: () => void;
    const done = new Promise<void>((resolve) => (settle = resolve));
    this.pendingWrites.add(done);
    state.writeSettled = () => {
      this.pendingWrites.delete(done);
      settle();
    };
  }

  private checkTransfer(sector: number, bytes: number, what: string): void {
    if (bytes % SECTOR_SIZE !== 0) throw new RequestError(BLK_S_IOERR, `${what} of ${bytes} bytes is not a multiple of ${SECTOR_SIZE}`);
    if (!Number.isSafeInteger(sector) || sector + bytes / SECTOR_SIZE > this.disk.capacity) {
      throw new RequestError(BLK_S_IOERR, `${what} at sector ${sector} runs past the disk's ${this.disk.capacity} sectors`);
    }
  }

  private async read(sector: number, out: GuestBuffer[], data: GuestBuffer[]): Promise<void> {
    if (out.length > 0) throw new RequestError(BLK_S_IOERR, 'read request carries device-readable data after its header');
    const bytes = data.reduce((n, b) => n + b.len, 0);
    this.checkTransfer(sector, bytes, 'read');
    const mapped = mapBuffers(this.dma, data, true);
    await this.disk.readv(sector, mapped.segments);
    mapped.finish();
  }

  private async write(sector: number, out: GuestBuffer[], inData: GuestBuffer[]): Promise<void> {
    if (inData.length > 0) throw new RequestError(BLK_S_IOERR, 'write request has device-writable buffers besides its status byte');
    if (this.disk.readOnly) throw new RequestError(BLK_S_IOERR, 'write to a read-only disk');
    const bytes = out.reduce((n, b) => n + b.len, 0);
    this.checkTransfer(sector, bytes, 'write');
    const mapped = mapBuffers(this.dma, out, false);
    // Without a negotiated FLUSH the driver assumes write-through: every write must be durable on completion (§5.2.6.1).
    await this.disk.writev(sector, mapped.segments, { fua: !this.hasFeature(BLK_F_FLUSH) });
  }

  private async flush(): Promise<void> {
    if (!this.hasFeature(BLK_F_FLUSH)) throw new RequestError(BLK_S_UNSUPP, 'FLUSH without VIRTIO_BLK_F_FLUSH negotiated');
    // Covers every write submitted before this flush, across all queues.
    await Promise.all([...this.pendingWrites]);
    await this.disk.flush();
  }

  private async getId(inData: GuestBuffer[]): Promise<void> {
    if (inData.length === 0) throw new RequestError(BLK_S_IOERR, 'GET_ID without a data buffer');
    const id = new Uint8Array(BLK_ID_BYTES); // NUL-padded
    id.set(this.serial);
    writeStream(this.dma, inData, id);
  }

  private async discard(out: GuestBuffer[]): Promise<void> {
    if (!this.hasFeature(BLK_F_DISCARD)) throw new RequestError(BLK_S_UNSUPP, 'DISCARD without VIRTIO_BLK_F_DISCARD negotiated');
    const bytes = out.reduce((n, b) => n + b.len, 0);
    if (bytes === 0 || bytes % BLK_DISCARD_SEGMENT_SIZE !== 0) {
      throw new RequestError(BLK_S_IOERR, `discard data of ${bytes} bytes is not a whole number of 16-byte segments`);
    }
    const count = bytes / BLK_DISCARD_SEGMENT_SIZE;
    if (count > this.maxDiscardSegments) throw new RequestError(BLK_S_IOERR, `discard of ${count} segments exceeds max_discard_seg ${this.maxDiscardSegments}`);
    const segs = new DataView(readStream(this.dma, out).buffer);
    const ranges: Array<[number, number]> = [];
    for (let i = 0; i < count; i++) {
      const o = i * BLK_DISCARD_SEGMENT_SIZE;
      const start = segs.getUint32(o + 4, true) * 2 ** 32 + segs.getUint32(o, true);
      const n = segs.getUint32(o + 8, true);
      const flags = segs.getUint32(o + 12, true);
      // §5.2.6.2: unknown flags, or unmap on a discard, are UNSUPP.
      if (flags !== 0) throw new RequestError(BLK_S_UNSUPP, `discard segment ${i} has flags 0x${flags.toString(16)}`);
      if (n > this.maxDiscardSectors) throw new RequestError(BLK_S_IOERR, `discard segment ${i} of ${n} sectors exceeds max_discard_sectors`);
      if (!Number.isSafeInteger(start) || start + n > this.disk.capacity) throw new RequestError(BLK_S_IOERR, `discard segment ${i} runs past the disk`);
      ranges.push([start, n]);
    }
    if (this.disk.readOnly) throw new RequestError(BLK_S_IOERR, 'discard on a read-only disk');
    for (const [start, n] of ranges) if (n > 0) await this.disk.discard(start, n);
  }
}
