// Errors and notices as readable messages: a heading that says what kind of
// problem it is, the sentence from the VM, and (for crashes) the details in
// a collapsible block. Errors are announced (role=alert); each can be dismissed.
import type { VMError, VMErrorKind } from '../vm/types.ts';
import { h } from './dom.ts';

const TITLES: Record<VMErrorKind, string> = {
  isolation: 'This page is not cross-origin isolated',
  download: 'Download failed',
  image: 'The boot image was refused',
  config: 'The machine cannot be built',
  disk: 'A disk failed: the machine is paused',
  crash: 'The emulator crashed',
  worker: 'The machine worker did not start',
};

export class MessageView {
  readonly element: HTMLElement;

  constructor(container: HTMLElement) {
    this.element = h('div', { class: 'ts86-messages' });
    container.append(this.element);
  }

  error(e: VMError): void {
    const body = h('div', { class: 'body' }, h('strong', { class: 'title' }, TITLES[e.kind]), h('p', { class: 'text' }, e.message));
    if (e.detail) body.append(h('details', {}, h('summary', {}, 'Details'), h('pre', {}, e.detail)));
    this.add(h('div', { class: 'message error', role: 'alert', 'data-kind': e.kind }, body));
  }

  notice(text: string, kind = 'notice'): void {
    this.add(h('div', { class: 'message notice', role: 'status', 'data-kind': kind }, h('div', { class: 'body' }, h('p', { class: 'text' }, text))));
  }

  /** Clears the last boot's messages; notices about the page's own parameters stay. */
  clear(): void {
    for (const m of [...this.element.children]) if ((m as HTMLElement).dataset.kind !== 'params') m.remove();
  }

  private add(message: HTMLElement): void {
    // The same message twice (pressing Start again on a page that cannot work) adds nothing.
    for (const m of this.element.children) if (m.textContent === message.textContent + '×') return;
    const close = h('button', { type: 'button', class: 'dismiss', 'aria-label': 'Dismiss message' }, '×');
    close.addEventListener('click', () => message.remove());
    message.append(close);
    this.element.append(message);
  }
}
