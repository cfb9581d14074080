// Feeds >= 100k random and malformed descriptor chains to virtio-blk over an
// IdentityDmaSpace whose RAM sits between guard regions. After every batch:
// - the device did not throw (queueNotify is called bare);
// - every byte that changed in RAM lies in the used ring or in a buffer the
//   chains marked device-writable (a shadow copy of RAM is diffed), and the
//   guards are intact;
// - every request either completed with the status the spec demands
//   (OK / IOERR / UNSUPP) or the device is in DEVICE_NEEDS_RESET;
// - completed reads returned the disk's bytes.

import { describe, expect, it } from 'vitest';
import { IdentityDmaSpace } from '../../src/devices/dma-space.ts';
import { VirtioBlk } from '../../src/devices/virtio/blk.ts';
import {
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
  STATUS_ACKNOWLEDGE,
  STATUS_DRIVER,
  STATUS_DRIVER_OK,
  STATUS_FEATURES_OK,
  VIRTQ_DESC_F_INDIRECT,
  VIRTQ_DESC_F_NEXT,
  VIRTQ_DESC_F_WRITE,
  featureBit,
} from '../../src/devices/virtio/constants.ts';
import { MemoryBlockDevice } from '../../src/storage/backends/memory.ts';
import { randInt, rng, type Rng } from '../storage/fakes.ts';
import { RecordingTransport } from './driver.ts';

const GUARD = 4096;
const RAM = 64 * 1024;
const QSIZE = 16;
const DESC = 0x0000;
const AVAIL = 0x0100;
const USED = 0x0140;
const USED_BYTES = 6 + 8 * QSIZE;
const INDIRECT_AREA = 0x0200;
const INDIRECT_AREA_END = 0x1000;
const DATA = 0x1000;
const DISK_SECTORS = 64;
const MAX_DISCARD_SEGMENTS = 4;
const MAX_DISCARD_SECTORS = 16;
const TARGET_CHAINS = 100_000;

type Expect = { kind: 'status'; status: number } | { kind: 'needs-reset' } | { kind: 'any' };

interface Desc {
  addr: number;
  len: number;
  flags: number;
  next: number;
}

interface Posted {
  head: number;
  expect: Expect;
  label: string;
  statusAddr: number | null;
  /** For reads expected to succeed: where the data went, and which sectors. */
  readBack?: { bufs: Array<[number, number]>; sector: number };
}

class Harness {
  readonly big = new Uint8Array(GUARD + RAM + GUARD).fill(0xa5);
  readonly ram = this.big.subarray(GUARD, GUARD + RAM);
  readonly shadow = new Uint8Array(RAM);
  readonly dv = new DataView(this.ram.buffer, this.ram.byteOffset, RAM);
  readonly disk = MemoryBlockDevice.create(DISK_SECTORS);
  readonly transport = new RecordingTransport();
  readonly device: VirtioBlk;
  /** Byte ranges the device may write this batch. */
  allowed: Array<[number, number]> = [];
  private heap = DATA;
  private indirectHeap = INDIRECT_AREA;
  private nextFree = 0;
  availIdx = 0;
  readonly stats = new Map<string, number>();
  chains = 0;

  constructor() {
    this.ram.fill(0);
    this.device = new VirtioBlk(new IdentityDmaSpace(this.ram), this.disk, {
      queueSize: QSIZE,
      maxDiscardSegments: MAX_DISCARD_SEGMENTS,
      maxDiscardSectors: MAX_DISCARD_SECTORS,
      log: () => {},
    });
    this.device.attachTransport(this.transport);
  }

  /** Reset + §3.1 initialisation, with a random choice of ring features. */
  init(r: Rng): { indirect: boolean } {
    const d = this.device;
    d.writeStatus(0);
    if (d.status !== 0) throw new Error(`device status ${d.status} after reset with nothing in flight`);
    this.ram.subarray(0, DATA).fill(0);
    d.writeStatus(STATUS_ACKNOWLEDGE | STATUS_DRIVER);
    let features = d.offered;
    const indirect = r() < 0.85;
    if (!indirect) features &= ~featureBit(F_INDIRECT_DESC);
    if (r() < 0.5) features &= ~featureBit(F_EVENT_IDX);
    d.writeDriverFeatures(0, Number(features & 0xffffffffn));
    d.writeDriverFeatures(1, Number(features >> 32n));
    d.writeStatus(STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK);
    const q = d.queue(0)!;
    q.size = QSIZE;
    q.descAddr = DESC;
    q.driverAddr = AVAIL;
    q.deviceAddr = USED;
    d.enableQueue(0);
    d.writeStatus(STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK | STATUS_DRIVER_OK);
    this.availIdx = 0;
    this.heap = DATA;
    this.indirectHeap = INDIRECT_AREA;
    this.nextFree = 0;
    this.allowed = [[USED, USED_BYTES]];
    this.dv.setUint16(AVAIL + 4 + QSIZE * 2, r() < 0.5 ? 0 : randInt(r, 0x10000), true); // used_event
    return { indirect };
  }

  alloc(len: number): number {
    const at = this.heap;
    this.heap = Math.min(RAM, this.heap + ((len + 7) & ~7));
    return at;
  }

  fits(len: number): boolean {
    return this.heap + len <= RAM;
  }

  takeDescs(n: number): number[] | null {
    if (this.nextFree + n > QSIZE) return null;
    const out = Array.from({ length: n }, (_, i) => this.nextFree + i);
    this.nextFree += n;
    return out;
  }

  allocIndirect(entries: number): number | null {
    if (this.indirectHeap + entries * 16 > INDIRECT_AREA_END) return null;
    const at = this.indirectHeap;
    this.indirectHeap += entries * 16;
    return at;
  }

  writeDesc(table: number, i: number, d: Desc): void {
    const at = table + i * 16;
    this.dv.setUint32(at, d.addr % 2 ** 32, true);
    this.dv.setUint32(at + 4, Math.floor(d.addr / 2 ** 32), true);
    this.dv.setUint32(at + 8, d.len, true);
    this.dv.setUint16(at + 12, d.flags, true);
    this.dv.setUint16(at + 14, d.next, true);
  }

  post(head: number): void {
    this.dv.setUint16(AVAIL + 4 + (this.availIdx % QSIZE) * 2, head, true);
    this.availIdx = (this.availIdx + 1) & 0xffff;
  }

  publishAvail(): void {
    this.dv.setUint16(AVAIL + 2, this.availIdx, true);
  }

  allow(addr: number, len: number): void {
    if (len > 0) this.allowed.push([addr, len]);
  }

  count(label: string): void {
    this.stats.set(label, (this.stats.get(label) ?? 0) + 1);
    this.chains++;
  }

  /** Every changed byte since the shadow was taken must be allowed; then re-shadow. */
  checkWrites(context: string): void {
    const a = Buffer.from(this.ram.buffer, this.ram.byteOffset, RAM);
    const b = Buffer.from(this.shadow.buffer, 0, RAM);
    if (!a.equals(b)) {
      const ranges = this.allowed.map(([s, l]) => [s, Math.min(RAM, s + l)] as [number, number]);
      // Compare natively in 256-byte blocks; inspect bytes only where a block changed.
      for (let blk = 0; blk < RAM; blk += 256) {
        if (a.subarray(blk, blk + 256).equals(b.subarray(blk, blk + 256))) continue;
        for (let i = blk; i < blk + 256; i++) {
          if (this.ram[i] === this.shadow[i]) continue;
          if (!ranges.some(([s, e]) => i >= s && i < e)) {
            throw new Error(`${context}: device wrote byte 0x${i.toString(16)} outside every device-writable buffer`);
          }
        }
      }
    }
    for (let i = 0; i < GUARD; i++) {
      if (this.big[i] !== 0xa5 || this.big[GUARD + RAM + i] !== 0xa5) throw new Error(`${context}: guard region overwritten`);
    }
    this.shadow.set(this.ram);
  }
}

/** Splits `bytes` into 1..k pieces at random points. */
function split(r: Rng, bytes: number, maxPieces: number): number[] {
  const pieces = 1 + randInt(r, maxPieces);
  const cuts = new Set<number>();
  for (let i = 1; i < pieces && bytes > 1; i++) cuts.add(1 + randInt(r, bytes - 1));
  const points = [0, ...[...cuts].sort((a, b) => a - b), bytes];
  const out: number[] = [];
  for (let i = 1; i < points.length; i++) out.push(points[i]! - points[i - 1]!);
  return out.filter((n) => n > 0);
}

type Malformation =
  | 'none'
  | 'loop'
  | 'next-out-of-range'
  | 'data-out-of-ram'
  | 'data-length-past-ram'
  | 'header-out-of-ram'
  | 'status-out-of-ram'
  | 'total-over-4g'
  | 'read-into-readonly'
  | 'write-from-writable'
  | 'indirect-bad-length'
  | 'indirect-nested'
  | 'indirect-with-next'
  | 'indirect-out-of-ram'
  | 'indirect-not-negotiated'
  | 'readable-after-writable'
  | 'no-status'
  | 'short-header'
  | 'head-out-of-range';

const MALFORMATIONS: Malformation[] = [
  'loop', 'next-out-of-range', 'data-out-of-ram', 'data-length-past-ram', 'header-out-of-ram', 'status-out-of-ram', 'total-over-4g',
  'read-into-readonly', 'write-from-writable', 'indirect-bad-length', 'indirect-nested', 'indirect-with-next', 'indirect-out-of-ram',
  'readable-after-writable', 'no-status', 'short-header', 'head-out-of-range',
];

interface Plan {
  type: number;
  sector: number;
  /** Readable payload after the header (OUT data, DISCARD segments). */
  out: Uint8Array;
  /** Writable bytes before the status byte (IN data, GET_ID). */
  inLen: number;
  expectStatus: number;
}

/** A request the spec defines, sometimes with semantic errors (bad sector, length, flags, type). */
function planRequest(r: Rng, writeBusy: boolean): Plan {
  const pick = r();
  const sector = r() < 0.1 ? DISK_SECTORS - randInt(r, 3) : randInt(r, DISK_SECTORS);
  const sectorsN = 1 + randInt(r, 4);
  const ragged = r() < 0.05;
  const len = sectorsN * 512 + (ragged ? 1 + randInt(r, 511) : 0);
  const inRange = sector + Math.ceil(len / 512) <= DISK_SECTORS;
  if (pick < 0.35) return { type: BLK_T_IN, sector, out: new Uint8Array(0), inLen: len, expectStatus: !ragged && inRange ? BLK_S_OK : BLK_S_IOERR };
  if (pick < 0.6 && !writeBusy) {
    const data = new Uint8Array(len);
    for (let i = 0; i < len; i += 64) data[i] = randInt(r, 256);
    return { type: BLK_T_OUT, sector, out: data, inLen: 0, expectStatus: !ragged && inRange ? BLK_S_OK : BLK_S_IOERR };
  }
  if (pick < 0.7) return { type: BLK_T_FLUSH, sector: 0, out: new Uint8Array(0), inLen: 0, expectStatus: BLK_S_OK };
  if (pick < 0.8) return { type: BLK_T_GET_ID, sector: 0, out: new Uint8Array(0), inLen: 20, expectStatus: BLK_S_OK };
  if (pick < 0.93 && !writeBusy) {
    const n = 1 + randInt(r, MAX_DISCARD_SEGMENTS + 1);
    const segs = new Uint8Array(n * 16);
    const dv = new DataView(segs.buffer);
    for (let i = 0; i < n; i++) {
      dv.setUint32(i * 16, randInt(r, DISK_SECTORS + 2), true);
      dv.setUint32(i * 16 + 8, randInt(r, MAX_DISCARD_SECTORS + 3), true);
      dv.setUint32(i * 16 + 12, r() < 0.05 ? 1 << randInt(r, 3) : 0, true);
    }
    return { type: BLK_T_DISCARD, sector: 0, out: segs, inLen: 0, expectStatus: n > MAX_DISCARD_SEGMENTS ? BLK_S_IOERR : firstDiscardVerdict(dv, n) };
  }
  return { type: 100 + randInt(r, 50), sector: 0, out: new Uint8Array(0), inLen: randInt(r, 2) * 64, expectStatus: BLK_S_UNSUPP };
}

/** Segments are checked in order and the first bad one decides (flags → UNSUPP, size or range → IOERR). */
function firstDiscardVerdict(dv: DataView, n: number): number {
  for (let i = 0; i < n; i++) {
    const s = dv.getUint32(i * 16, true);
    const c = dv.getUint32(i * 16 + 8, true);
    const flags = dv.getUint32(i * 16 + 12, true);
    if (flags !== 0) return BLK_S_UNSUPP;
    if (c > MAX_DISCARD_SECTORS) return BLK_S_IOERR;
    if (s + c > DISK_SECTORS) return BLK_S_IOERR;
  }
  return BLK_S_OK;
}

function headerBytes(type: number, sector: number): Uint8Array {
  const b = new Uint8Array(16);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, type, true);
  dv.setUint32(8, sector, true);
  return b;
}

/** Builds one chain (possibly malformed) and posts it. Returns null if the batch is out of room. */
function buildChain(r: Rng, h: Harness, m: Malformation, indirectNegotiated: boolean, writeBusy: boolean): Posted | null {
  const plan = planRequest(r, writeBusy);
  const hdr = headerBytes(plan.type, plan.sector);
  // Byte stream: [header][out] readable, [in][status] writable.
  const readable = new Uint8Array(16 + plan.out.length);
  readable.set(hdr);
  readable.set(plan.out, 16);
  let readablePieces = split(r, readable.length, 3);
  if (m === 'short-header') readablePieces = [8];
  const writableLen = plan.inLen + 1;
  const writablePieces = split(r, writableLen, 3);
  if (!h.fits(readable.length + writableLen + 64)) return null;
  const descs: Desc[] = [];
  let off = 0;
  for (const n of readablePieces) {
    const at = h.alloc(n);
    h.ram.set(readable.subarray(off, off + n), at);
    descs.push({ addr: at, len: n, flags: 0, next: 0 });
    off += n;
  }
  const writableDescs: Desc[] = [];
  for (const n of writablePieces) {
    const at = h.alloc(n);
    const d = { addr: at, len: n, flags: VIRTQ_DESC_F_WRITE, next: 0 };
    descs.push(d);
    writableDescs.push(d);
  }
  const lastW = writableDescs[writableDescs.length - 1]!;
  let statusAddr: number | null = lastW.addr + lastW.len - 1;
  let expectation: Expect = { kind: 'status', status: m === 'short-header' ? BLK_S_IOERR : plan.expectStatus };
  const firstWritable = descs.indexOf(writableDescs[0]!);
  const reset: Expect = { kind: 'needs-reset' };
  const ioerr: Expect = { kind: 'status', status: BLK_S_IOERR };

  switch (m) {
    case 'data-out-of-ram':
    case 'data-length-past-ram': {
      // A data descriptor (not the header/status) points outside RAM.
      const dataIdx = plan.type === BLK_T_IN && writableDescs.length > 1 ? firstWritable : plan.out.length > 0 ? readablePieces.length - 1 : -1;
      if (dataIdx < 0 || (dataIdx === 0 && readablePieces.length === 1)) return buildChain(r, h, 'none', indirectNegotiated, writeBusy);
      const d = descs[dataIdx]!;
      if (m === 'data-out-of-ram') d.addr = RAM + randInt(r, 2 ** 20);
      else d.len = RAM - d.addr + 1 + randInt(r, 1000);
      expectation = ioerr;
      break;
    }
    case 'header-out-of-ram':
      descs[0]!.addr = r() < 0.5 ? RAM + randInt(r, 4096) : 2 ** 40 + randInt(r, 4096);
      expectation = ioerr;
      break;
    case 'status-out-of-ram':
      lastW.addr = RAM + randInt(r, 4096);
      statusAddr = null;
      expectation = reset;
      break;
    case 'total-over-4g':
      // Exactly 2^32 is allowed ("longer than 2^32 bytes" is not): two maximal buffers exceed it.
      descs[0]!.len = 0xffffffff;
      descs[1]!.len = 0xffffffff;
      statusAddr = null;
      expectation = reset;
      break;
    case 'read-into-readonly':
      if (plan.type !== BLK_T_IN || writableDescs.length < 2) return buildChain(r, h, 'none', indirectNegotiated, writeBusy);
      // The data buffers lose their WRITE flag: the device must not write them, only fail the request.
      for (const d of writableDescs.slice(0, -1)) d.flags &= ~VIRTQ_DESC_F_WRITE;
      descs.sort((a, b) => (a.flags & VIRTQ_DESC_F_WRITE) - (b.flags & VIRTQ_DESC_F_WRITE));
      writableDescs.splice(0, writableDescs.length - 1);
      expectation = ioerr;
      break;
    case 'write-from-writable':
      if (plan.type !== BLK_T_OUT) return buildChain(r, h, 'none', indirectNegotiated, writeBusy);
      for (let i = 1; i < readablePieces.length; i++) {
        descs[i]!.flags |= VIRTQ_DESC_F_WRITE;
        writableDescs.unshift(descs[i]!);
      }
      if (readablePieces.length === 1) return buildChain(r, h, 'none', indirectNegotiated, writeBusy);
      expectation = { kind: 'status', status: readablePieces.slice(1).reduce((a, b) => a + b, 0) > 0 ? BLK_S_IOERR : plan.expectStatus };
      break;
    case 'readable-after-writable': {
      const d = { addr: h.alloc(16), len: 16, flags: 0, next: 0 };
      descs.push(d);
      statusAddr = null;
      expectation = reset;
      break;
    }
    case 'no-status':
      for (const d of writableDescs) d.flags &= ~VIRTQ_DESC_F_WRITE;
      writableDescs.length = 0;
      statusAddr = null;
      expectation = reset;
      break;
    default:
      break;
  }
  for (const d of writableDescs) h.allow(d.addr, d.len);

  // Lay the chain out: direct, or via an indirect table (possibly after direct descriptors).
  const wantIndirect = m.startsWith('indirect') || (r() < 0.3 && indirectNegotiated);
  const n = descs.length;
  if (!wantIndirect) {
    const ids = h.takeDescs(n);
    if (!ids) return null;
    descs.forEach((d, i) => {
      const last = i === n - 1;
      let next = last ? 0 : ids[i + 1]!;
      let flags = d.flags | (last ? 0 : VIRTQ_DESC_F_NEXT);
      if (m === 'loop' && last) {
        flags |= VIRTQ_DESC_F_NEXT;
        next = ids[randInt(r, n)]!;
        expectation = reset;
      }
      if (m === 'next-out-of-range' && i === randInt(r, n)) {
        flags |= VIRTQ_DESC_F_NEXT;
        next = QSIZE + randInt(r, 60000);
        expectation = reset;
      }
      h.writeDesc(DESC, ids[i]!, { ...d, flags, next });
    });
    if (m === 'loop' || m === 'next-out-of-range') statusAddr = null;
    if ((m === 'loop' || m === 'next-out-of-range') && expectation.kind !== 'needs-reset') return null;
    let head = ids[0]!;
    if (m === 'head-out-of-range') {
      head = QSIZE + randInt(r, 1000);
      expectation = reset;
      statusAddr = null;
    }
    h.post(head);
    return { head, expect: expectation, label: m, statusAddr, readBack: readBackOf(plan, writableDescs, expectation) };
  }
  // Indirect: k direct descriptors, then one INDIRECT descriptor for the rest.
  const direct = Math.min(randInt(r, 2), n - 1);
  const ids = h.takeDescs(direct + 1);
  const table = h.allocIndirect(n - direct + 1);
  if (!ids || table === null) return null;
  for (let i = 0; i < direct; i++) h.writeDesc(DESC, ids[i]!, { ...descs[i]!, flags: descs[i]!.flags | VIRTQ_DESC_F_NEXT, next: ids[i + 1]! });
  const rest = descs.slice(direct);
  rest.forEach((d, i) => {
    const last = i === rest.length - 1;
    h.writeDesc(table, i, { ...d, flags: d.flags | (last ? 0 : VIRTQ_DESC_F_NEXT), next: last ? 0 : i + 1 });
  });
  let tableAddr = table;
  let tableLen = rest.length * 16;
  let indFlags = VIRTQ_DESC_F_INDIRECT | (r() < 0.3 ? VIRTQ_DESC_F_WRITE : 0); // WRITE on it must be ignored
  if (!indirectNegotiated) {
    expectation = reset;
    statusAddr = null;
  }
  switch (m) {
    case 'indirect-bad-length':
      tableLen += 1 + randInt(r, 15);
      expectation = reset;
      break;
    case 'indirect-nested':
      h.writeDesc(table, rest.length - 1, { addr: table, len: 16, flags: VIRTQ_DESC_F_INDIRECT, next: 0 });
      expectation = reset;
      break;
    case 'indirect-with-next':
      indFlags |= VIRTQ_DESC_F_NEXT;
      expectation = reset;
      break;
    case 'indirect-out-of-ram':
      tableAddr = RAM - 8 + randInt(r, 2 ** 24);
      expectation = reset;
      break;
    default:
      break;
  }
  if (expectation.kind === 'needs-reset') statusAddr = null;
  h.writeDesc(DESC, ids[direct]!, { addr: tableAddr, len: tableLen, flags: indFlags, next: 0 });
  h.post(ids[0]!);
  return { head: ids[0]!, expect: expectation, label: `${m}${m === 'none' ? '/indirect' : ''}`, statusAddr, readBack: readBackOf(plan, writableDescs, expectation) };
}

function readBackOf(plan: Plan, writable: Desc[], e: Expect): Posted['readBack'] {
  if (plan.type !== BLK_T_IN || e.kind !== 'status' || e.status !== BLK_S_OK) return undefined;
  const bufs: Array<[number, number]> = [];
  let want = plan.inLen;
  for (const d of writable) {
    const n = Math.min(d.len, want);
    if (n > 0) bufs.push([d.addr, n]);
    want -= n;
  }
  return { bufs, sector: plan.sector };
}

/** Random bytes where descriptors and ring entries live; only "no throw, no stray writes, complete or reset" is checked. */
function randomBatch(r: Rng, h: Harness): Posted[] {
  const rand = (): Desc => {
    const flags = randInt(r, 8);
    // Indirect tables are usually a few entries (absurd lengths stay rare: each one is costly to account for).
    const len =
      flags & VIRTQ_DESC_F_INDIRECT && r() < 0.98
        ? randInt(r, 40) * 16 + (r() < 0.1 ? randInt(r, 16) : 0)
        : r() < 0.9
          ? randInt(r, 600)
          : r() < 0.5
            ? 0xffffffff - randInt(r, 16)
            : randInt(r, 2 ** 32);
    return {
      addr: r() < 0.8 ? randInt(r, RAM) : r() < 0.5 ? RAM + randInt(r, 4096) : randInt(r, 2 ** 32) * 2 ** 16,
      len,
      flags,
      next: r() < 0.9 ? randInt(r, QSIZE) : randInt(r, 0x10000),
    };
  };
  const tables: Array<[number, number]> = [[DESC, QSIZE]];
  for (let i = 0; i < QSIZE; i++) h.writeDesc(DESC, i, rand());
  const indirectEntries = (INDIRECT_AREA_END - INDIRECT_AREA) / 16;
  for (let i = 0; i < indirectEntries; i++) {
    const d = rand();
    if (d.flags & VIRTQ_DESC_F_INDIRECT && r() < 0.7) d.addr = INDIRECT_AREA + randInt(r, indirectEntries) * 16;
    h.writeDesc(INDIRECT_AREA, i, d);
  }
  tables.push([INDIRECT_AREA, indirectEntries]);
  // Random headers in the data area so some chains carry plausible requests.
  for (let a = DATA; a < RAM; a += 32) {
    h.dv.setUint32(a, [BLK_T_IN, BLK_T_OUT, BLK_T_FLUSH, BLK_T_GET_ID, BLK_T_DISCARD, randInt(r, 2 ** 32)][randInt(r, 6)]!, true);
    h.dv.setUint32(a + 8, randInt(r, DISK_SECTORS + 4), true);
  }
  // Writable = any WRITE descriptor the device could reach: in a table above, or in a table an INDIRECT entry points at.
  const scanned = new Set<number>();
  const scan = (table: number, entries: number, follow: boolean) => {
    if (!follow) {
      // The same table reached twice only needs one pass (over its longest claimed length).
      if (scanned.has(table * 65536 + Math.min(entries, 65535))) return;
      scanned.add(table * 65536 + Math.min(entries, 65535));
    }
    for (let i = 0; i < entries; i++) {
      const at = table + i * 16;
      if (at + 16 > RAM) break;
      const addr = h.dv.getUint32(at + 4, true) * 2 ** 32 + h.dv.getUint32(at, true);
      const len = h.dv.getUint32(at + 8, true);
      const flags = h.dv.getUint16(at + 12, true);
      if (flags & VIRTQ_DESC_F_INDIRECT) {
        if (follow && addr < RAM) scan(addr, Math.floor(len / 16), false);
      } else if (flags & VIRTQ_DESC_F_WRITE && addr < RAM) h.allow(addr, Math.min(len, RAM - addr));
    }
  };
  for (const [t, n] of tables) scan(t, n, true);
  const posted: Posted[] = [];
  const n = 1 + randInt(r, 4);
  for (let i = 0; i < n; i++) {
    const head = r() < 0.95 ? randInt(r, QSIZE) : randInt(r, 0x10000);
    h.post(head);
    posted.push({ head, expect: { kind: 'any' }, label: 'random', statusAddr: null });
  }
  if (r() < 0.05) h.availIdx = (h.availIdx + QSIZE + 1 + randInt(r, 100)) & 0xffff; // index jump
  return posted;
}

async function runBatch(r: Rng, h: Harness): Promise<void> {
  const { indirect } = h.init(r);
  h.shadow.set(h.ram);
  let posted: Posted[] = [];
  const random = r() < 0.15;
  if (random) posted = randomBatch(r, h);
  else {
    const count = 1 + randInt(r, 4);
    let writeBusy = false;
    for (let i = 0; i < count; i++) {
      const m: Malformation = r() < 0.55 ? 'none' : MALFORMATIONS[randInt(r, MALFORMATIONS.length)]!;
      const p = buildChain(r, h, m, indirect || m === 'indirect-not-negotiated', writeBusy);
      if (!p) break;
      posted.push(p);
      writeBusy = true; // at most one request per batch may change the disk, so reads have one answer
    }
  }
  for (const p of posted) h.count(p.label);
  h.publishAvail();
  // The harness's own writes are done: from here, any change is the device's.
  h.shadow.set(h.ram);
  const before = h.disk.image.slice();
  h.device.queueNotify(0);
  await h.device.whenIdle();
  h.checkWrites(`batch with ${posted.map((p) => p.label).join(', ')}`);

  const broken = h.device.needsResetFlag;
  const usedCount = h.dv.getUint16(USED + 2, true);
  const used = new Map<number, number>();
  for (let i = 0; i < usedCount; i++) used.set(h.dv.getUint32(USED + 4 + (i % QSIZE) * 8, true), h.dv.getUint32(USED + 8 + (i % QSIZE) * 8, true));
  // Plain checks (not expect) in this hot loop: it runs 100k times.
  const fail = (msg: string) => {
    throw new Error(`${msg}; batch: ${posted.map((p) => p.label).join(', ')}; device: ${h.device.brokenReason ?? 'ok'}`);
  };
  for (const p of posted) {
    const what = `${p.label} (head ${p.head})`;
    if (p.expect.kind === 'needs-reset') {
      if (!broken) fail(`${what} must put the device in NEEDS_RESET`);
      continue;
    }
    if (!used.has(p.head)) {
      if (!broken) fail(`${what} was neither completed nor did the device need a reset`);
      continue;
    }
    if (p.expect.kind === 'status' && p.statusAddr !== null && h.ram[p.statusAddr] !== p.expect.status) {
      fail(`${what}: status ${h.ram[p.statusAddr]}, expected ${p.expect.status}`);
    }
    if (p.readBack) {
      // A write in the same batch may land before or after the read: either whole image is right.
      const matches = (image: Uint8Array) => {
        let off = p.readBack!.sector * 512;
        return p.readBack!.bufs.every(([addr, len]) => {
          const ok = Buffer.from(h.ram.buffer, h.ram.byteOffset + addr, len).equals(Buffer.from(image.buffer, off, len));
          off += len;
          return ok;
        });
      };
      if (!matches(before) && !matches(h.disk.image)) fail(`${what}: read returned wrong data`);
    }
  }
  if (!random && !broken && usedCount !== posted.length) fail(`${usedCount} of ${posted.length} requests completed`);
}

describe('virtio-blk fuzz', () => {
  it(`survives ${TARGET_CHAINS} random and malformed descriptor chains`, { timeout: 120_000 }, async () => {
    const r = rng(Number(process.env.FUZZ_SEED ?? 20261127));
    const h = new Harness();
    const t0 = performance.now();
    let batches = 0;
    while (h.chains < TARGET_CHAINS) {
      await runBatch(r, h);
      batches++;
    }
    const seconds = (performance.now() - t0) / 1000;
    const summary = [...h.stats.entries()].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k}: ${v}`).join(', ');
    console.log(`virtio-blk fuzz: ${h.chains} chains in ${batches} batches, ${seconds.toFixed(1)} s; ${summary}`);
    expect(h.chains).toBeGreaterThanOrEqual(TARGET_CHAINS);
    // Every malformation kind was exercised.
    for (const m of MALFORMATIONS) expect(h.stats.get(m) ?? 0, m).toBeGreaterThan(100);
    expect(h.stats.get('random') ?? 0).toBeGreaterThan(5000);
  });
});
