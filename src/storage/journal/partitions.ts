// Partition tables, to find filesystems that do not start at sector 0:
// MBR primaries, the extended-partition (EBR) chain, and GPT.

import { SECTOR_SIZE } from '../block-device.ts';
import { view, type ByteReader } from './byte-reader.ts';

export interface Partition {
  /** Where it came from, for log messages: "mbr1", "ebr5", "gpt2". */
  label: string;
  startSector: number;
  sectors: number;
}

const MAX_LOGICAL = 64;
const MAX_GPT_ENTRIES = 1024;
const EXTENDED_TYPES = new Set([0x05, 0x0f, 0x85]);
const GPT_PROTECTIVE = 0xee;

export async function readPartitions(read: ByteReader, diskSectors: number): Promise<Partition[]> {
  if (diskSectors < 1) return [];
  const mbr = await read(0, SECTOR_SIZE);
  if (mbr[510] !== 0x55 || mbr[511] !== 0xaa) return [];
  const entries = mbrEntries(mbr);
  if (entries.some((e) => e.type === GPT_PROTECTIVE)) return readGpt(read, diskSectors);
  const out: Partition[] = [];
  entries.forEach((e, i) => {
    if (e.type === 0 || e.sectors === 0) return;
    if (EXTENDED_TYPES.has(e.type)) return;
    out.push({ label: `mbr${i + 1}`, startSector: e.start, sectors: e.sectors });
  });
  const ext = entries.find((e) => EXTENDED_TYPES.has(e.type) && e.sectors > 0);
  if (ext) out.push(...(await readLogical(read, ext.start, diskSectors)));
  return out.filter((p) => p.startSector > 0 && p.startSector + p.sectors <= diskSectors);
}

interface MbrEntry {
  type: number;
  start: number;
  sectors: number;
}

function mbrEntries(sector: Uint8Array): MbrEntry[] {
  const dv = view(sector);
  const out: MbrEntry[] = [];
  for (let i = 0; i < 4; i++) {
    const o = 446 + i * 16;
    out.push({ type: sector[o + 4]!, start: dv.getUint32(o + 8, true), sectors: dv.getUint32(o + 12, true) });
  }
  return out;
}

/** Logical partitions: each EBR holds one partition (relative to itself) and a link (relative to the extended partition). */
async function readLogical(read: ByteReader, extStart: number, diskSectors: number): Promise<Partition[]> {
  const out: Partition[] = [];
  const seen = new Set<number>();
  let ebr = extStart;
  for (let n = 0; n < MAX_LOGICAL && ebr > 0 && ebr < diskSectors && !seen.has(ebr); n++) {
    seen.add(ebr);
    const sector = await read(ebr * SECTOR_SIZE, SECTOR_SIZE);
    if (sector[510] !== 0x55 || sector[511] !== 0xaa) break;
    const [part, link] = mbrEntries(sector);
    if (part && part.type !== 0 && part.sectors > 0) out.push({ label: `ebr${5 + n}`, startSector: ebr + part.start, sectors: part.sectors });
    if (!link || link.type === 0 || link.start === 0) break;
    ebr = extStart + link.start;
  }
  return out;
}

async function readGpt(read: ByteReader, diskSectors: number): Promise<Partition[]> {
  if (diskSectors < 3) return [];
  const header = await read(SECTOR_SIZE, SECTOR_SIZE);
  if (new TextDecoder().decode(header.subarray(0, 8)) !== 'EFI PART') return [];
  const dv = view(header);
  const entriesLba = Number(dv.getBigUint64(0x48, true));
  const count = Math.min(dv.getUint32(0x50, true), MAX_GPT_ENTRIES);
  const entrySize = dv.getUint32(0x54, true);
  if (entrySize < 128 || entrySize > 4096 || entriesLba < 2 || entriesLba >= diskSectors) return [];
  const bytes = count * entrySize;
  if (entriesLba * SECTOR_SIZE + bytes > diskSectors * SECTOR_SIZE) return [];
  const table = await read(entriesLba * SECTOR_SIZE, bytes);
  const out: Partition[] = [];
  for (let i = 0; i < count; i++) {
    const e = table.subarray(i * entrySize, (i + 1) * entrySize);
    if (e.subarray(0, 16).every((b) => b === 0)) continue; // unused entry
    const ev = view(e);
    const first = Number(ev.getBigUint64(0x20, true));
    const last = Number(ev.getBigUint64(0x28, true));
    if (first < 1 || last < first || last >= diskSectors) continue;
    out.push({ label: `gpt${i + 1}`, startSector: first, sectors: last - first + 1 });
  }
  return out;
}
