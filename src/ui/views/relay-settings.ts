// Where KVM mode's relay is: its WebSocket address and the token it printed
// when it started. Filled from the page address's #relay=…&token=… fragment
// (the link the relay prints; a fragment never reaches a server) or typed.
// The values are read at every connect, so editing them and pressing
// Connect (or Start) uses the new ones.
import type { RelaySettings } from '../kvm/kvm-vm.ts';
import { h } from './dom.ts';
import './kvm-mode.css';

export const DEFAULT_RELAY_URL = 'ws://127.0.0.1:8086/';

export class RelaySettingsView {
  readonly element: HTMLDetailsElement;
  readonly url: HTMLInputElement;
  readonly token: HTMLInputElement;

  constructor(panel: HTMLElement, initial: Partial<RelaySettings>, pageOrigin: string, onConnect: () => void) {
    this.url = h('input', { type: 'text', id: 'relay-url', name: 'relay-url', inputmode: 'url', spellcheck: 'false', autocomplete: 'off', placeholder: DEFAULT_RELAY_URL });
    this.token = h('input', { type: 'password', id: 'relay-token', name: 'relay-token', spellcheck: 'false', autocomplete: 'off', placeholder: 'printed by the relay at start' });
    this.url.value = DEFAULT_RELAY_URL;
    this.fill(initial);
    const form = h('form', { class: 'settings relay' },
      h('div', { class: 'field' }, h('label', { for: 'relay-url' }, 'Relay address'), this.url),
      h('div', { class: 'field' }, h('label', { for: 'relay-token' }, 'Token'), this.token),
      h('div', { class: 'actions' },
        h('button', { type: 'submit' }, 'Connect in KVM mode'),
        h('p', { class: 'hint' },
          'KVM mode runs the guest in QEMU on this computer (with KVM when it works) instead of in the browser. Start the relay with ',
          h('code', {}, 'npx ts86-relay'), ' (in a clone: ', h('code', {}, 'npm run relay'), '); it prints a link that fills in both fields. ',
          'It must allow this page\u2019s origin: ', h('code', {}, `--allow-origin ${pageOrigin}`), '. ',
          'In KVM mode, ', h('code', {}, '?kernel='), ', ', h('code', {}, '?initrd='), ' and ', h('code', {}, '?multiboot='),
          ' name files in the relay\u2019s images directory.')));
    form.addEventListener('submit', (e) => { e.preventDefault(); onConnect(); });
    this.element = h('details', { class: 'boot-settings relay-settings' }, h('summary', {}, 'KVM mode relay'), form);
    panel.append(this.element);
  }

  values(): RelaySettings {
    return { url: this.url.value.trim(), token: this.token.value.trim() };
  }

  /** Takes what a relay link gives (either part may be missing). */
  fill(p: Partial<RelaySettings>): void {
    if (p.url) this.url.value = p.url;
    if (p.token) this.token.value = p.token;
  }

  get complete(): boolean {
    const v = this.values();
    return v.url !== '' && v.token !== '';
  }

  /** Opens the panel at the first empty field, so the user sees what is missing. */
  reveal(): void {
    this.element.open = true;
    (this.url.value.trim() === '' ? this.url : this.token).focus();
  }
}
