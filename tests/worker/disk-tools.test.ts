// Exporting and discarding a disk through the worker's API, in Node: the
// export streams what the guest sees (its writes included, even those still
// in the write-back cache), only while the machine using the disk is paused
// or stopped, and fails rather than finishing torn when the machine resumes
// mid-way; discarding deletes the stored data without reading it, refuses
// while a machine runs on the disk and turns a paused one off. Node has no
// IndexedDB or OPFS, so a picked file's overlay is in memory here and the
// deletions are checked against a stand-in IndexedDB; the browser's real
// stores are in e2e/disk/disk-tools.e2e.ts.
import { describe, it, expect, afterEach } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MachineHost } from '../../src/machine/worker/machine-host.ts';
import { SpscRing } from '../../src/machine/worker/spsc-ring.ts';
import { pumpRing } from '../../src/machine/worker/ring-io.ts';
import { deleteStoredDisk, sameDisk } from '../../src/machine/worker/disk-tools.ts';
import type { BootRequest, DiskRequest, WorkerEvent } from '../../src/machine/worker/protocol.ts';
import type { DiskStack } from '../../src/storage/index.ts';
import { buildKernel } from '../guest/build-kernel.ts';

const DISK_ASM = fileURLToPath(new URL('../../e2e/disk/guest/disk.asm', import.meta.url));
const ECHO_ASM = fileURLToPath(new URL('../../e2e/page/guest/echo.asm', import.meta.url));
const WRITTEN = 'written by the ts86 disk guest';

class Harness {
  readonly host = new MachineHost();
  readonly events: WorkerEvent[] = [];
  text = '';
  private readonly abort = new AbortController();

  constructor() {
    const out = SpscRing.create(4096);
    this.host.connect({ serialOut: out.buffer, serialIn: SpscRing.create(64).buffer, keyboard: SpscRing.create(64).buffer }, (e) => { this.events.push(e); });
    void pumpRing(out, (b) => { this.text += Buffer.from(b).toString('latin1'); }, this.abort.signal);
  }

  async until(what: string, cond: () => boolean, ms = 60_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; output: ${JSON.stringify(this.text)}; events: ${JSON.stringify(this.events)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** The attached disk's stack, as the worker holds it (to put a write in its cache as a guest would). */
  stack(): DiskStack {
    return (this.host as unknown as { session: { disk: DiskStack } }).session.disk;
  }

  async close(): Promise<void> {
    await this.host.shutdown();
    this.abort.abort();
  }
}

let h: Harness | null = null;
afterEach(async () => { await h?.close(); h = null; });

function image(sectors: number): Uint8Array<ArrayBuffer> {
  const img = new Uint8Array(sectors * 512);
  for (let s = 0; s < sectors; s++) img[s * 512 + 7] = s & 0xff; // every sector tells where it is
  img.set(new TextEncoder().encode('ts86 export test, sector 0'));
  return img;
}

function boot(asm: string, disk: DiskRequest): BootRequest {
  return { memoryMiB: 16, images: { kind: 'multiboot', kernel: new Uint8Array(readFileSync(buildKernel(asm))), kernelName: 'k.elf', cmdline: '' }, disk };
}

async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const p of stream as unknown as AsyncIterable<Uint8Array>) parts.push(p);
  return new Uint8Array(Buffer.concat(parts));
}

describe('exporting a disk', () => {
  it('streams the image with the guest\'s writes once the guest stopped, in pieces', async () => {
    h = new Harness();
    const img = image(4096); // 2 MiB: more than one piece
    const disk: DiskRequest = { kind: 'file', file: new File([img], 'e.img', { lastModified: 1 }), name: 'e.img' };
    await h.host.boot(boot(DISK_ASM, disk));
    await h.until('the guest to exit', () => h!.host.stats().state === 'stopped');
    const stream = await h.host.exportDisk(disk);
    const reader = stream.getReader();
    const first = await reader.read();
    expect(first.value!.length).toBe(1 << 20);
    reader.releaseLock();
    const rest = await readAll(stream);
    const exported = new Uint8Array(Buffer.concat([first.value!, rest]));
    const expected = img.slice();
    expected.fill(0, 512, 1024);
    expected.set(new TextEncoder().encode(WRITTEN), 512);
    expect(exported.length).toBe(img.length);
    expect(Buffer.compare(exported, expected)).toBe(0);
    expect(Buffer.compare(new Uint8Array(await disk.file.arrayBuffer()), img)).toBe(0); // the picked file itself is never written
  });

  it('is refused while the machine runs; paused, it includes writes still in the write-back cache', async () => {
    h = new Harness();
    const img = image(256);
    const disk: DiskRequest = { kind: 'file', file: new File([img], 'p.img', { lastModified: 2 }), name: 'p.img' };
    await h.host.boot(boot(ECHO_ASM, disk));
    await h.until('the echo guest', () => h!.text.includes('ready'));
    await expect(h.host.exportDisk(disk)).rejects.toMatchObject({
      name: 'StorageError',
      message: expect.stringMatching(/^\[locked\] The running machine is using the disk image file p\.img: pause or power off the machine, then download it/),
    });
    h.host.pause();
    await h.stack().top.writev(3, [new Uint8Array(512).fill(0xab)]); // as a guest write: acknowledged, in the cache, not flushed
    const exported = await readAll(await h.host.exportDisk(disk));
    expect(exported.subarray(3 * 512, 4 * 512).every((b) => b === 0xab)).toBe(true);
    expect(Buffer.compare(exported.subarray(0, 3 * 512), img.subarray(0, 3 * 512))).toBe(0);
    expect(h.host.stats().state).toBe('paused'); // exporting does not resume or stop it
  });

  it('fails, instead of finishing torn, when the machine resumes or turns off during the export', async () => {
    h = new Harness();
    const disk: DiskRequest = { kind: 'file', file: new File([image(8192)], 'r.img', { lastModified: 3 }), name: 'r.img' };
    await h.host.boot(boot(ECHO_ASM, disk));
    await h.until('the echo guest', () => h!.text.includes('ready'));
    h.host.pause();
    const reader = (await h.host.exportDisk(disk)).getReader();
    await reader.read();
    h.host.resume();
    await expect(reader.read()).rejects.toMatchObject({
      message: expect.stringMatching(/^\[io\] The download of the disk image file r\.img stopped because the machine was resumed; the image would not be consistent/),
    });

    h.host.pause();
    const second = (await h.host.exportDisk(disk)).getReader();
    await second.read();
    await h.host.shutdown(); // closes the disk only once the export let go of it
    await expect(second.read()).rejects.toMatchObject({ message: expect.stringMatching(/stopped because its machine was turned off or started again/) });
  });

  it('opens a disk no machine uses just for the export', async () => {
    h = new Harness();
    const img = image(128);
    const exported = await readAll(await h.host.exportDisk({ kind: 'file', file: new File([img], 'idle.img'), name: 'idle.img' }));
    expect(Buffer.compare(exported, img)).toBe(0);
  });
});

/** A stand-in for the browser's IndexedDB that records which databases were deleted. */
function fakeIndexedDb(fail?: string): { deleted: string[]; restore(): void } {
  const deleted: string[] = [];
  const g = globalThis as { indexedDB?: unknown };
  const before = g.indexedDB;
  g.indexedDB = {
    deleteDatabase(name: string) {
      const request: Record<string, unknown> = { result: undefined, error: null };
      setTimeout(() => {
        if (fail) {
          request.error = new DOMException(fail, 'UnknownError');
          (request.onerror as () => void)();
        } else {
          deleted.push(name);
          (request.onsuccess as () => void)();
        }
      }, 0);
      return request;
    },
  };
  return { deleted, restore: () => { if (before === undefined) delete g.indexedDB; else g.indexedDB = before; } };
}

describe('discarding a disk\'s changes', () => {
  it('deletes the stored data wherever this host keeps it, without opening it', async () => {
    const idb = fakeIndexedDb();
    try {
      await deleteStoredDisk({ kind: 'url', url: 'http://x/a.img' });
      await deleteStoredDisk({ kind: 'blank', name: 'scratch', sectors: 8 });
      await deleteStoredDisk({ kind: 'file', file: new File([new Uint8Array(512)], 'f.img', { lastModified: 9 }), name: 'f.img' });
      await deleteStoredDisk({ kind: 'file', file: new Blob([new Uint8Array(512)]), name: 'blob.img' }); // memory only: nothing stored
      expect(idb.deleted).toEqual(['ts86-disk:overlay:http://x/a.img', 'ts86-disk:blank:scratch', 'ts86-disk:overlay:file:f.img:512:9']);
    } finally {
      idb.restore();
    }
  });

  it('explains a failed deletion', async () => {
    const idb = fakeIndexedDb('the disk is on fire');
    try {
      await expect(deleteStoredDisk({ kind: 'url', url: 'http://x/a.img' })).rejects.toMatchObject({
        code: 'io', message: expect.stringMatching(/deleting the stored data of the disk image http:\/\/x\/a\.img.*the disk is on fire/),
      });
    } finally {
      idb.restore();
    }
  });

  it('is refused while a machine runs on the disk; a paused one is turned off first', async () => {
    h = new Harness();
    const disk: DiskRequest = { kind: 'url', url: 'http://x/unused.img' };
    const file: DiskRequest = { kind: 'file', file: new File([image(64)], 'd.img', { lastModified: 4 }), name: 'd.img' };
    await h.host.boot(boot(ECHO_ASM, file));
    await h.until('the echo guest', () => h!.text.includes('ready'));
    await expect(h.host.discardDiskChanges(file)).rejects.toMatchObject({
      name: 'StorageError',
      message: expect.stringMatching(/^\[locked\] The running machine is using the disk image file d\.img: pause or power off the machine, then discard the changes/),
    });
    const idb = fakeIndexedDb();
    try {
      await h.host.discardDiskChanges(disk); // another disk: the running machine does not matter
      expect(idb.deleted).toEqual(['ts86-disk:overlay:http://x/unused.img']);
      h.host.pause();
      await h.host.discardDiskChanges(file);
      expect(h.events.filter((e) => e.type === 'state').map((e) => (e as { state: string }).state)).toEqual(['running', 'paused', 'stopped']);
      expect(idb.deleted).toEqual(['ts86-disk:overlay:http://x/unused.img', 'ts86-disk:overlay:file:d.img:32768:4']);
    } finally {
      idb.restore();
    }
  });

  it('matches a tool\'s request to the machine\'s disk by what the disk is stored under', () => {
    const f = new File([new Uint8Array(512)], 'a.img', { lastModified: 5 });
    expect(sameDisk({ kind: 'file', file: f, name: 'a.img' }, { kind: 'file', file: new File([new Uint8Array(512)], 'a.img', { lastModified: 5 }), name: 'a.img' })).toBe(true);
    expect(sameDisk({ kind: 'file', file: f, name: 'a.img' }, { kind: 'file', file: new File([new Uint8Array(512)], 'a.img', { lastModified: 6 }), name: 'a.img' })).toBe(false);
    expect(sameDisk({ kind: 'blank', name: 'x', sectors: 8 }, { kind: 'blank', name: 'x', sectors: 16 })).toBe(true);
    expect(sameDisk({ kind: 'url', url: 'http://h/x' }, { kind: 'blank', name: 'http://h/x', sectors: 8 })).toBe(false);
  });
});
