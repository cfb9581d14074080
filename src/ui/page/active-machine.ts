// The page's machine: one VMHandle that the views (buttons, status bar,
// messages) and the page's scripts hold for the page's whole life, standing
// for whichever backend runs the guest now: the in-browser emulator or, in
// KVM mode, QEMU through the relay. Switching backends re-points it and
// announces the new backend's state, so the views never learn that there
// are two.
import type { DiskOptions, VMEventMap, VMHandle, VMOptions, VMState, VMStats } from '../vm/types.ts';
import { HandleEvents } from '../vm/handle-events.ts';

/** Every event of VMEventMap; a Record, so adding an event to the map without forwarding it does not compile. */
const FORWARDED: Record<keyof VMEventMap, true> = {
  state: true, progress: true, booted: true, 'powered-off': true, reset: true, error: true, notice: true, detection: true,
};

export class ActiveMachine extends HandleEvents implements VMHandle {
  private current: VMHandle;
  private unhook: () => void;

  constructor(initial: VMHandle) {
    super();
    this.current = initial;
    this.unhook = this.hook(initial);
  }

  /** The backend in use. */
  get backend(): VMHandle { return this.current; }

  /** Makes `next` the backend: from now on calls go to it and its events come out of this handle. */
  use(next: VMHandle): void {
    if (next === this.current) return;
    this.unhook();
    this.current = next;
    this.unhook = this.hook(next);
    this.events.emit('state', { state: next.state });
  }

  private hook(vm: VMHandle): () => void {
    const offs = (Object.keys(FORWARDED) as (keyof VMEventMap)[]).map((type) => vm.on(type, (detail) => this.events.emit(type, detail)));
    offs.push(vm.onData((bytes) => this.emitData(bytes)));
    return () => { for (const off of offs) off(); };
  }

  get state(): VMState { return this.current.state; }
  get options(): Readonly<VMOptions> { return this.current.options; }
  get ram(): Uint8Array | null { return this.current.ram; }


  start(): Promise<void> { return this.current.start(); }
  boot(options?: Partial<VMOptions>): Promise<void> { return this.current.boot(options); }
  write(data: string | Uint8Array): void { this.current.write(data); }
  waitForOutput(pattern: RegExp | string, timeoutMs?: number): Promise<string> { return this.current.waitForOutput(pattern, timeoutMs); }
  sendScancodes(bytes: ArrayLike<number>): void { this.current.sendScancodes(bytes); }
  stats(): Promise<VMStats> { return this.current.stats(); }
  pause(): Promise<void> { return this.current.pause(); }
  resume(): Promise<void> { return this.current.resume(); }
  reset(): Promise<void> { return this.current.reset(); }
  stop(): Promise<void> { return this.current.stop(); }
  exportDisk(disk?: DiskOptions): Promise<Blob> { return this.current.exportDisk(disk); }
  discardDiskChanges(disk?: DiskOptions): Promise<void> { return this.current.discardDiskChanges(disk); }
  /** Destroys the backend in use; the page owns the others. */
  destroy(): void { this.current.destroy(); }
}
