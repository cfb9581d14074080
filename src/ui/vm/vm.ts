// The VM handle createVM() returns: one machine worker, its console and
// screen views, and the state, events and serial streams an embedding page
// uses. Boots go through planBoot (images, progress) and the worker's
// comlink API; guest RAM and the VGA registers are read from the shared
// memory the worker hands over once per machine. The disk can be exported
// and its changes discarded through the same worker.
import { HandleEvents } from './handle-events.ts';
import * as Comlink from 'comlink';
import type { MachineMemory, WorkerEvent } from '../../machine/worker/protocol.ts';
import { SpscRing } from '../../machine/worker/spsc-ring.ts';
import { RingWriter, pumpRing } from '../../machine/worker/ring-io.ts';
import { MachineWorker } from './machine-worker.ts';
import { BootDetector, latin1, toRegExp } from './boot-detector.ts';
import { planBoot } from './boot-plan.ts';
import { diskErrorKind, diskRequest, storageErrorParts } from '../disk/disk-request.ts';
import { diskToolError, streamToBlob } from '../disk/disk-export.ts';
import type { DiskRequest } from '../../machine/worker/protocol.ts';
import { classifyError, isCrossOriginIsolated, isolationError, VMErrorException, vmError } from './errors.ts';
import { SerialConsole } from '../console/serial-console.ts';
import { VgaScreen } from '../screen/vga-screen.ts';
import type { DiskOptions, VMHandle, VMOptions, VMState, VMStats } from './types.ts';

/** Serial output kept for waitForOutput (as latin1 text). */
const OUTPUT_TAIL_CHARS = 64 * 1024;
const SERIAL_OUT_BYTES = 1 << 18;
const SERIAL_IN_BYTES = 1 << 16;
const KEYBOARD_BYTES = 1 << 12;
const encoder = new TextEncoder();

function defaultAssetBase(): URL {
  const env = (import.meta as unknown as { env?: { BASE_URL?: string } }).env;
  return new URL(env?.BASE_URL ?? '/', globalThis.location?.href ?? 'http://localhost/');
}

export class VM extends HandleEvents implements VMHandle {
  private currentState: VMState = 'idle';
  private opts: VMOptions;
  /** The rings to the worker; null where SharedArrayBuffer is unavailable (the page is not cross-origin isolated). */
  private readonly rings: { serialOut: SpscRing; serialIn: SpscRing; keyboard: SpscRing; serialWriter: RingWriter; keyWriter: RingWriter } | null;
  private readonly pumps = new AbortController();
  private worker: Promise<MachineWorker> | null = null;
  private memory: MachineMemory | null = null;
  private ramView: Uint8Array | null = null;
  /** Events for a machine whose boot() reply has not arrived yet (see WorkerEvent). */
  private early: WorkerEvent[] = [];
  private boots = 0;
  private downloads: AbortController | null = null;
  private detector = new BootDetector(null, () => {});
  private bootStartedAt = 0;
  private outputTail = '';
  private sample: { instructions: number; busyMs: number; mips: number; at: number } | null = null;
  readonly assetBase: URL;
  readonly console: SerialConsole | null = null;
  readonly screen: VgaScreen | null = null;

  constructor(options: VMOptions = {}) {
    super();
    this.opts = { ...options };
    if (typeof SharedArrayBuffer === 'function') {
      const serialIn = SpscRing.create(SERIAL_IN_BYTES), keyboard = SpscRing.create(KEYBOARD_BYTES);
      this.rings = {
        serialOut: SpscRing.create(SERIAL_OUT_BYTES), serialIn, keyboard,
        serialWriter: new RingWriter(serialIn), keyWriter: new RingWriter(keyboard),
      };
      void pumpRing(this.rings.serialOut, (bytes) => this.deliver(bytes), this.pumps.signal);
    } else {
      this.rings = null;
    }
    this.assetBase = options.assetBase !== undefined ? new URL(String(options.assetBase), globalThis.location?.href) : defaultAssetBase();
    if (options.console) this.console = new SerialConsole(options.console, (b) => this.write(b));
    if (options.screen) {
      this.screen = new VgaScreen(options.screen, new URL('fonts/vga-8x16.bin', this.assetBase).href, (b) => this.sendScancodes(b));
    }
    // After the caller had the chance to attach listeners.
    if (options.autostart !== false) queueMicrotask(() => { this.start().catch(() => {}); });
  }

  get state(): VMState { return this.currentState; }
  get options(): Readonly<VMOptions> { return this.opts; }
  get ram(): Uint8Array | null { return this.ramView; }
  /** The machine's shared memory description (RAM and VGA state offsets), null before boot. */
  get machineMemory(): MachineMemory | null { return this.memory; }

  write(data: string | Uint8Array): void {
    if (this.currentState === 'destroyed') return;
    this.rings?.serialWriter.write(typeof data === 'string' ? encoder.encode(data) : data);
  }

  sendScancodes(bytes: ArrayLike<number>): void {
    if (this.currentState === 'destroyed') return;
    this.rings?.keyWriter.write(bytes);
  }

  async start(): Promise<void> {
    if (this.currentState === 'paused') return this.resume();
    if (this.currentState === 'running' || this.currentState === 'loading') return;
    return this.boot();
  }

  async boot(overrides?: Partial<VMOptions>): Promise<void> {
    this.assertAlive();
    if (overrides) {
      const next = { ...this.opts, ...overrides };
      // A new kernel of one kind replaces the other kind's images.
      if (overrides.kernel !== undefined && overrides.multiboot === undefined) delete next.multiboot;
      if (overrides.multiboot !== undefined && overrides.kernel === undefined) { delete next.kernel; delete next.initrd; }
      this.opts = next;
    }
    const boot = ++this.boots;
    this.downloads?.abort();
    const downloads = (this.downloads = new AbortController());
    this.setState('loading');
    try {
      if (!isCrossOriginIsolated() || !this.rings) throw isolationError();
      const worker = this.ensureWorker(this.rings);
      const plan = await planBoot(this.opts, this.assetBase, (p) => this.events.emit('progress', p), downloads.signal);
      const mw = await worker;
      if (boot !== this.boots) return;
      const { images } = plan;
      const transfers = [images.kernel.buffer as ArrayBuffer];
      if (images.kind === 'linux' && images.initrd) transfers.push(images.initrd.buffer as ArrayBuffer);
      this.detector = new BootDetector(plan.booted, (match) => this.events.emit('booted', { seconds: (performance.now() - this.bootStartedAt) / 1000, match }));
      this.bootStartedAt = performance.now();
      const request = { memoryMiB: this.opts.memoryMiB ?? 128, images, clock: this.opts.clock, ...(plan.disk ? { disk: plan.disk } : {}), ...(plan.signatures ? { signatures: plan.signatures } : {}) };
      const mem = await Promise.race([mw.api.boot(Comlink.transfer(request, transfers)), mw.failed]);
      if (boot !== this.boots) return;
      this.adopt(mem, 'running');
    } catch (e) {
      if (boot !== this.boots) return; // superseded by a newer boot, or destroyed
      downloads.abort(); // the other image's download is of no use now
      // Storage errors (src/storage/errors.ts) come from opening the disk in the worker; their messages say what to do.
      const storage = e instanceof Error && e.name === 'StorageError' ? storageErrorParts(e) : null;
      const err = storage
        ? { kind: diskErrorKind(storage.code, this.opts.disk?.kind), message: `The disk could not be opened: ${storage.message}` }
        : classifyError(e);
      this.setState('error');
      this.events.emit('error', err);
      throw new VMErrorException(err);
    }
  }

  async pause(): Promise<void> {
    if (this.currentState !== 'running') return;
    if (!this.worker) return;
    await (await this.worker).api.pause();
    this.setState('paused');
  }

  async resume(): Promise<void> {
    if (this.currentState !== 'paused') return;
    if (!this.worker) return;
    await (await this.worker).api.resume();
    this.setState('running');
  }

  async reset(): Promise<void> {
    if (!this.worker || !this.memory) return;
    const mem = await (await this.worker).api.reset();
    // Powered off with stop(): there is no machine to reset, so reset means booting again.
    if (!mem) return this.currentState === 'stopped' ? this.boot() : undefined;
    this.detector.rearm();
    this.bootStartedAt = performance.now();
    if (mem.session !== this.memory.session) this.adopt(mem, 'running');
  }

  async stop(): Promise<void> {
    this.downloads?.abort();
    this.boots++;
    if (this.worker) await (await this.worker).api.shutdown();
    if (this.currentState !== 'destroyed') this.setState('stopped');
  }

  async exportDisk(disk: DiskOptions | undefined = this.opts.disk): Promise<Blob> {
    const { mw, request, options } = await this.diskTool(disk, 'download');
    try {
      return await streamToBlob(await Promise.race([mw.api.exportDisk(request), mw.failed]));
    } catch (e) {
      throw diskToolError(e, 'download', options);
    }
  }

  async discardDiskChanges(disk: DiskOptions | undefined = this.opts.disk): Promise<void> {
    const { mw, request, options } = await this.diskTool(disk, 'discard');
    try {
      await Promise.race([mw.api.discardDiskChanges(request), mw.failed]);
    } catch (e) {
      throw diskToolError(e, 'discard', options);
    }
  }

  /** The worker (started if need be: a disk can be exported or discarded before any boot) and the disk's request. */
  private async diskTool(disk: DiskOptions | undefined, action: 'download' | 'discard'): Promise<{ mw: MachineWorker; request: DiskRequest; options: DiskOptions }> {
    this.assertAlive();
    if (!disk) throw vmError('config', action === 'download' ? 'There is no disk to download: this VM has none.' : 'There are no disk changes to discard: this VM has no disk.');
    const request = diskRequest(disk);
    if (!isCrossOriginIsolated() || !this.rings) throw isolationError();
    return { mw: await this.ensureWorker(this.rings), request, options: disk };
  }

  async stats(): Promise<VMStats> {
    const s = this.worker && this.memory ? await (await this.worker).api.stats() : null;
    const now = performance.now();
    const instructions = s?.instructions ?? 0;
    const busyMs = s?.busyMs ?? 0;
    let mips = this.sample?.mips ?? 0;
    if (!this.sample || instructions < this.sample.instructions) {
      // No earlier sample of this machine: the average so far is the best estimate.
      mips = busyMs > 0 ? instructions / busyMs / 1000 : 0;
      this.sample = { instructions, busyMs, mips, at: now };
    } else if (now - this.sample.at >= 250) {
      const dBusy = busyMs - this.sample.busyMs;
      mips = dBusy > 0 ? (instructions - this.sample.instructions) / dBusy / 1000 : 0;
      this.sample = { instructions, busyMs, mips, at: now };
    }
    return {
      state: this.currentState,
      uptimeSeconds: (s?.guestNs ?? 0) / 1e9,
      instructions,
      mips,
      averageMips: busyMs > 0 ? instructions / busyMs / 1000 : 0,
      halted: s?.halted ?? false,
      serialTxBytes: s?.serialTxBytes ?? 0,
      serialRxBytes: s?.serialRxBytes ?? 0,
      memoryMiB: s?.memoryMiB ?? 0,
      disk: s?.disk ?? null,
      scanner: s?.scanner ?? null,
    };
  }

  waitForOutput(pattern: RegExp | string, timeoutMs = 60_000): Promise<string> {
    const re = toRegExp(pattern);
    const now = re.exec(this.outputTail);
    if (now) return Promise.resolve(now[0]);
    return new Promise((resolve, reject) => {
      let tail = '';
      const stop = (): void => { clearTimeout(timer); off(); };
      const off = this.onData((bytes) => {
        tail = (tail + latin1(bytes)).slice(-OUTPUT_TAIL_CHARS);
        const m = re.exec(tail);
        if (m) { stop(); resolve(m[0]); }
      });
      const timer = setTimeout(() => { off(); reject(new Error(`no serial output matched ${re} within ${timeoutMs} ms`)); }, timeoutMs);
    });
  }

  destroy(): void {
    if (this.currentState === 'destroyed') return;
    this.boots++;
    this.downloads?.abort();
    this.pumps.abort();
    this.rings?.serialWriter.dispose();
    this.rings?.keyWriter.dispose();
    void this.worker?.then((w) => w.terminate(), () => {});
    this.worker = null;
    this.console?.dispose();
    this.screen?.dispose();
    this.memory = null;
    this.ramView = null;
    this.setState('destroyed');
    this.events.clear();
    this.dataListeners.clear();
  }

  private assertAlive(): void {
    if (this.currentState === 'destroyed') throw vmError('worker', 'This VM was destroyed; create a new one.');
  }

  private ensureWorker(rings: NonNullable<VM['rings']>): Promise<MachineWorker> {
    if (!this.worker) {
      this.worker = MachineWorker.start(
        { serialOut: rings.serialOut.buffer, serialIn: rings.serialIn.buffer, keyboard: rings.keyboard.buffer },
        (e) => this.onWorkerEvent(e),
      );
      this.worker.catch(() => { this.worker = null; }); // a later start() tries again
    }
    return this.worker;
  }

  /** Takes a new machine's memory: RAM view, screen, and the events that overtook the reply. */
  private adopt(mem: MachineMemory, state: VMState): void {
    this.memory = mem;
    this.ramView = new Uint8Array(mem.memory.buffer, mem.ramOffset, mem.ramBytes);
    this.screen?.attach(mem);
    this.sample = null;
    this.setState(state);
    const early = this.early.filter((e) => e.session === mem.session);
    this.early = this.early.filter((e) => e.session > mem.session);
    for (const e of early) this.onWorkerEvent(e);
  }

  private onWorkerEvent(e: WorkerEvent): void {
    const current = this.memory?.session ?? 0;
    if (e.session !== current) {
      if (e.session > current) this.early.push(e);
      return;
    }
    switch (e.type) {
      case 'state':
        if (e.state === 'running' || e.state === 'paused') this.setState(e.state);
        else if (e.state === 'stopped' && this.currentState !== 'error' && this.currentState !== 'loading') this.setState('stopped');
        break;
      case 'reset':
        this.detector.rearm();
        this.bootStartedAt = performance.now();
        this.events.emit('reset', { reason: e.reason });
        break;
      case 'poweroff':
        this.drainSerial();
        this.events.emit('powered-off', { reason: 'poweroff' });
        break;
      case 'exit':
        this.drainSerial();
        this.events.emit('powered-off', { reason: 'exit', status: e.status });
        break;
      case 'crash':
        this.drainSerial();
        this.setState('error');
        this.events.emit('error', {
          kind: 'crash',
          message: `The emulator stopped with an internal error while running the guest: ${e.message}. This is a bug in ts86; the CPU state below helps to fix it.`,
          detail: e.dump,
        });
        break;
      case 'disk-error':
        this.events.emit('error', { kind: 'disk', message: e.message, detail: `storage error code: ${e.code}` });
        break;
      case 'detection':
        this.events.emit('detection', { name: e.name, phys: e.phys, kind: e.kind, instructions: e.instructions, index: e.index });
        break;
      case 'notice':
        this.events.emit('notice', { message: e.message });
        break;
    }
  }

  /** Delivers serial output still in the ring, so listeners see it before a power-off or crash event. */
  private drainSerial(): void {
    const bytes = this.rings?.serialOut.readAvailable() ?? new Uint8Array(0);
    if (bytes.length) this.deliver(bytes);
  }

  private deliver(bytes: Uint8Array): void {
    this.outputTail = (this.outputTail + latin1(bytes)).slice(-OUTPUT_TAIL_CHARS);
    this.console?.write(bytes);
    this.emitData(bytes);
    this.detector.feed(bytes);
  }

  private setState(state: VMState): void {
    if (state === this.currentState || this.currentState === 'destroyed') return;
    this.currentState = state;
    this.events.emit('state', { state });
  }
}

export function createVM(options: VMOptions = {}): VM {
  return new VM(options);
}
