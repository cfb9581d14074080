// Atomic, durable metadata on plain files (OPFS, host files), which offer
// neither atomic writes nor rename everywhere: two files used alternately.
// Each holds [magic][generation][length][crc32][payload]; save() overwrites the
// older slot and flushes it, load() takes the valid slot with the highest
// generation. A torn write fails its CRC and the other slot still holds the
// previous record.

import { crc32 } from '../crc32.ts';
import { StorageError } from '../errors.ts';
import type { RandomAccessFile } from '../random-access-file.ts';
import type { MetadataStore } from './metadata-store.ts';

const MAGIC = 0x54533853; // "TS8S"
const HEADER = 20;

interface Slot {
  generation: number;
  payload: Uint8Array;
}

export class SlotRecordStore implements MetadataStore {
  private generation = 0;
  /** Index of the slot holding the newest valid record, -1 if none. */
  private current = -1;
  private loaded = false;

  constructor(private readonly slots: readonly [RandomAccessFile, RandomAccessFile]) {}

  get name(): string {
    return `slots:${this.slots[0].name}`;
  }

  async load(): Promise<Uint8Array | null> {
    const records = await Promise.all(this.slots.map((f) => readSlot(f)));
    this.loaded = true;
    let best = -1;
    records.forEach((r, i) => {
      if (typeof r === 'object' && (best < 0 || r.generation > (records[best] as Slot).generation)) best = i;
    });
    this.current = best;
    if (best < 0) {
      // A save only ever writes one slot, so two damaged slots mean outside corruption:
      // refuse rather than silently presenting an empty overlay.
      if (records.every((r) => r === 'invalid')) {
        throw new StorageError('corrupt', `metadata in ${this.name} failed its integrity check in both slots; reset the overlay`);
      }
      return null;
    }
    const slot = records[best] as Slot;
    this.generation = slot.generation;
    return slot.payload;
  }

  async save(bytes: Uint8Array): Promise<void> {
    if (!this.loaded) await this.load();
    const target = this.current === 0 ? 1 : 0;
    const generation = this.generation + 1;
    const record = new Uint8Array(HEADER + bytes.length);
    const dv = new DataView(record.buffer);
    dv.setUint32(0, MAGIC, true);
    dv.setFloat64(4, generation, true);
    dv.setUint32(12, bytes.length, true);
    record.set(bytes, HEADER);
    dv.setUint32(16, crc32(record.subarray(HEADER), crc32(record.subarray(0, 16))), true);
    const file = this.slots[target];
    await file.write(0, record);
    await file.truncate(record.length);
    await file.flush();
    this.generation = generation;
    this.current = target;
  }

  async close(): Promise<void> {
    await Promise.all(this.slots.map((f) => f.close()));
  }
}

async function readSlot(file: RandomAccessFile): Promise<Slot | 'empty' | 'invalid'> {
  const size = await file.size();
  if (size === 0) return 'empty';
  const record = new Uint8Array(size);
  const n = await file.read(0, record);
  if (n < HEADER) return 'invalid';
  const dv = new DataView(record.buffer);
  if (dv.getUint32(0, true) !== MAGIC) return 'invalid';
  const generation = dv.getFloat64(4, true);
  const length = dv.getUint32(12, true);
  if (!Number.isSafeInteger(generation) || HEADER + length > n) return 'invalid';
  const expected = crc32(record.subarray(HEADER, HEADER + length), crc32(record.subarray(0, 16)));
  if (dv.getUint32(16, true) !== expected) return 'invalid';
  return { generation, payload: record.slice(HEADER, HEADER + length) };
}
