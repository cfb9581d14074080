// The disk request recorder behind `ts86 boot --disk-trace` and the guest-workload cache benchmark.
import { describe, expect, it } from 'vitest';
import { MemoryBlockDevice } from '../../src/storage/backends/memory.ts';
import { TracingBlockDevice, parseDiskTrace, type DiskTraceRecord } from '../../src/storage/trace.ts';

describe('TracingBlockDevice', () => {
  it('records every request in issue order and passes it through unchanged', async () => {
    const inner = MemoryBlockDevice.create(64);
    const records: DiskTraceRecord[] = [];
    const dev = new TracingBlockDevice(inner, (r) => records.push(r));
    await dev.writev(8, [new Uint8Array(512).fill(7), new Uint8Array(1024).fill(8)], { fua: true });
    const back = new Uint8Array(1536);
    await dev.readv(8, [back]);
    await dev.flush();
    await dev.discard(20, 4);
    expect(back[0]).toBe(7);
    expect(back[1535]).toBe(8);
    expect(records.map(({ t: _t, ...r }) => r)).toEqual([
      { op: 'write', sector: 8, count: 3, fua: true },
      { op: 'read', sector: 8, count: 3 },
      { op: 'flush', sector: 0, count: 0 },
      { op: 'discard', sector: 20, count: 4 },
    ]);
    expect(records.every((r, i) => r.t >= 0 && (i === 0 || r.t >= records[i - 1]!.t))).toBe(true);
    expect(dev.stats()).toEqual(inner.stats());
    expect(dev.capacity).toBe(64);
  });

  it('parses JSON lines back and names a bad line', () => {
    const text = '{"disk":0,"t":1.5,"op":"read","sector":2,"count":8}\n\n{"t":2,"op":"flush","sector":0,"count":0}\n';
    expect(parseDiskTrace(text)).toEqual([
      { disk: 0, t: 1.5, op: 'read', sector: 2, count: 8 },
      { t: 2, op: 'flush', sector: 0, count: 0 },
    ]);
    expect(() => parseDiskTrace('{"t":1,"op":"read","sector":2,"count":8}\nnot json')).toThrow(/line 2 is not JSON/);
    expect(() => parseDiskTrace('{"t":1,"op":"erase","sector":2,"count":8}')).toThrow(/line 1 is not a disk request record/);
  });
});
