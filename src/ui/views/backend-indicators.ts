// What shows which machine runs the guest: a status-bar field ("QEMU · TCG ·
// ws://…" in KVM mode, nothing for the in-browser machine, as before) and,
// in KVM mode, a note in place of the VGA screen, which only the in-browser
// machine draws.
import { h } from './dom.ts';
import './kvm-mode.css';

export class BackendField {
  readonly element: HTMLElement;

  constructor(statusBar: HTMLElement) {
    this.element = h('span', { class: 'field backend', 'data-field': 'backend' });
    statusBar.append(this.element);
  }

  show(text: string, title = ''): void {
    this.element.textContent = text;
    this.element.title = title;
  }
}

/** Shown instead of the VGA screen while KVM mode is on (kvm-mode.css keys it on body[data-backend]). */
export class ScreenNote {
  readonly element: HTMLElement;

  constructor(pane: HTMLElement) {
    this.element = h('p', { class: 'kvm-screen-note', role: 'note' },
      'KVM mode: QEMU runs this guest without a screen in the page. Its console is the serial console.');
    pane.querySelector('h2')?.after(this.element);
  }
}
