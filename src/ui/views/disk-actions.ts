// Under the disk picker: "Download disk image" saves the chosen disk as the
// guest sees it (the image with this browser's changes) as <name>.img, and
// "Discard disk changes" deletes those changes (a blank disk: the disk)
// after a confirm step, since they cannot be got back. Progress, results and
// refusals (a running machine uses the disk) show next to the buttons.
import type { DiskOptions, VMHandle } from '../vm/types.ts';
import { VMErrorException } from '../vm/errors.ts';
import { DISCARD_CHANGES_LABEL } from '../../machine/worker/protocol.ts';
import { diskImageFileName } from '../disk/disk-request.ts';
import { formatBytes } from './format.ts';
import { h } from './dom.ts';
import './disk-actions.css';

export const DOWNLOAD_LABEL = 'Download disk image';

/** How long a saved image's object URL stays valid: the browser must have started reading it by then. */
const REVOKE_AFTER_MS = 60_000;

function diskLabel(d: DiskOptions): string {
  switch (d.kind) {
    case 'url': return String(d.url);
    case 'blank': return `the blank disk "${d.name ?? 'default'}"`;
    case 'file': return d.name ?? ((d.file as Partial<File>).name || 'the picked file');
  }
}

/** Hands a Blob to the browser's download machinery under `name`. */
function save(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const a = h('a', { href: url, download: name, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), REVOKE_AFTER_MS);
}

export class DiskActions {
  readonly element: HTMLElement;
  readonly download: HTMLButtonElement;
  readonly discard: HTMLButtonElement;
  readonly confirm: HTMLButtonElement;
  readonly cancel: HTMLButtonElement;
  private readonly confirmBox: HTMLElement;
  private readonly confirmText: HTMLElement;
  private readonly status: HTMLElement;
  /** The disk the open confirm step is about (the picker may change meanwhile). */
  private pending: DiskOptions | null = null;
  private busy = false;

  /** `disk` is the disk the picker shows now (undefined: none chosen yet). */
  constructor(container: HTMLElement, private readonly vm: VMHandle, private readonly disk: () => DiskOptions | undefined) {
    this.download = h('button', { type: 'button', 'data-action': 'download-disk', title: 'Save the disk as the guest sees it, as a raw image file' }, DOWNLOAD_LABEL);
    this.discard = h('button', { type: 'button', 'data-action': 'discard-disk', title: 'Delete what the guest changed on this disk (kept in this browser)' }, DISCARD_CHANGES_LABEL);
    this.confirm = h('button', { type: 'button', class: 'danger', 'data-action': 'discard-disk-confirm' }, 'Discard');
    this.cancel = h('button', { type: 'button', 'data-action': 'discard-disk-cancel' }, 'Cancel');
    this.confirmText = h('p', { class: 'text' });
    this.confirmBox = h('div', { class: 'disk-confirm', role: 'group', 'aria-label': 'Confirm discarding the disk changes', hidden: true },
      this.confirmText, h('div', { class: 'buttons' }, this.confirm, this.cancel));
    this.status = h('p', { class: 'disk-actions-status', role: 'status', 'aria-live': 'polite' });
    this.element = h('div', { class: 'disk-actions' },
      h('div', { class: 'buttons', role: 'group', 'aria-label': 'Disk contents' }, this.download, this.discard),
      this.confirmBox, this.status);
    container.append(this.element);

    this.download.addEventListener('click', () => { void this.runDownload(); });
    this.discard.addEventListener('click', () => this.ask());
    this.confirm.addEventListener('click', () => { void this.runDiscard(); });
    this.cancel.addEventListener('click', () => this.closeConfirm());
    // Another disk chosen: the buttons follow it, and a question about the old one no longer applies.
    const changed = (): void => { this.closeConfirm(); this.update(); };
    container.addEventListener('change', changed);
    container.addEventListener('input', changed);
    vm.on('state', () => this.update());
    this.update();
  }

  update(): void {
    // While a machine is being built it may be opening this very disk.
    const idle = !this.busy && this.vm.state !== 'loading';
    this.download.disabled = this.discard.disabled = this.disk() === undefined || !idle;
    this.confirm.disabled = !idle;
  }

  private ask(): void {
    const d = this.disk();
    if (!d) return;
    this.pending = d;
    const live = this.vm.state === 'paused' ? ' If the paused machine uses this disk, it is turned off.' : '';
    this.confirmText.textContent = d.kind === 'blank'
      ? `Delete ${diskLabel(d)} and everything on it? This cannot be undone.${live}`
      : `Delete the changes the guest made to ${diskLabel(d)}, kept in this browser? The disk goes back to the original image; this cannot be undone.${live}`;
    this.confirm.textContent = d.kind === 'blank' ? 'Delete the disk' : 'Discard the changes';
    this.confirmBox.hidden = false;
    this.show('', 'idle');
    this.cancel.focus();
  }

  private closeConfirm(): void {
    this.pending = null;
    this.confirmBox.hidden = true;
  }

  private async runDownload(): Promise<void> {
    const d = this.disk();
    if (!d) return;
    const name = diskImageFileName(d);
    await this.run(`Reading the disk for ${name}\u2026`, async () => {
      const blob = await this.vm.exportDisk(d);
      save(blob, name);
      return `Saved ${name} (${formatBytes(blob.size)}).`;
    });
  }

  private async runDiscard(): Promise<void> {
    const d = this.pending;
    this.closeConfirm();
    if (!d) return;
    await this.run('Discarding\u2026', async () => {
      await this.vm.discardDiskChanges(d);
      return d.kind === 'blank'
        ? `Deleted ${diskLabel(d)}: the next boot starts with an empty disk.`
        : `Discarded the changes to ${diskLabel(d)}: the next boot starts from the original image.`;
    });
  }

  private async run(progress: string, work: () => Promise<string>): Promise<void> {
    this.busy = true;
    this.update();
    this.show(progress, 'busy');
    try {
      this.show(await work(), 'done');
    } catch (e) {
      this.show(e instanceof VMErrorException ? e.vmError.message : e instanceof Error ? e.message : String(e), 'error');
    } finally {
      this.busy = false;
      this.update();
    }
  }

  private show(text: string, state: 'idle' | 'busy' | 'done' | 'error'): void {
    this.status.textContent = text;
    this.status.dataset.state = state;
  }
}
