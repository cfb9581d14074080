// The status line: machine state, guest uptime, MIPS, memory, serial
// traffic and disk activity, refreshed once a second from the VM's stats().
import type { DiskActivity, VMHandle, VMState } from '../vm/types.ts';
import { formatBytes, formatDuration, formatMips } from './format.ts';
import { h } from './dom.ts';

const STATE_TEXT: Record<VMState, string> = {
  idle: 'Off', loading: 'Loading', running: 'Running', paused: 'Paused', stopped: 'Stopped', error: 'Error', destroyed: 'Closed',
};

export class StatusBar {
  readonly element: HTMLElement;
  private readonly fields: Record<'state' | 'uptime' | 'mips' | 'memory' | 'serial' | 'disk' | 'scanner', HTMLElement>;
  private timer: ReturnType<typeof setInterval>;

  constructor(container: HTMLElement, private readonly vm: VMHandle) {
    const field = (name: string, label: string): HTMLElement => h('span', { class: 'field', 'data-field': name, title: label });
    this.fields = {
      state: h('span', { class: 'field state', 'data-field': 'state', role: 'status' }),
      uptime: field('uptime', 'Guest uptime'),
      mips: field('mips', 'Million guest instructions per second while executing'),
      memory: field('memory', 'Guest memory'),
      serial: field('serial', 'Serial bytes sent by the guest / typed'),
      scanner: field('scanner', 'Code scanner: guest code pages scanned the first time they ran after a write, and signature matches'),
      disk: field('disk', 'Disk: bytes the guest read / wrote, how much of an HTTP image was fetched, block cache hit rate, writes not yet flushed by the guest'),
    };
    this.element = h('div', { class: 'ts86-status' }, ...Object.values(this.fields));
    container.append(this.element);
    vm.on('state', () => { void this.refresh(); });
    this.timer = setInterval(() => { void this.refresh(); }, 1000);
    void this.refresh();
  }

  async refresh(): Promise<void> {
    const state = this.vm.state;
    this.fields.state.textContent = STATE_TEXT[state];
    this.fields.state.dataset.state = state;
    const s = state === 'idle' || state === 'loading' || state === 'destroyed' ? null : await this.vm.stats().catch(() => null);
    if (!s || s.memoryMiB === 0) {
      // No machine (never booted, or the boot failed): nothing to report but the state.
      for (const k of ['uptime', 'mips', 'memory', 'serial', 'disk', 'scanner'] as const) this.fields[k].textContent = '';
      return;
    }
    this.fields.uptime.textContent = `Uptime ${formatDuration(s.uptimeSeconds)}`;
    this.fields.mips.textContent = state === 'running' && s.halted && s.mips < 1 ? 'Idle' : `${formatMips(state === 'running' ? s.mips : s.averageMips)} MIPS`;
    this.fields.memory.textContent = `${s.memoryMiB} MiB`;
    this.fields.serial.textContent = `Serial ${formatBytes(s.serialTxBytes)} out · ${formatBytes(s.serialRxBytes)} in`;
    this.fields.disk.textContent = s.disk ? diskText(s.disk) : '';
    this.fields.scanner.textContent = s.scanner
      ? `Scanner ${s.scanner.pagesScanned} pages · ${s.scanner.detections} detection${s.scanner.detections === 1 ? '' : 's'}`
      : '';
  }

  dispose(): void {
    clearInterval(this.timer);
    this.element.remove();
  }
}

function diskText(d: DiskActivity): string {
  const parts = [`Disk ${formatBytes(d.readBytes)} read · ${formatBytes(d.writtenBytes)} written`];
  if (d.fetchedBytes !== null && d.imageBytes !== null) parts.push(`${formatBytes(d.fetchedBytes)} of ${formatBytes(d.imageBytes)} fetched`);
  if (d.cacheHitRate !== null) parts.push(`cache ${Math.round(d.cacheHitRate * 100)}% hits`);
  if (d.dirtyBytes > 0) parts.push(`${formatBytes(d.dirtyBytes)} unflushed`);
  return parts.join(' · ');
}
