// The "KVM mode" switch in the toolbar: on, the guest runs in QEMU on this
// computer through the relay; off, in the browser. A checkbox with the
// switch role, so keyboards and screen readers treat it as an on/off control.
import { h } from './dom.ts';
import './kvm-mode.css';

export class KvmSwitch {
  readonly input: HTMLInputElement;
  readonly element: HTMLElement;

  constructor(toolbar: HTMLElement, onChange: (on: boolean) => void) {
    this.input = h('input', { type: 'checkbox', id: 'kvm-mode', name: 'kvm-mode', role: 'switch' });
    this.element = h('label', {
      class: 'kvm-switch', for: 'kvm-mode',
      title: 'Run the guest in QEMU on this computer (with KVM when it works) through ts86-relay, instead of in the browser',
    }, this.input, 'KVM mode');
    toolbar.append(this.element);
    this.input.addEventListener('change', () => onChange(this.input.checked));
  }

  get on(): boolean { return this.input.checked; }
  set on(value: boolean) { this.input.checked = value; }

  /** While the page switches backends, a second click would only queue another switch. */
  set busy(value: boolean) { this.input.disabled = value; }
}
