// One session's VM, seen from the protocol's side: turns start requests
// into vetted QEMU launches and VM commands into QMP, and turns QEMU's
// console output, QMP events and exit into protocol events. It knows nothing
// about WebSockets; the session (session.ts) owns the connection and passes
// in where events and console bytes go.

import { RelayError } from './errors.ts';
import type { AccelDecision } from './kvm-probe.ts';
import type { ImageDirectory } from './path-policy.ts';
import type { Arch, ExitReason, RelayEvent, StartRequest, VmCommand, VmState, VmStatus } from './protocol.ts';
import type { VmSpec } from './qemu-args.ts';
import { describeExit, type QemuExit, type QemuProcess } from './qemu-process.ts';
import type { QmpEvent } from './qmp-client.ts';

/** What the operator allows, and how to launch QEMU. */
export interface VmPolicy {
  accel: AccelDecision;
  /** Architectures whose QEMU binary is installed. */
  arches: Arch[];
  images: ImageDirectory;
  maxMemoryMiB: number;
  allowNetwork: boolean;
  writableDisks: boolean;
  launch: (spec: VmSpec) => Promise<QemuProcess>;
}

export interface VmHooks {
  event(e: RelayEvent): void;
  console(data: Buffer): void;
  log(message: string): void;
}

export const DEFAULT_MEMORY_MIB = 256;

type EventBody = RelayEvent extends infer E ? (E extends unknown ? Omit<E, 'type' | 'status'> : never) : never;

export class VmController {
  private vm: QemuProcess | null = null;
  private state: VmState = 'none';
  private vmInfo: { arch: Arch; memoryMiB: number } | null = null;
  private qemuStatus: string | undefined;
  /** Console output held back until `started` has been sent. */
  private startupOutput: Buffer[] = [];
  /** Set while our own `stop` is in flight, so its STOP event needs no investigation. */
  private pauseRequested = false;
  private quitRequested = false;
  /** Reason from QEMU's SHUTDOWN event, used to classify the exit. */
  private shutdownReason: string | undefined;
  /** The owner is gone: a VM still being launched must be stopped on arrival. */
  private disposed = false;

  constructor(
    private readonly policy: VmPolicy,
    private readonly hooks: VmHooks,
  ) {}

  status(): VmStatus {
    const s: VmStatus = { state: this.state };
    if (this.vmInfo && this.state !== 'none') {
      s.accel = this.policy.accel.accel;
      s.arch = this.vmInfo.arch;
      s.memoryMiB = this.vmInfo.memoryMiB;
    }
    if (this.qemuStatus !== undefined) s.qemuStatus = this.qemuStatus;
    return s;
  }

  /**
   * Console input for the guest. While paused, QEMU's UART still accepts
   * bytes (its FIFO, then the pipe), so input typed during a pause reaches
   * the guest on resume.
   */
  writeConsole(data: Buffer): void {
    if (!this.vm || (this.state !== 'running' && this.state !== 'paused')) {
      throw new RelayError('bad-state', 'console input dropped: no VM is running');
    }
    this.vm.writeSerial(data);
  }

  /** Backpressure from a slow client: stop/start reading QEMU's console. */
  pauseOutput(): void {
    this.vm?.pauseSerial();
  }
  resumeOutput(): void {
    this.vm?.resumeSerial();
  }

  // ------------------------------------------------------------ start

  async start(msg: StartRequest): Promise<void> {
    if (this.state === 'starting' || this.state === 'running' || this.state === 'paused') {
      throw new RelayError('bad-state', 'this session already has a VM; quit it before starting another');
    }
    const spec = await this.vmSpec(msg);
    this.state = 'starting';
    this.vmInfo = { arch: spec.arch, memoryMiB: spec.memoryMiB };
    this.qemuStatus = undefined;
    this.shutdownReason = undefined;
    this.quitRequested = false;
    let vm: QemuProcess;
    try {
      vm = await this.policy.launch(spec);
    } catch (e) {
      this.state = 'none';
      this.vmInfo = null;
      throw e;
    }
    if (this.disposed) {
      await vm.stop();
      throw new RelayError('bad-state', 'the session ended while the VM was starting');
    }
    this.vm = vm;
    this.hooks.log(`QEMU ${vm.pid} started (${spec.arch}, ${spec.accel}, ${spec.memoryMiB} MiB)`);
    vm.onSerial((data) => this.onConsoleOutput(data));
    vm.qmp.onEvent((e) => this.onQmpEvent(vm, e));
    vm.exited.then((x) => this.onExit(vm, x));
    // QEMU was launched with the vCPU stopped (-S) so that `started` reaches
    // the client before the guest's first byte; let it run now.
    try {
      await vm.qmp.execute('cont');
    } catch (e) {
      await vm.stop();
      throw new RelayError('qemu-failed', `QEMU did not start the guest: ${(e as Error).message}`);
    }
    // QEMU may die between `cont` and here; onExit has reported it then.
    if (this.vm !== vm) throw new RelayError('qemu-failed', 'QEMU exited while the VM was starting');
    this.state = 'running';
    this.qemuStatus = 'running';
    this.emit({ event: 'started', message: `VM started (${spec.arch}, ${spec.accel}, ${spec.memoryMiB} MiB)` });
    this.flushStartupOutput();
  }

  /** Turns a start request into a vetted VmSpec, or refuses it. */
  private async vmSpec(msg: StartRequest): Promise<VmSpec> {
    const { policy } = this;
    const arch = msg.arch ?? 'i386';
    if (!policy.arches.includes(arch)) {
      throw new RelayError('not-allowed', `arch ${arch} is not available: qemu-system-${arch} is not installed on the relay's host`);
    }
    const memoryMiB = msg.memoryMiB ?? DEFAULT_MEMORY_MIB;
    if (memoryMiB > policy.maxMemoryMiB) {
      throw new RelayError('not-allowed', `memoryMiB ${memoryMiB} is above the relay's limit of ${policy.maxMemoryMiB} (--max-memory)`);
    }
    const network = msg.network ?? 'none';
    if (network !== 'none' && !policy.allowNetwork) {
      throw new RelayError('not-allowed', 'networking is off on this relay; start it with --allow-network to allow network: "user"');
    }
    const spec: VmSpec = {
      arch,
      accel: policy.accel.accel,
      kernel: await policy.images.resolve(msg.kernel, 'kernel'),
      memoryMiB,
      noReboot: msg.noReboot ?? false,
      network,
    };
    if (msg.initrd !== undefined) spec.initrd = await policy.images.resolve(msg.initrd, 'initrd');
    if (msg.append !== undefined) spec.append = msg.append;
    if (msg.disk !== undefined) {
      spec.disk = {
        path: await policy.images.resolve(msg.disk, 'disk'),
        interface: msg.diskInterface ?? 'virtio',
        snapshot: !policy.writableDisks,
      };
    }
    return spec;
  }

  // ------------------------------------------------------------ commands

  /** Runs a VM command; resolves once QEMU has done it (and its event was emitted). */
  async command(type: VmCommand): Promise<void> {
    const vm = this.vm;
    if (type === 'status') {
      if (vm && !vm.hasExited && this.state !== 'starting') await this.refreshQemuStatus(vm);
      return;
    }
    if (!vm || (this.state !== 'running' && this.state !== 'paused')) {
      throw new RelayError('bad-state', this.state === 'starting' ? 'the VM is still starting' : 'no VM is running: send start first');
    }
    switch (type) {
      case 'pause':
        if (this.state !== 'running') return;
        this.pauseRequested = true;
        try {
          await vm.qmp.execute('stop');
        } finally {
          this.pauseRequested = false;
        }
        return;
      case 'resume':
        if (this.state === 'paused') await vm.qmp.execute('cont');
        return;
      case 'reset':
        await vm.qmp.execute('system_reset');
        return;
      case 'powerdown':
        await vm.qmp.execute('system_powerdown');
        return;
      case 'quit':
        this.quitRequested = true;
        await vm.stop();
        return;
    }
  }

  /** The owner is going away: end the VM (and any still being launched). */
  async dispose(): Promise<void> {
    this.disposed = true;
    const vm = this.vm;
    if (!vm) return;
    this.quitRequested = true;
    await vm.stop();
  }

  private async refreshQemuStatus(vm: QemuProcess): Promise<void> {
    try {
      const r = (await vm.qmp.execute('query-status')) as { status?: string };
      if (typeof r?.status === 'string') this.qemuStatus = r.status;
    } catch {
      // QEMU is going away; onExit will report it.
    }
  }

  // ------------------------------------------------------------ from QEMU

  private onQmpEvent(vm: QemuProcess, e: QmpEvent): void {
    if (vm !== this.vm) return;
    switch (e.event) {
      case 'STOP':
        this.state = 'paused';
        this.qemuStatus = 'paused';
        // QEMU emits STOP before it answers `stop`, so the client gets this
        // event before the reply to its pause request.
        if (this.pauseRequested) this.emit({ event: 'paused', message: 'VM paused' });
        else void this.reportUnrequestedStop(vm); // e.g. "KVM internal error"
        break;
      case 'RESUME':
        if (this.state === 'starting') return; // our own initial `cont`; `started` covers it
        this.state = 'running';
        this.qemuStatus = 'running';
        this.emit({ event: 'resumed', message: 'VM resumed' });
        break;
      case 'RESET':
        this.emit({ event: 'reset', message: 'VM reset', guest: e.data?.guest === true });
        break;
      case 'POWERDOWN':
        this.emit({ event: 'powerdown', message: 'ACPI power button pressed; the guest decides whether to power off' });
        break;
      case 'SHUTDOWN':
        if (typeof e.data?.reason === 'string') this.shutdownReason = e.data.reason;
        break;
    }
  }

  private async reportUnrequestedStop(vm: QemuProcess): Promise<void> {
    await this.refreshQemuStatus(vm);
    if (vm !== this.vm || vm.hasExited) return;
    if (this.qemuStatus === 'internal-error') {
      const hint = this.policy.accel.accel === 'kvm' ? '; KVM cannot run this guest on this host: restart the relay with --accel tcg' : '';
      this.emit({ event: 'error', code: 'guest-internal-error', message: `the accelerator stopped the guest (internal error)${hint}` });
    } else {
      this.emit({ event: 'paused', message: `VM stopped by QEMU (${this.qemuStatus ?? 'unknown reason'})` });
    }
  }

  private onExit(vm: QemuProcess, x: QemuExit): void {
    if (vm !== this.vm) return;
    this.vm = null;
    this.state = 'exited';
    this.qemuStatus = undefined;
    this.flushStartupOutput(); // what a VM that died while starting printed
    const reason = this.exitReason(x);
    const stderr = x.stderr.trim();
    const message =
      reason === 'crashed'
        ? `QEMU died (${describeExit(x)})${stderr ? `: ${stderr.slice(-500)}` : ''}`
        : reason === 'guest-shutdown'
          ? `the guest shut down (${this.shutdownReason})`
          : reason === 'quit'
            ? 'VM quit'
            : `QEMU exited (${describeExit(x)})`;
    this.hooks.log(`QEMU ${vm.pid} ended: ${reason}, ${describeExit(x)}`);
    this.emit({ event: 'exited', message, reason, exitCode: x.code, signal: x.signal });
  }

  private exitReason(x: QemuExit): ExitReason {
    if (this.quitRequested || this.shutdownReason === 'host-qmp-quit') return 'quit';
    if (this.shutdownReason?.startsWith('guest-')) return 'guest-shutdown';
    if (x.signal !== null || x.code !== 0) return 'crashed';
    return 'exited';
  }

  private onConsoleOutput(data: Buffer): void {
    if (this.state === 'starting') this.startupOutput.push(data);
    else this.hooks.console(data);
  }

  private flushStartupOutput(): void {
    const held = this.startupOutput;
    this.startupOutput = [];
    for (const chunk of held) this.hooks.console(chunk);
  }

  private emit(e: EventBody): void {
    this.hooks.event({ type: 'event', status: this.status(), ...e } as RelayEvent);
  }
}
