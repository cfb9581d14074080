// The page's side of downloading a disk and discarding its changes, without
// a browser: the file name a download gets, the exported stream collected
// into a Blob, the worker's refusals and storage errors turned into VMErrors,
// the damaged-overlay message naming the page's button, and both VM handles'
// answers when there is nothing to act on (no disk, KVM mode).
import { describe, it, expect } from 'vitest';
import { diskImageFileName, storageErrorParts } from '../../src/ui/disk/disk-request.ts';
import { diskToolError, streamToBlob } from '../../src/ui/disk/disk-export.ts';
import { explainDiskError, forThePage } from '../../src/machine/worker/disk-open.ts';
import { DISCARD_CHANGES_LABEL } from '../../src/machine/worker/protocol.ts';
import { CowOverlay, MemoryBlockDevice, MemoryMetadataStore, StorageError } from '../../src/storage/index.ts';
import { VM } from '../../src/ui/vm/vm.ts';
import { KvmVM } from '../../src/ui/kvm/kvm-vm.ts';
import { VMErrorException } from '../../src/ui/vm/errors.ts';

async function rejection(p: Promise<unknown>): Promise<{ kind: string; message: string }> {
  try {
    await p;
  } catch (e) {
    if (e instanceof VMErrorException) return e.vmError;
    throw e;
  }
  throw new Error('did not reject');
}

describe('a downloaded disk image', () => {
  it('is named after the disk, as a raw .img', () => {
    expect(diskImageFileName({ kind: 'url', url: 'https://example.org/images/debian%20root.img?v=2' })).toBe('debian root.img');
    expect(diskImageFileName({ kind: 'url', url: '/test-disks/disk-abc.raw' })).toBe('disk-abc.img');
    expect(diskImageFileName({ kind: 'url', url: 'https://example.org/' })).toBe('disk.img');
    expect(diskImageFileName({ kind: 'blank', sizeGiB: 1 })).toBe('default.img');
    expect(diskImageFileName({ kind: 'blank', sizeGiB: 1, name: 'a/b:c' })).toBe('a_b_c.img');
    expect(diskImageFileName({ kind: 'file', file: new File([], 'picked.IMG') })).toBe('picked.img');
    expect(diskImageFileName({ kind: 'file', file: new Blob([]), name: 'vm.qcow-converted' })).toBe('vm.qcow-converted.img');
  });

  it('is collected from the worker\'s stream piece by piece into one Blob', async () => {
    const pieces = [new Uint8Array(3).fill(1), new Uint8Array(5).fill(2), new Uint8Array(2).fill(3)];
    const stream = new ReadableStream<Uint8Array>({
      pull(c) {
        const p = pieces.shift();
        if (p) c.enqueue(p);
        else c.close();
      },
    });
    const blob = await streamToBlob(stream, 'application/octet-stream', 4); // folds after every 4 bytes
    expect(blob.type).toBe('application/octet-stream');
    expect([...new Uint8Array(await blob.arrayBuffer())]).toEqual([1, 1, 1, 2, 2, 2, 2, 2, 3, 3]);
  });

  it('fails with the worker\'s message when the stream does (its error keeps only the message)', async () => {
    const worker = forThePage(new StorageError('io', 'The download of the disk image x stopped because the machine was resumed; download it again.'));
    const stream = new ReadableStream<Uint8Array>({ pull(c) { c.error(new Error(worker.message)); } });
    const err = await streamToBlob(stream).catch((e: unknown) => diskToolError(e, 'download', { kind: 'url', url: 'x' }));
    expect((err as VMErrorException).vmError).toEqual({
      kind: 'config',
      message: 'The disk image could not be downloaded: The download of the disk image x stopped because the machine was resumed; download it again.',
    });
    expect(storageErrorParts(new Error('[not-found] gone'))).toEqual({ code: 'not-found', message: 'gone' });
    expect(storageErrorParts(new Error('no code here'))).toBeNull();
    expect(diskToolError(new Error('[not-found] gone'), 'download', { kind: 'url', url: 'x' }).vmError.kind).toBe('download');
    expect(diskToolError(new Error('[locked] in use'), 'discard', { kind: 'blank', sizeGiB: 1 }).vmError).toEqual({
      kind: 'config', message: 'The disk changes could not be discarded: in use',
    });
  });
});

describe('a damaged overlay', () => {
  it('is refused with a message that names the page\'s discard button', async () => {
    const base = MemoryBlockDevice.create(64, { name: 'base' });
    const meta = new MemoryMetadataStore();
    await meta.save(new TextEncoder().encode('TS86COW1 but not really a dirty-chunk map'));
    const damaged = await CowOverlay.open(base, MemoryBlockDevice.create(64), meta).catch((e: unknown) => e);
    expect(damaged).toMatchObject({ code: 'corrupt' });
    const url = explainDiskError(damaged, { kind: 'url', url: 'http://h/d.img' });
    expect(url.code).toBe('corrupt');
    expect(url.message).toBe(
      'The changes kept in this browser for the disk image http://h/d.img are damaged, so they are not used ' +
      `(dirty-chunk map in ${meta.name} is damaged (checksum mismatch)). ` +
      `To boot the original image again, press "${DISCARD_CHANGES_LABEL}" (under Boot images, disk and command line) to delete them.`);
    expect(explainDiskError(damaged, { kind: 'blank', name: 'b', sectors: 64 }).message).toMatch(
      new RegExp(`^The data of the blank disk "b" kept in this browser is damaged.*To start again with an empty disk, press "${DISCARD_CHANGES_LABEL}"`));
    const resized = explainDiskError(new StorageError('mismatch', "IndexedDB disk 'blank:b' was created with 8 sectors in 64 KiB chunks, but was opened with 16 sectors in 64 KiB chunks; open it with its own geometry or delete it"),
      { kind: 'blank', name: 'b', sectors: 16 });
    expect(resized.message).toMatch(/^The blank disk "b" kept in this browser was created with another size \(IndexedDB disk 'blank:b' was created with 8 sectors in 64 KiB chunks, but was opened with 16 sectors in 64 KiB chunks\)\. Boot it with that size, or press "Discard disk changes"/);
  });
});

describe('the VM handles', () => {
  it('say when there is no disk, and that the page must be cross-origin isolated', async () => {
    const vm = new VM({ autostart: false });
    try {
      expect(await rejection(vm.exportDisk())).toEqual({ kind: 'config', message: 'There is no disk to download: this VM has none.' });
      expect(await rejection(vm.discardDiskChanges())).toEqual({ kind: 'config', message: 'There are no disk changes to discard: this VM has no disk.' });
      expect((await rejection(vm.exportDisk({ kind: 'url', url: 'http://h/d.img' }))).kind).toBe('isolation');
      expect((await rejection(vm.discardDiskChanges({ kind: 'blank', sizeGiB: 0 }))).message).toMatch(/blank disk needs a size/);
    } finally {
      vm.destroy();
    }
  });

  it('reject in KVM mode, which has no browser disk', async () => {
    const kvm = new KvmVM({ relay: { url: 'ws://127.0.0.1:1/', token: 't' } });
    try {
      expect(await rejection(kvm.exportDisk())).toEqual({
        kind: 'config',
        message: 'Downloading the disk image is not available in KVM mode: QEMU runs the guest on the relay\'s computer without the disks kept in this browser. Switch KVM mode off first.',
      });
      expect((await rejection(kvm.discardDiskChanges())).message).toMatch(/^Discarding disk changes is not available in KVM mode/);
    } finally {
      kvm.destroy();
    }
  });
});
