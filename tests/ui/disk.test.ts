// Issue #6's page part, without a browser: the disk= URL parameter, the
// checks createVM({ disk }) makes before anything is downloaded, the error
// mapping from the worker's StorageErrors to the page's messages, and the
// worker side in Node: MachineHost opens a picked image file as a disk,
// attaches it as virtio-blk before the machine runs, and our bare-metal
// driver (e2e/disk/guest/disk.asm) reads and writes it through the guest's
// PCI bus. In Node there is neither OPFS nor IndexedDB, so a picked file's
// overlay is in memory here; its persistence across page loads, and URL and
// blank disks, are in e2e/disk/disk.e2e.ts.
import { describe, it, expect, afterEach } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseParams } from '../../src/ui/page/url-params.ts';
import { diskErrorKind, diskRequest, parseDiskParam, describeDiskOptions } from '../../src/ui/disk/disk-request.ts';
import { VMErrorException } from '../../src/ui/vm/errors.ts';
import { MachineHost } from '../../src/machine/worker/machine-host.ts';
import { fileIdentity, forThePage, openRequestedDisk, opfsFileOverlayPath } from '../../src/machine/worker/disk-open.ts';
import { SpscRing } from '../../src/machine/worker/spsc-ring.ts';
import { pumpRing } from '../../src/machine/worker/ring-io.ts';
import type { WorkerEvent } from '../../src/machine/worker/protocol.ts';
import { StorageError } from '../../src/storage/index.ts';
import { buildKernel } from '../guest/build-kernel.ts';

const DISK_ASM = fileURLToPath(new URL('../../e2e/disk/guest/disk.asm', import.meta.url));

function vmErr(f: () => unknown): { kind: string; message: string } {
  try {
    f();
  } catch (e) {
    if (e instanceof VMErrorException) return e.vmError;
    throw e;
  }
  throw new Error('did not throw');
}

describe('disk= URL parameter', () => {
  it('takes a URL (relative to the page) or blank:GiB[:name]', () => {
    expect(parseParams('?multiboot=k.elf&disk=images/disk.img').options).toEqual({ multiboot: 'k.elf', disk: { kind: 'url', url: 'images/disk.img' } });
    expect(parseDiskParam('blank:4')).toEqual({ disk: { kind: 'blank', sizeGiB: 4 } });
    expect(parseDiskParam('blank:0.5G:scratch')).toEqual({ disk: { kind: 'blank', sizeGiB: 0.5, name: 'scratch' } });
    expect(parseParams('?disk=').options).toEqual({});
  });

  it('reports a bad blank size as a problem and boots without a disk', () => {
    const p = parseParams('?disk=blank:lots');
    expect(p.options).toEqual({});
    expect(p.problems).toEqual(['The blank disk size "lots" is not a number of GiB between 0 and 1024; booting without a disk.']);
  });
});

describe('createVM({ disk }) checks', () => {
  it('resolves URLs against the page and sizes blank disks in sectors', () => {
    expect(diskRequest({ kind: 'url', url: 'd/x.img' }, 'http://h:1/app/?q')).toEqual({ kind: 'url', url: 'http://h:1/app/d/x.img' });
    expect(diskRequest({ kind: 'blank', sizeGiB: 2 })).toEqual({ kind: 'blank', name: 'default', sectors: 4 << 20 });
    const file = new File([new Uint8Array(1024)], 'ok.img');
    expect(diskRequest({ kind: 'file', file })).toEqual({ kind: 'file', file, name: 'ok.img' });
  });

  it('refuses, readably, a file that is not whole sectors, an empty file, bad sizes and non-HTTP URLs', () => {
    expect(vmErr(() => diskRequest({ kind: 'file', file: new File([new Uint8Array(1000)], 'odd.img') }))).toEqual({
      kind: 'config',
      message: 'The disk image file odd.img is 1000 bytes, not a whole number of 512-byte sectors. Raw disk images always are; pad it (truncate -s) or convert it to raw (qemu-img convert -O raw).',
    });
    expect(vmErr(() => diskRequest({ kind: 'file', file: new Blob([]) })).message).toMatch(/disk\.img is empty/);
    expect(vmErr(() => diskRequest({ kind: 'blank', sizeGiB: 0 })).message).toMatch(/blank disk needs a size/);
    expect(vmErr(() => diskRequest({ kind: 'blank', sizeGiB: NaN })).message).toMatch(/not NaN/);
    expect(vmErr(() => diskRequest({ kind: 'url', url: 'ftp://x/y.img' }, 'http://h/')).message).toMatch(/not http\(s\)/);
  });

  it('describes disks for the UI', () => {
    expect(describeDiskOptions(undefined)).toBe('no disk');
    expect(describeDiskOptions({ kind: 'file', file: new File([new Uint8Array(1 << 20)], 'a.img') })).toBe('file a.img (1 MiB, changes kept in this browser)');
    expect(describeDiskOptions({ kind: 'file', file: new Blob([new Uint8Array(1 << 20)]), name: 'b.img' })).toBe('file b.img (1 MiB, changes lost when the machine is rebuilt)');
  });
});

describe('disk errors from the worker', () => {
  it('carry the StorageError code through comlink (name + message) to pick the message kind', () => {
    const e = forThePage(new StorageError('not-found', 'disk image http://x/a.img was not found (HTTP 404)'));
    expect(e.name).toBe('StorageError');
    expect(e.message).toBe('[not-found] disk image http://x/a.img was not found (HTTP 404)');
    expect(diskErrorKind('not-found')).toBe('download');
    expect(diskErrorKind('range-unsupported')).toBe('download');
    expect(diskErrorKind('quota-exceeded')).toBe('config');
    expect(diskErrorKind(undefined)).toBe('config');
    expect(diskErrorKind('not-found', 'file')).toBe('config'); // a picked file that can no longer be read is not a download
  });

  it('explain a server without Range support and a missing image', async () => {
    const noRange = (async () => new Response(new Uint8Array(4096), { status: 200 })) as typeof fetch;
    await expect(openRequestedDisk({ kind: 'url', url: 'http://x/a.img' }, { fetch: noRange })).rejects.toMatchObject({
      code: 'range-unsupported',
      message: expect.stringMatching(/^the disk image http:\/\/x\/a\.img cannot be used as a disk: its server does not support HTTP Range requests/),
    });
    const missing = (async () => new Response('nope', { status: 404 })) as typeof fetch;
    await expect(openRequestedDisk({ kind: 'url', url: 'http://x/b.img' }, { fetch: missing })).rejects.toMatchObject({
      code: 'not-found', message: expect.stringMatching(/was not found \(HTTP 404\)/),
    });
  });

  it('explain a full browser storage (quota exceeded)', async () => {
    // Node has no IndexedDB; the explanation is what matters, so feed the error through the same path.
    const { explainDiskError } = await import('../../src/machine/worker/disk-open.ts');
    const e = explainDiskError(new StorageError('quota-exceeded', 'storage quota exceeded while writing 64 KiB'), { kind: 'blank', name: 'big', sectors: 8 });
    expect(e.code).toBe('quota-exceeded');
    expect(e.message).toMatch(/^The browser refused to store more data for the blank disk "big" \(storage quota exceeded\)\. Free space/);
  });
});

describe('a picked file as a disk', () => {
  it('is read lazily under a copy-on-write overlay: the guest\'s writes never reach the file', async () => {
    const image = new Uint8Array(64 * 512);
    image.set(new TextEncoder().encode('lazy'), 512);
    const file = new File([image], 'lazy.img', { lastModified: 5 });
    const stack = await openRequestedDisk({ kind: 'file', file, name: 'lazy.img' });
    expect(stack.top.readOnly).toBe(false);
    const cow = stack.cow!.stats();
    expect(cow.lower.map((l) => l.layer)).toEqual(['memory-overlay', 'blob:lazy.img']);
    const sector = new Uint8Array(512);
    await stack.top.readv(1, [sector]);
    expect(new TextDecoder().decode(sector.subarray(0, 4))).toBe('lazy');
    await stack.top.writev(1, [new Uint8Array(512).fill(7)]);
    await stack.top.readv(1, [sector]);
    expect(sector.every((b) => b === 7)).toBe(true);
    await stack.close();
    expect(new Uint8Array(await file.arrayBuffer())).toEqual(image);
  });

  it('keeps changes under the file\'s name, size and date (a plain Blob has none: memory only)', () => {
    expect(fileIdentity(new File([new Uint8Array(1024)], 'a.img', { lastModified: 1700000000123 }))).toBe('file:a.img:1024:1700000000123');
    expect(fileIdentity(new Blob([new Uint8Array(1024)]))).toBeNull();
    expect(opfsFileOverlayPath('file:a/b..img:1024:5')).toMatch(/^ts86-files\/a%2Fb\.\.img%3A1024%3A5\.[0-9a-f]{8}\.overlay$/);
    // Long names that share a prefix still get different, short paths.
    const long = (tail: string) => opfsFileOverlayPath(`file:${'x'.repeat(500)}${tail}.img:1024:5`);
    expect(long('1')).not.toBe(long('2'));
    expect(long('1').length).toBeLessThan(160);
  });

  it('explains a file that was changed or deleted after it was picked', async () => {
    class GoneFile extends File {
      override slice(): Blob {
        return { arrayBuffer: () => Promise.reject(new DOMException('The requested file could not be read', 'NotReadableError')) } as Blob;
      }
    }
    const file = new GoneFile([new Uint8Array(64 * 512)], 'gone.img');
    // Opening reads sector 0, so the problem shows at boot rather than as the guest's I/O errors.
    await expect(openRequestedDisk({ kind: 'file', file, name: 'gone.img' })).rejects.toMatchObject({
      code: 'not-found',
      message: expect.stringMatching(/^The disk image file gone\.img can no longer be read: it was changed, moved or deleted after it was picked\. Pick the file again\./),
    });
  });
});

describe('MachineHost with a disk', () => {
  let host: MachineHost | null = null;
  const abort = new AbortController();
  afterEach(async () => { await host?.shutdown(); abort.abort(); });

  it('attaches a picked image file as virtio-blk before boot; the guest driver reads sector 0 and writes sector 1', async () => {
    host = new MachineHost();
    const out = SpscRing.create(4096);
    const events: WorkerEvent[] = [];
    let text = '';
    host.connect({ serialOut: out.buffer, serialIn: SpscRing.create(64).buffer, keyboard: SpscRing.create(64).buffer }, (e) => { events.push(e); });
    void pumpRing(out, (b) => { text += Buffer.from(b).toString('latin1'); }, abort.signal);
    const image = new Uint8Array(64 * 512);
    image.set(new TextEncoder().encode('ts86 test disk, sector zero'));
    const kernel = new Uint8Array(readFileSync(buildKernel(DISK_ASM)));
    await host.boot({
      memoryMiB: 16,
      images: { kind: 'multiboot', kernel, kernelName: 'disk.elf', cmdline: '' },
      disk: { kind: 'file', file: new File([image], 'test.img'), name: 'test.img' },
    });
    const deadline = Date.now() + 60_000;
    while (!events.some((e) => e.type === 'exit') || !text.includes('done')) {
      if (Date.now() > deadline) throw new Error(`no exit; output: ${text}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(text).toBe(
      'capacity: 0000000000000040\r\n' +
      'sector0: ts86 test disk, sector zero\r\n' +
      'sector1 before: \r\n' +
      'sector1 after: written by the ts86 disk guest\r\n' +
      'disk test done\r\n');
    expect(events.find((e) => e.type === 'exit')).toMatchObject({ type: 'exit', status: 33 });
    // The status bar's figures: three one-sector reads and one write by the guest, no HTTP image.
    expect(host.stats().disk).toMatchObject({ readBytes: 3 * 512, writtenBytes: 512, fetchedBytes: null, imageBytes: null, dirtyBytes: 0 });
    expect(host.stats().disk!.cacheHitRate).toBeGreaterThan(0); // sector 1 read back after its write
  });
});
