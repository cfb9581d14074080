// Start, pause/resume, reset and power off, enabled according to the VM's
// state. Shared by the main page and the <ts86-vm> element.
import type { VMHandle, VMState } from '../vm/types.ts';
import { h } from './dom.ts';

export class MachineButtons {
  readonly element: HTMLElement;
  readonly start: HTMLButtonElement;
  readonly pause: HTMLButtonElement;
  readonly reset: HTMLButtonElement;
  readonly stop: HTMLButtonElement;

  /** `onStart` lets the page boot with its own settings; by default start() boots with the VM's options. */
  constructor(container: HTMLElement, private readonly vm: VMHandle, onStart: () => void = () => { void vm.start().catch(() => {}); }) {
    this.start = h('button', { type: 'button', class: 'start', 'data-action': 'start' }, 'Start');
    this.pause = h('button', { type: 'button', class: 'pause', 'data-action': 'pause' }, 'Pause');
    this.reset = h('button', { type: 'button', class: 'reset', 'data-action': 'reset', title: 'Hardware reset' }, 'Reset');
    this.stop = h('button', { type: 'button', class: 'stop', 'data-action': 'stop', title: 'Turn the machine off' }, 'Power off');
    this.element = h('div', { class: 'ts86-buttons', role: 'group', 'aria-label': 'Machine' }, this.start, this.pause, this.reset, this.stop);
    container.append(this.element);
    this.start.addEventListener('click', onStart);
    this.pause.addEventListener('click', () => { void (vm.state === 'paused' ? vm.resume() : vm.pause()); });
    this.reset.addEventListener('click', () => { void vm.reset(); });
    this.stop.addEventListener('click', () => { void vm.stop(); });
    vm.on('state', ({ state }) => this.update(state));
    this.update(vm.state);
  }

  private update(state: VMState): void {
    const live = state === 'running' || state === 'paused';
    this.start.disabled = live || state === 'loading' || state === 'destroyed';
    this.pause.disabled = !live;
    this.pause.textContent = state === 'paused' ? 'Resume' : 'Pause';
    this.pause.setAttribute('aria-pressed', String(state === 'paused'));
    this.reset.disabled = !(live || state === 'stopped');
    this.stop.disabled = !(live || state === 'loading');
  }
}
