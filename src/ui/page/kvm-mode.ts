// KVM mode on the page: the toolbar switch, the relay settings, and the
// swap of backends behind the page's one machine handle. On: the
// in-browser machine is stopped (one guest at a time, and QEMU gets the
// CPU), a KvmVM takes over the same xterm console, toolbar, status bar and
// messages, and boots the guest the URL or the boot settings name. Off: the
// KvmVM is destroyed (the relay ends its VM) and the in-browser machine is
// back, idle until Start.
import type { VM } from '../vm/vm.ts';
import type { VMHandle, VMOptions } from '../vm/types.ts';
import { KvmVM } from '../kvm/kvm-vm.ts';
import { xtermLink } from '../kvm/console-link.ts';
import { relayParamsFromFragment } from '../kvm/relay-client.ts';
import type { ActiveMachine } from './active-machine.ts';
import type { MessageView } from '../views/message-view.ts';
import { KvmSwitch } from '../views/kvm-switch.ts';
import { RelaySettingsView } from '../views/relay-settings.ts';
import { BackendField, ScreenNote } from '../views/backend-indicators.ts';

export interface KvmModeParts {
  toolbar: HTMLElement;
  /** Where the relay settings panel goes (next to the boot settings). */
  settings: HTMLElement;
  /** The status bar's field row. */
  statusBar: HTMLElement;
  /** The VGA screen's pane, which gets a note in KVM mode. */
  screenPane: HTMLElement | null;
  machine: ActiveMachine;
  browser: VM;
  /** Boot options from the URL; in KVM mode kernel/initrd/multiboot name files in the relay's images directory. */
  boot: VMOptions;
  /** The boot settings form's current values (memory, command line). */
  overrides: () => Partial<VMOptions>;
  messages: MessageView;
  /** Makes a backend the page's scripting handle (window.ts86). */
  expose: (vm: VMHandle) => void;
}

/** True when the page address carries a relay link: the user came for KVM mode, so the in-browser machine should not boot by itself. */
export function hasRelayLink(hash: string): boolean {
  return relayParamsFromFragment(hash).url !== undefined;
}

export class KvmMode {
  private kvm: KvmVM | null = null;
  /** Switches run one after another, so quick clicks cannot leave two backends half-started. */
  private switching: Promise<void> = Promise.resolve();
  readonly toggle: KvmSwitch;
  readonly relay: RelaySettingsView;
  private readonly field: BackendField;

  constructor(private readonly parts: KvmModeParts) {
    const link = relayParamsFromFragment(location.hash);
    this.relay = new RelaySettingsView(parts.settings, link, location.origin, () => { void this.reconnect(); });
    this.toggle = new KvmSwitch(parts.toolbar, (on) => { void this.set(on); });
    this.field = new BackendField(parts.statusBar);
    if (parts.screenPane) new ScreenNote(parts.screenPane);
    // Pasting a new relay link into this tab changes only the fragment: no reload, so take it from here.
    window.addEventListener('hashchange', () => this.relay.fill(relayParamsFromFragment(location.hash)));
    parts.machine.on('state', () => this.showBackend());
    document.body.dataset.backend = 'browser';
    if (link.url) {
      parts.messages.notice(`This address names a KVM-mode relay (${link.url}): switch on KVM mode to boot the guest in QEMU through it.`, 'kvm');
    }
  }

  get active(): boolean { return this.kvm !== null; }

  /** Turns KVM mode on or off (the toolbar switch calls this). */
  set(on: boolean): Promise<void> {
    return this.queue(() => (on ? this.enable() : this.disable()));
  }

  /** The relay panel's Connect: KVM mode with the values in the panel now, on a fresh connection. */
  reconnect(): Promise<void> {
    return this.queue(async () => { await this.disable(); await this.enable(); });
  }

  private queue(step: () => Promise<void>): Promise<void> {
    this.switching = this.switching.then(step, step);
    return this.switching;
  }

  private async enable(): Promise<void> {
    if (this.kvm) return;
    const { browser, machine, messages } = this.parts;
    this.toggle.on = true;
    this.toggle.busy = true;
    try {
      const s = browser.state;
      if (s === 'running' || s === 'paused' || s === 'loading') await browser.stop().catch(() => {});
      messages.clear();
      const kvm = new KvmVM({
        relay: () => this.relay.values(),
        boot: { ...this.parts.boot },
        ...(browser.console && { console: xtermLink(browser.console) }),
      });
      this.kvm = kvm;
      document.body.dataset.backend = 'kvm';
      machine.use(kvm);
      this.parts.expose(kvm);
      if (!this.relay.complete) this.relay.reveal();
      void kvm.boot(this.parts.overrides()).catch(() => {}); // failures are shown through the 'error' event
    } finally {
      this.toggle.busy = false;
    }
  }

  private async disable(): Promise<void> {
    const kvm = this.kvm;
    if (!kvm) return;
    const { browser, machine, messages } = this.parts;
    this.kvm = null;
    this.toggle.on = false;
    messages.clear();
    // Re-point the views first, so they never show the destroyed handle's state.
    machine.use(browser);
    this.parts.expose(browser);
    kvm.destroy();
    document.body.dataset.backend = 'browser';
    kvm.console?.note('KVM mode is off: press Start to boot the guest in the browser.');
  }

  private showBackend(): void {
    const kvm = this.kvm;
    if (!kvm) return this.field.show('');
    const info = kvm.relayInfo;
    if (info) this.field.show(`QEMU \u00b7 ${info.accel.toUpperCase()} \u00b7 ${info.url}`, `${info.server} at ${info.url}`);
    else this.field.show(kvm.state === 'loading' ? 'QEMU \u00b7 connecting\u2026' : 'QEMU \u00b7 not connected');
  }
}
