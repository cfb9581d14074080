// <ts86-vm>: a VM as an HTML element, for pages that embed a machine.
//
//   <ts86-vm kernel="images/bzImage" initrd="images/initrd.img" append="console=ttyS0" memory="128" autostart></ts86-vm>
//
// Attributes: kernel, initrd, multiboot, append, memory (MiB), autostart
// (present, or "false"), booted (a literal string that means "booted"),
// screen (also show the VGA screen). Without kernel/multiboot the bundled
// guest boots. Attribute changes apply at the next boot. The element
// re-dispatches the VM's events (booted, powered-off, error, state, reset)
// as DOM CustomEvents with the same detail, and exposes the handle as `.vm`.
import { VM } from '../vm/vm.ts';
import type { VMEventMap, VMHandle, VMOptions } from '../vm/types.ts';
import { MachineButtons } from '../views/machine-buttons.ts';
import { MessageView } from '../views/message-view.ts';
import { ProgressView } from '../views/progress-view.ts';
import { StatusBar } from '../views/status-bar.ts';
import { detectionText } from '../views/format.ts';
import { h } from '../views/dom.ts';
import '../styles/theme.css';
import '../styles/element.css';

const FORWARDED: (keyof VMEventMap)[] = ['booted', 'powered-off', 'error', 'state', 'reset', 'notice', 'detection'];

export class Ts86VmElement extends HTMLElement {
  private machine: VM | null = null;
  private status: StatusBar | null = null;

  /** The VM handle (null until the element is in a document). */
  get vm(): VMHandle | null {
    return this.machine;
  }

  /** Boot options as the attributes say. */
  optionsFromAttributes(): VMOptions {
    const attr = (name: string): string | undefined => this.getAttribute(name) ?? undefined;
    const o: VMOptions = {};
    if (attr('multiboot')) o.multiboot = attr('multiboot');
    else if (attr('kernel')) { o.kernel = attr('kernel'); if (attr('initrd')) o.initrd = attr('initrd'); }
    if (this.hasAttribute('append')) o.append = attr('append');
    const mem = Number(attr('memory'));
    if (attr('memory') && Number.isInteger(mem)) o.memoryMiB = mem;
    if (attr('booted')) o.bootedPattern = attr('booted');
    return o;
  }

  connectedCallback(): void {
    if (this.machine) return;
    const autostartAttr = this.getAttribute('autostart');
    const autostart = autostartAttr !== null && autostartAttr !== 'false';
    const bar = h('div', { class: 'ts86-vm-bar' });
    const messagesHost = h('div');
    const progressHost = h('div');
    const consoleHost = h('div', { class: 'ts86-vm-console' });
    const screenHost = h('div', { class: 'ts86-vm-screen' });
    this.replaceChildren(bar, messagesHost, progressHost, consoleHost);
    if (this.hasAttribute('screen')) this.append(screenHost);
    const vm = (this.machine = new VM({
      ...this.optionsFromAttributes(),
      autostart,
      console: consoleHost,
      screen: this.hasAttribute('screen') ? screenHost : undefined,
    }));
    // Start reads the attributes again: changes apply at the next boot, never behind a running guest's back.
    new MachineButtons(bar, vm, () => {
      const fresh: Partial<VMOptions> = { kernel: undefined, initrd: undefined, multiboot: undefined, append: undefined, bootedPattern: undefined };
      void (vm.state === 'paused' ? vm.resume() : vm.boot({ ...fresh, ...this.optionsFromAttributes() })).catch(() => {});
    });
    this.status = new StatusBar(bar, vm);
    const messages = new MessageView(messagesHost);
    const progress = new ProgressView(progressHost);
    vm.on('progress', (p) => progress.update(p));
    vm.on('state', ({ state }) => {
      if (state === 'loading') { progress.clear(); messages.clear(); }
      if (state === 'running') progress.settle();
    });
    vm.on('error', (e) => messages.error(e));
    vm.on('notice', ({ message }) => messages.notice(message));
    vm.on('detection', (d) => messages.notice(detectionText(d), 'detection'));
    vm.on('powered-off', (p) => messages.notice(p.reason === 'exit' ? `The guest exited with status ${p.status}.` : 'The machine powered off.', 'powered-off'));
    for (const type of FORWARDED) vm.on(type, (detail) => this.dispatchEvent(new CustomEvent(type, { detail })));
  }

  disconnectedCallback(): void {
    // Moving the element in the document disconnects and reconnects it at once; only tear down if it stays out.
    queueMicrotask(() => {
      if (this.isConnected || !this.machine) return;
      this.status?.dispose();
      this.machine.destroy();
      this.machine = null;
      this.replaceChildren();
    });
  }
}

export function defineTs86Element(name = 'ts86-vm'): void {
  if (typeof customElements !== 'undefined' && !customElements.get(name)) customElements.define(name, class extends Ts86VmElement {});
}
