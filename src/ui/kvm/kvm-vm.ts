// The KVM-mode machine: a VMHandle whose guest runs in QEMU on the user's
// computer, through ts86-relay (relay/README.md), instead of in the browser.
// The page's views (buttons, status bar, messages) and its console take
// either backend through VMHandle, so none of them knows which one runs.
//
// Mapping to the relay protocol:
//   start/boot  connect on first use, then `start` (a boot while a VM runs
//               replaces it: `quit` first, one VM per connection)
//   pause/resume/reset  the requests of the same name
//   stop (Power off)    `powerdown` (the ACPI button); if the guest has not
//               powered off within a grace period, `quit`, as holding a PC's
//               power button does (the default guest ignores the button)
// Relay events become VM events; QEMU's exit becomes 'powered-off', a
// notice, or a 'crash' error (kvm-errors.ts). Control requests report
// failures through the 'error' event rather than rejecting: the toolbar
// calls them fire-and-forget, and start()/boot() still reject as VMHandle
// says.
import { HandleEvents } from '../vm/handle-events.ts';
import type { VMHandle, VMOptions, VMState, VMStats } from '../vm/types.ts';
import { BootDetector } from '../vm/boot-detector.ts';
import { VMErrorException, vmError } from '../vm/errors.ts';
import { RelayClient, RelayClientError, type CloseInfo, type RelayEvent, type VmStatus, type WebSocketConstructor } from './relay-client.ts';
import { fetchGuestManifest, mergeBootOptions, planKvmBoot } from './kvm-boot.ts';
import { closedError, connectError, exitReport, guestError, requestError, settingsError, type RelayContext } from './kvm-errors.ts';
import type { ConsoleLink } from './console-link.ts';
import { SerialTail } from './serial-tail.ts';
import { UptimeClock } from './uptime-clock.ts';

export interface RelaySettings { url: string; token: string }

export interface KvmVMOptions {
  /** The relay's address and token; a function is read at every (re)connect, so a settings form can change them. */
  relay: RelaySettings | (() => RelaySettings);
  /** What to boot: kernel/initrd/multiboot as file names in the relay's images directory, append, memoryMiB, bootedPattern. */
  boot?: VMOptions;
  /** The terminal to show the guest in (the page's one xterm); none = headless (write/onData). */
  console?: ConsoleLink;
  /** Where images/manifest.json is served (the default guest's command line and prompt). Default: the app's base URL. */
  assetBase?: string | URL;
  /** Default globalThis.WebSocket; in Node 20 pass the `ws` package's. */
  WebSocket?: WebSocketConstructor;
  /** The page origin named in the --allow-origin hint. Default location.origin. */
  pageOrigin?: string | null;
  /** How long Power off waits for the guest to act on the ACPI power button before ending QEMU. Default 3000 ms. */
  powerOffGraceMs?: number;
}

export interface RelayInfo { url: string; server: string; accel: 'kvm' | 'tcg' }

const encoder = new TextEncoder();
const hasVm = (s: VmStatus): boolean => s.state === 'starting' || s.state === 'running' || s.state === 'paused';
const isLive = (s: VMState): boolean => s === 'running' || s === 'paused';

function defaultAssetBase(): URL {
  const env = (import.meta as unknown as { env?: { BASE_URL?: string } }).env;
  return new URL(env?.BASE_URL ?? '/', globalThis.location?.href ?? 'http://localhost/');
}

/** The relay boots QEMU without the browser's disks, so the disk tools have nothing to act on there. */
function notInKvmMode(what: string): VMErrorException {
  return vmError('config', `${what} is not available in KVM mode: QEMU runs the guest on the relay's computer without the disks kept in this browser. Switch KVM mode off first.`);
}

export class KvmVM extends HandleEvents implements VMHandle {
  private currentState: VMState = 'idle';
  private opts: VMOptions;
  private readonly tail = new SerialTail();
  private readonly uptime = new UptimeClock();
  private relay: RelayClient | null = null;
  private connecting: Promise<RelayClient> | null = null;
  private url = '';
  /** Relay requests run one at a time, so a boot, a power-off and another boot cannot interleave (two `start`s, a `quit` of the wrong VM). */
  private queue: Promise<unknown> = Promise.resolve();
  private boots = 0;
  /** The boot whose VM the relay runs; a `started` of an abandoned boot does not change the state. */
  private vmBoot = 0;
  private detector = new BootDetector(null, () => {});
  private bootStartedAt = 0;
  private pauseRequested = false;
  /** Serial output since the last reset; see the 'reset' event. */
  private outputSinceReset = true;
  private memoryMiB = 0;
  private txBytes = 0;
  private rxBytes = 0;
  private readonly exitWaiters = new Set<() => void>();
  private readonly stopInput: () => void;
  private screenNoticeShown = false;
  private readonly graceMs: number;
  readonly console: ConsoleLink | null;
  readonly assetBase: URL;

  constructor(private readonly config: KvmVMOptions) {
    super();
    this.opts = { ...(config.boot ?? {}) };
    this.console = config.console ?? null;
    this.stopInput = this.console?.onInput((bytes) => this.write(bytes)) ?? (() => {});
    this.assetBase = config.assetBase !== undefined ? new URL(String(config.assetBase), globalThis.location?.href) : defaultAssetBase();
    this.graceMs = config.powerOffGraceMs ?? 3000;
  }

  get state(): VMState { return this.currentState; }
  get options(): Readonly<VMOptions> { return this.opts; }
  /** Guest RAM is QEMU's, in another process: the page cannot see it. */
  get ram(): null { return null; }
  /** The relay in use, once connected (for the status bar). */
  get relayInfo(): RelayInfo | null {
    const r = this.relay;
    return r?.isOpen ? { url: this.url, server: r.hello.server, accel: r.hello.accel } : null;
  }

  write(data: string | Uint8Array): void {
    const relay = this.relay;
    // With no VM the relay refuses console bytes (bad-state): typing into an idle console is not worth an error.
    if (this.currentState === 'destroyed' || !relay?.isOpen || !hasVm(relay.status)) return;
    const bytes = typeof data === 'string' ? encoder.encode(data) : data;
    relay.writeConsole(bytes);
    this.rxBytes += bytes.length;
  }

  sendScancodes(): void {
    if (this.screenNoticeShown || this.currentState === 'destroyed') return;
    this.screenNoticeShown = true;
    this.notice('KVM mode runs QEMU without a screen or PS/2 keyboard in this page: type into the serial console.');
  }

  async start(): Promise<void> {
    if (this.currentState === 'paused') return this.resume();
    if (this.currentState === 'running' || this.currentState === 'loading') return;
    return this.boot();
  }

  async boot(overrides?: Partial<VMOptions>): Promise<void> {
    this.assertAlive();
    if (overrides) this.opts = mergeBootOptions(this.opts, overrides);
    const boot = ++this.boots;
    this.setState('loading');
    try {
      const plan = await planKvmBoot(this.opts, () => fetchGuestManifest(this.assetBase));
      const relay = await this.connection();
      await this.exclusive(async () => {
        if (boot !== this.boots) return;
        if (hasVm(relay.status)) await relay.quit();
        if (boot !== this.boots) return;
        if (plan.notice) this.notice(plan.notice);
        this.console?.note(`KVM mode: booting ${plan.description} in QEMU (${relay.hello.accel.toUpperCase()}) through the relay at ${this.url}`);
        this.detector = new BootDetector(plan.booted, (match) => {
          this.events.emit('booted', { seconds: (performance.now() - this.bootStartedAt) / 1000, match });
        });
        this.vmBoot = boot;
        const status = await relay.start(plan.request);
        if (boot !== this.boots) return;
        this.memoryMiB = status.memoryMiB ?? plan.request.memoryMiB ?? 0;
        if (status.state === 'running') this.setState('running');
      });
    } catch (e) {
      if (boot !== this.boots) return; // abandoned (stop, a newer boot, destroy)
      const err = e instanceof VMErrorException ? e.vmError : requestError('start the guest', e, this.context());
      this.setState('error');
      this.events.emit('error', err);
      throw new VMErrorException(err);
    }
  }

  async pause(): Promise<void> {
    if (this.currentState !== 'running') return;
    await this.control('pause the guest', async (relay) => {
      this.pauseRequested = true; // the `paused` event arrives before the reply
      try {
        await relay.pause();
      } finally {
        this.pauseRequested = false;
      }
    });
  }

  async resume(): Promise<void> {
    if (this.currentState !== 'paused') return;
    await this.control('resume the guest', (relay) => relay.resume());
  }

  async reset(): Promise<void> {
    // Powered off: there is no machine to reset, so reset means booting again (as in the browser).
    if (this.currentState === 'stopped') return this.boot().catch(() => {});
    if (!isLive(this.currentState)) return;
    await this.control('reset the guest', (relay) => relay.reset());
  }

  async stop(): Promise<void> {
    if (this.currentState === 'destroyed') return;
    const pressButton = this.currentState === 'running';
    this.boots++; // abandons a boot in progress; the VM it may have started is ended below
    await this.control('power off', async (relay) => {
      // A paused or starting guest cannot act on the button: end it at once.
      if (pressButton && relay.status.state === 'running' && (await this.powerButton(relay))) return;
      if (hasVm(relay.status)) await relay.quit();
    });
    this.setState('stopped');
  }

  exportDisk(): Promise<Blob> {
    return Promise.reject(notInKvmMode('Downloading the disk image'));
  }

  discardDiskChanges(): Promise<void> {
    return Promise.reject(notInKvmMode('Discarding disk changes'));
  }

  async stats(): Promise<VMStats> {
    // QEMU's instruction counts are not available through the relay; the status bar hides MIPS in KVM mode.
    return {
      state: this.currentState,
      uptimeSeconds: this.uptime.seconds(),
      instructions: 0,
      mips: 0,
      averageMips: 0,
      halted: false,
      serialTxBytes: this.txBytes,
      serialRxBytes: this.rxBytes,
      memoryMiB: this.memoryMiB,
      disk: null, // QEMU's disks are the relay's business
      scanner: null, // scanning needs our JIT's code-page tracking
    };
  }

  waitForOutput(pattern: RegExp | string, timeoutMs = 60_000): Promise<string> {
    return this.tail.waitFor(pattern, timeoutMs);
  }

  destroy(): void {
    if (this.currentState === 'destroyed') return;
    this.boots++;
    this.stopInput();
    const relay = this.relay;
    this.relay = null;
    relay?.close(); // the relay ends the VM of a client that leaves
    this.setState('destroyed');
    this.events.clear();
    this.dataListeners.clear();
  }

  private assertAlive(): void {
    if (this.currentState === 'destroyed') throw vmError('worker', 'This VM was destroyed; create a new one.');
  }

  private settings(): RelaySettings {
    const s = typeof this.config.relay === 'function' ? this.config.relay() : this.config.relay;
    return { url: s.url.trim(), token: s.token.trim() };
  }

  private context(): RelayContext {
    const origin = this.config.pageOrigin !== undefined ? this.config.pageOrigin : (globalThis.location?.origin ?? null);
    return { url: this.url, origin };
  }

  private notice(message: string): void {
    this.events.emit('notice', { message });
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn);
    this.queue = run.catch(() => {});
    return run;
  }

  /** Runs a request on the current VM (none: nothing to do); failures become 'error' events. */
  private async control(request: string, fn: (relay: RelayClient) => Promise<unknown>): Promise<void> {
    try {
      await this.exclusive(async () => {
        const relay = this.relay;
        if (relay?.isOpen && hasVm(relay.status)) await fn(relay);
      });
    } catch (e) {
      // A closed connection is reported once, by onRelayClosed.
      if (e instanceof RelayClientError && e.code === 'closed') return;
      this.events.emit('error', requestError(request, e, this.context()));
    }
  }

  private connection(): Promise<RelayClient> {
    if (this.relay?.isOpen) return Promise.resolve(this.relay);
    this.connecting ??= this.connect().finally(() => { this.connecting = null; });
    return this.connecting;
  }

  private async connect(): Promise<RelayClient> {
    const { url, token } = this.settings();
    const bad = settingsError(url, token);
    if (bad) throw new VMErrorException(bad);
    this.url = url;
    let relay: RelayClient;
    try {
      relay = await RelayClient.connect({ url, token, clientName: 'ts86 page', ...(this.config.WebSocket && { WebSocket: this.config.WebSocket }) });
    } catch (e) {
      throw new VMErrorException(connectError(e, this.context()));
    }
    if (this.currentState === 'destroyed') {
      relay.close();
      throw vmError('worker', 'This VM was destroyed.');
    }
    this.relay = relay;
    relay.onConsoleData((bytes) => this.deliver(relay, bytes));
    relay.onEvent((e) => this.onRelayEvent(relay, e));
    relay.onError((e) => { if (relay === this.relay) this.notice(`KVM mode: the relay says: ${e.message}`); });
    relay.onClose((info) => this.onRelayClosed(relay, info));
    if (relay.hello.accelNotice) this.notice(`KVM mode: ${relay.hello.accelNotice}`);
    return relay;
  }

  /** Presses the ACPI power button; true if the guest powered off within the grace period. */
  private async powerButton(relay: RelayClient): Promise<boolean> {
    const exited = this.nextExit(this.graceMs);
    await relay.powerdown();
    if (await exited) return true;
    this.notice(`KVM mode: the guest did not power off within ${this.graceMs / 1000} s of the ACPI power button (the default guest has nothing listening for it), so QEMU was stopped.`);
    return false;
  }

  private nextExit(timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const done = (exited: boolean): void => { clearTimeout(timer); this.exitWaiters.delete(waiter); resolve(exited); };
      const waiter = (): void => done(true);
      const timer = setTimeout(() => done(false), timeoutMs);
      this.exitWaiters.add(waiter);
    });
  }

  private vmEnded(): void {
    this.uptime.stop();
    for (const w of [...this.exitWaiters]) w();
  }

  private onRelayEvent(relay: RelayClient, e: RelayEvent): void {
    if (relay !== this.relay || this.currentState === 'destroyed') return;
    switch (e.event) {
      case 'started':
        this.memoryMiB = e.status.memoryMiB ?? this.memoryMiB;
        this.txBytes = this.rxBytes = 0;
        this.outputSinceReset = true;
        this.uptime.start();
        this.bootStartedAt = performance.now();
        if (this.vmBoot === this.boots) this.setState('running');
        break;
      case 'paused':
        this.uptime.pause();
        this.setState('paused');
        if (!this.pauseRequested) this.notice(`KVM mode: QEMU paused the guest (${e.message}); press Resume to continue.`);
        break;
      case 'resumed':
        this.uptime.resume();
        this.setState('running');
        break;
      case 'reset':
        this.detector.rearm();
        this.bootStartedAt = performance.now();
        // After a reset SeaBIOS resets the machine again, once or twice, before the guest prints
        // anything (QEMU reports those as guest resets). They are part of the same reset: one notice.
        if (this.outputSinceReset) this.events.emit('reset', { reason: e.guest ? 'the guest rebooted' : 'the Reset button' });
        this.outputSinceReset = false;
        break;
      case 'powerdown':
        break; // stop() reports what came of it
      case 'exited': {
        this.vmEnded();
        const report = exitReport(e);
        if (report.type === 'poweroff') this.events.emit('powered-off', { reason: 'poweroff' });
        else if (report.type === 'notice') this.notice(report.message);
        // A boot in progress replaces this VM (it asked for the quit): its state stands.
        if (this.currentState === 'loading') break;
        if (report.type === 'error') {
          this.setState('error');
          this.events.emit('error', report.error);
        } else {
          this.setState('stopped');
        }
        break;
      }
      case 'error':
        // The accelerator froze the guest (QEMU still runs): nothing more will happen in it.
        this.setState('error');
        this.events.emit('error', guestError(e));
        break;
    }
  }

  private onRelayClosed(relay: RelayClient, info: CloseInfo): void {
    if (relay !== this.relay) return;
    this.relay = null;
    this.vmEnded();
    // destroy() closed it; or a request in flight (a boot) reports the failure itself.
    if (this.currentState === 'destroyed' || this.currentState === 'loading') return;
    const err = closedError(info, this.context(), isLive(this.currentState));
    if (isLive(this.currentState)) {
      this.setState('error');
      this.events.emit('error', err);
    } else if (this.currentState !== 'error') {
      this.notice(err.message); // nothing was running; the next Start connects again
    }
  }

  private deliver(relay: RelayClient, bytes: Uint8Array): void {
    if (relay !== this.relay) return;
    this.txBytes += bytes.length;
    this.outputSinceReset = true;
    this.tail.push(bytes);
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
