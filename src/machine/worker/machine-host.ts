// The machine as the page controls it: the object the Worker exposes through
// comlink. It builds a PC from a boot request, runs it on a RunLoop, connects
// COM1 and the keyboard to the page's rings, and reports what happens as
// events; it also exports and discards the disks (disk-tools.ts). It has no
// DOM and no Worker globals, so tests drive it directly in Node.
import * as Comlink from 'comlink';
import { Pc } from '../pc.ts';
import { RunLoop, type RunResult } from '../run-loop.ts';
import { linuxBootProgram } from '../boot/linux.ts';
import { multibootBootProgram } from '../boot/multiboot.ts';
import { crashDump } from '../crash-dump.ts';
import { Vga, VGA_STATE_OFFSET } from '../../devices/vga.ts';
import { RAM_OFFSET } from '../../x86/state.ts';
import { SpscRing } from './spsc-ring.ts';
import { RingWriter, pumpRing } from './ring-io.ts';
import { keyboardSinkFor, type KeyboardSink } from './keyboard-sink.ts';
import { describeDisk, explainDiskError, forThePage, openRequestedDisk } from './disk-open.ts';
import { DiskExports, deleteStoredDisk, exportInterrupted, sameDisk } from './disk-tools.ts';
import { diskActivity } from './disk-activity.ts';
import { attachCodeScanner, type CodeScanner } from '../../scanner/code-scanner.ts';
import { mergeSignatureSets, parseSignatureFile } from '../../scanner/signatures.ts';
import { ConfigError } from '../memory.ts';
import { StorageError, type DiskStack } from '../../storage/index.ts';
import type { BootRequest, SignatureFile, DiskRequest, MachineMemory, MachineState, MachineStats, RingBuffers, WorkerEvent, WorkerEventBody } from './protocol.ts';

interface Session {
  id: number;
  request: BootRequest;
  pc: Pc;
  loop: RunLoop;
  keyboard: KeyboardSink;
  memory: MachineMemory;
  /** The attached disk's storage stack (closed at shutdown), if the request asked for one. */
  disk: DiskStack | null;
  /** The code scanner, when the request gave signatures. */
  scanner: CodeScanner | null;
  /** Settles when the run loop has returned and its result was reported. */
  done: Promise<void>;
}

/** How long a paused machine's disk requests may take to finish before an export gives up. */
const SETTLE_TIMEOUT_MS = 30_000;

/** The board's VGA if it has one (it may move into pc.ts), else one attached here. */
function attachVga(pc: Pc): Vga {
  const existing = (pc as { vga?: unknown }).vga;
  if (existing instanceof Vga) return existing;
  const m = pc.machine;
  const vga = new Vga(m.views.memory, m.views.ram8, m.clock);
  vga.attach(m.bus);
  m.addResettable(vga);
  return vga;
}

/** The request's signature files as one set; a bad file is a ConfigError that names the file and line. */
function parseSignatures(files: SignatureFile[]) {
  try {
    return mergeSignatureSets(files.map((f) => parseSignatureFile(f.name, f.text)));
  } catch (e) {
    throw new ConfigError(`A code scanner signature file cannot be used: ${e instanceof Error ? e.message : String(e)}`);
  }
}

export class MachineHost {
  private listener: (e: WorkerEvent) => void = () => {};
  private serialOut: RingWriter | null = null;
  private inputs: AbortController | null = null;
  private session: Session | null = null;
  private state: MachineState = 'off';
  private sessions = 0;
  private readonly exports = new DiskExports();

  /** Once per worker: the rings to the page and where events go. */
  connect(rings: RingBuffers, listener: (e: WorkerEvent) => void): void {
    this.inputs?.abort();
    this.serialOut?.dispose();
    this.listener = listener;
    this.serialOut = new RingWriter(new SpscRing(rings.serialOut));
    const inputs = (this.inputs = new AbortController());
    void pumpRing(new SpscRing(rings.serialIn), (bytes) => this.serialInput(bytes), inputs.signal);
    void pumpRing(new SpscRing(rings.keyboard), (bytes) => this.session?.keyboard.sendSet2(bytes), inputs.signal);
  }

  /**
   * Builds a machine from the request and starts it. Throws BootImageError or
   * ConfigError (the page shows their messages) before anything runs.
   */
  async boot(request: BootRequest): Promise<MachineMemory> {
    await this.shutdown();
    const wanted = request.disk;
    if (wanted) await this.exports.fail((d) => sameDisk(d, wanted), exportInterrupted(wanted, 'a machine was started with it'));
    // Signatures are checked first: a bad line refuses the boot before anything is opened.
    const signatures = request.signatures?.length ? parseSignatures(request.signatures) : null;
    const id = ++this.sessions;
    const pc = new Pc({ memoryMiB: request.memoryMiB, clock: request.clock });
    const m = pc.machine;
    attachVga(pc);
    // The disk goes on the PCI bus before anything runs (there is no hotplug).
    const disk = request.disk ? await openRequestedDisk(request.disk).catch((e: unknown) => { throw forThePage(e); }) : null;
    try {
      // A failing disk pauses the machine instead of handing the guest an I/O error it would act on (remount read-only, lose data).
      if (disk) pc.attachDisk(disk.top, { serial: 'ts86-disk0', errorPolicy: 'stop' });
    } catch (e) {
      await disk?.close().catch(() => {});
      throw e;
    }
    const img = request.images;
    m.setBootProgram(img.kind === 'linux'
      ? linuxBootProgram(pc, img.kernel, img.initrd, img.cmdline, img.kernelName)
      : multibootBootProgram(img.kernel, img.cmdline, img.kernelName));
    pc.com1.onTransmit = (b) => this.serialOut?.push(b);
    m.onEvent((e) => {
      if (e.type === 'reset') this.emit(id, { type: 'reset', reason: e.reason });
    });
    const loop = new RunLoop(m);
    // Device completions (virtio) must wake a halted guest at once, not at the next timer.
    pc.wakeHost = () => loop.wake();
    const keyboard = keyboardSinkFor(pc, () => this.emit(id, {
      type: 'notice',
      message: 'This build has no PS/2 keyboard controller yet, so keys typed on the screen go nowhere; type into the serial console instead.',
    }));
    const memory: MachineMemory = { session: id, memory: m.views.memory, ramOffset: RAM_OFFSET, ramBytes: m.views.ramBytes, vgaStateOffset: VGA_STATE_OFFSET };
    let detections = 0;
    const scanner = signatures
      ? attachCodeScanner(m, signatures, (d) => this.emit(id, {
        type: 'detection', name: d.name, phys: d.phys, kind: d.kind, instructions: d.instructions, index: ++detections,
      }))
      : null;
    const session: Session = { id, request, pc, loop, keyboard, memory, disk, scanner, done: Promise.resolve() };
    pc.onDiskHeld = (_disk, error) => this.diskFailed(session, error);
    this.session = session;
    this.setState(id, 'running');
    session.done = loop.run().then((result) => this.finished(session, result));
    return memory;
  }

  pause(): void {
    if (this.session && this.state === 'running') {
      this.session.loop.pause();
      this.setState(this.session.id, 'paused');
    }
  }

  /** Continues a paused machine; requests a failed disk was holding run again first. */
  resume(): void {
    if (this.session && this.state === 'paused') {
      const used = this.session.request.disk;
      if (used) void this.exports.fail((d) => sameDisk(d, used), exportInterrupted(used, 'the machine was resumed'));
      this.session.pc.retryHeldDisks();
      this.session.loop.resume();
      this.setState(this.session.id, 'running');
    }
  }

  /**
   * Hardware reset. A running or paused machine resets in place (comlink
   * calls arrive between time slices, so this never interrupts an
   * instruction); a stopped one is rebuilt from the same images, which gives
   * it new memory, so the page must take the returned memory.
   */
  async reset(): Promise<MachineMemory | null> {
    const s = this.session;
    if (!s) return null;
    if (this.state === 'stopped') return this.boot(s.request);
    s.pc.machine.reset();
    s.keyboard.reset();
    s.loop.wake();
    this.emit(s.id, { type: 'reset', reason: 'reset by the user' });
    return s.memory;
  }

  stats(): MachineStats {
    const s = this.session;
    if (!s) {
      return { state: this.state, instructions: 0, guestNs: 0, busyMs: 0, haltedMs: 0, halted: false, serialTxBytes: 0, serialRxBytes: 0, memoryMiB: 0, disk: null, scanner: null };
    }
    const m = s.pc.machine;
    return {
      state: this.state,
      instructions: m.cpu.instructionCount,
      guestNs: m.clock.nowNs(),
      busyMs: s.loop.stats.hostMs,
      haltedMs: s.loop.stats.haltedMs,
      halted: m.halted,
      serialTxBytes: s.pc.com1.counters.txBytes,
      serialRxBytes: s.pc.com1.counters.rxBytes,
      memoryMiB: m.views.ramBytes >> 20,
      disk: s.disk ? diskActivity(s.disk) : null,
      scanner: s.scanner ? { ...s.scanner.counters } : null,
    };
  }

  /** Stops the machine (if any) and waits for its loop to return. */
  async shutdown(): Promise<void> {
    const s = this.session;
    if (!s) return;
    s.loop.stop();
    await s.done;
    this.session = null;
    const used = s.request.disk;
    if (used) await this.exports.fail((d) => sameDisk(d, used), exportInterrupted(used, 'its machine was turned off or started again'));
    await this.closeDisk(s);
  }

  /**
   * The disk `request` names as a raw image, as the guest sees it (the image
   * with this browser's changes), streamed as the page reads it: one piece in
   * memory at a time, whatever the disk's size. The machine using the disk
   * must be paused or stopped (a guest writing meanwhile would tear the
   * image); a disk no machine uses is opened for the export alone.
   */
  async exportDisk(request: DiskRequest): Promise<ReadableStream<Uint8Array>> {
    const s = this.session;
    let stream: ReadableStream<Uint8Array>;
    if (s?.disk && s.request.disk && sameDisk(s.request.disk, request)) {
      const disk = s.disk;
      this.refuseWhileRunning(`The running machine is using ${describeDisk(request)}: pause or power off the machine, then download it (an image copied while the guest writes would not be consistent).`);
      try {
        await this.requestsSettled(s);
        if (!disk.top.readOnly) await disk.top.flush();
      } catch (e) {
        throw forThePage(explainDiskError(e, request));
      }
      if (this.session !== s || s.disk !== disk || this.state === 'running') {
        throw forThePage(exportInterrupted(request, 'the machine was resumed or turned off'));
      }
      // Read below the cache: everything is flushed to there, and the guest's cached blocks stay cached.
      stream = this.exports.stream(request, disk.cow ?? disk.base);
    } else {
      const disk = await openRequestedDisk(request, { cacheBytes: 0 }).catch((e: unknown) => { throw forThePage(e); });
      stream = this.exports.stream(request, disk.top, () => disk.close());
    }
    return Comlink.transfer(stream, [stream]);
  }

  /**
   * Deletes the changes this browser keeps for the disk `request` names (for
   * a blank disk: the disk itself), without reading them, so a damaged
   * overlay goes too. A paused or stopped machine using the disk is turned
   * off first; a running one is left alone and this refuses.
   */
  async discardDiskChanges(request: DiskRequest): Promise<void> {
    const s = this.session;
    if (s?.request.disk && sameDisk(s.request.disk, request)) {
      this.refuseWhileRunning(`The running machine is using ${describeDisk(request)}: pause or power off the machine, then discard the changes (a paused machine is turned off).`);
      await this.shutdown();
    }
    await this.exports.fail((d) => sameDisk(d, request), exportInterrupted(request, 'its changes were discarded'));
    await deleteStoredDisk(request).catch((e: unknown) => { throw forThePage(e); });
  }

  private refuseWhileRunning(message: string): void {
    if (this.state === 'running') throw forThePage(new StorageError('locked', message));
  }

  /** A paused guest's disk requests may still be running; held ones (a failed disk) never finish and are left out. */
  private async requestsSettled(s: Session): Promise<void> {
    const deadline = Date.now() + SETTLE_TIMEOUT_MS;
    while (s.pc.disks.some((d) => d.blk.inflightRequests > d.blk.heldRequests)) {
      if (Date.now() > deadline) throw new StorageError('io', `the guest's disk requests did not finish within ${SETTLE_TIMEOUT_MS / 1000} s`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  /** Lets in-flight disk requests finish, then flushes and closes the disk (the overlay persists). */
  private async closeDisk(s: Session): Promise<void> {
    const disk = s.disk;
    if (!disk) return;
    s.disk = null;
    try {
      await s.pc.disksIdle();
      await disk.close();
    } catch (e) {
      this.emit(s.id, { type: 'notice', message: `The disk could not be saved: ${e instanceof Error ? e.message : String(e)}` });
    }
  }

  /** The disk failed under a running guest: pause (the request stays held) and say why and what to do. */
  private diskFailed(s: Session, error: Error): void {
    if (this.session !== s || !s.request.disk) return;
    if (this.state === 'running') {
      s.loop.pause();
      this.setState(s.id, 'paused');
    }
    const explained = explainDiskError(error, s.request.disk);
    this.emit(s.id, {
      type: 'disk-error',
      code: explained.code,
      message: `The machine is paused because the disk failed: ${explained.message} Writes the guest had flushed are stored. Fix the cause and resume to retry.`,
    });
  }

  private serialInput(bytes: Uint8Array): void {
    const s = this.session;
    if (!s || this.state === 'stopped') return;
    s.pc.com1.receive(bytes);
    s.loop.wake();
  }

  private async finished(s: Session, result: RunResult): Promise<void> {
    if (this.session !== s) return;
    // Powered off, exited or crashed: the disk's writes become durable before the machine reports 'stopped'.
    if (result.type !== 'stopped' && s.disk && !s.disk.top.readOnly) {
      try {
        await s.pc.disksIdle();
        await s.disk.top.flush();
      } catch (e) {
        this.emit(s.id, { type: 'notice', message: `The disk could not be saved: ${e instanceof Error ? e.message : String(e)}` });
      }
      if (this.session !== s) return;
    }
    switch (result.type) {
      case 'poweroff': this.emit(s.id, { type: 'poweroff' }); break;
      case 'exit': this.emit(s.id, { type: 'exit', status: result.status }); break;
      case 'crash': case 'error':
        this.emit(s.id, { type: 'crash', message: result.error.message, dump: crashDump(s.pc.machine.cpu, result.error) });
        break;
      default: break; // stopped by us, or a timeout we never set
    }
    this.setState(s.id, 'stopped');
  }

  private setState(session: number, state: MachineState): void {
    if (state === this.state) return;
    this.state = state;
    this.emit(session, { type: 'state', state });
  }

  private emit(session: number, body: WorkerEventBody): void {
    const e: WorkerEvent = { session, ...body };
    try {
      // A comlink callback returns a promise; a page that went away must not crash the machine.
      void Promise.resolve(this.listener(e)).catch(() => {});
    } catch {
      // the listener's port is closed
    }
  }
}
