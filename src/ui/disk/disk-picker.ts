// The disk part of the boot settings: no disk, a raw image by URL (read
// lazily, changes kept in this browser), a raw image file from this computer
// (read lazily, never modified; changes kept in this browser), or a blank
// disk of N GiB kept in this browser. value() is the VMOptions.disk of the
// next boot; a picked file whose size is not a whole number of sectors is
// reported at once, next to the picker.
import type { DiskOptions } from '../vm/types.ts';
import { h } from '../views/dom.ts';
import { MAX_BLANK_GIB, SECTOR_BYTES } from './disk-request.ts';
import './disk-picker.css';

export type DiskKind = 'none' | DiskOptions['kind'];

const KINDS: [DiskKind, string][] = [
  ['none', 'No disk'],
  ['url', 'Image URL'],
  ['file', 'Image file'],
  ['blank', 'Blank disk'],
];

export class DiskPicker {
  readonly element: HTMLFieldSetElement;
  readonly url: HTMLInputElement;
  readonly file: HTMLInputElement;
  readonly size: HTMLInputElement;
  readonly name: HTMLInputElement;
  private readonly radios = new Map<DiskKind, HTMLInputElement>();
  private readonly problem: HTMLElement;

  constructor(initial?: DiskOptions) {
    const kinds = h('div', { class: 'disk-kinds', role: 'radiogroup', 'aria-label': 'Disk' });
    for (const [kind, label] of KINDS) {
      const radio = h('input', { type: 'radio', name: 'disk-kind', value: kind, id: `disk-kind-${kind}` });
      radio.addEventListener('change', () => this.show());
      this.radios.set(kind, radio);
      kinds.append(h('label', { for: `disk-kind-${kind}` }, radio, label));
    }
    this.url = h('input', { type: 'url', id: 'disk-url', name: 'disk-url', placeholder: 'https://example.org/disk.img', spellcheck: 'false', autocomplete: 'off' });
    this.file = h('input', { type: 'file', id: 'disk-file', name: 'disk-file' });
    this.size = h('input', { type: 'number', id: 'disk-size', name: 'disk-size', min: 0.01, max: MAX_BLANK_GIB, step: 'any', value: 1 });
    this.name = h('input', { type: 'text', id: 'disk-name', name: 'disk-name', value: 'default', spellcheck: 'false', autocomplete: 'off' });
    this.problem = h('p', { class: 'disk-problem', role: 'status', 'aria-live': 'polite' });
    this.file.addEventListener('change', () => this.checkFile());

    this.element = h('fieldset', { class: 'disk-picker', 'data-kind': 'none' },
      h('legend', {}, 'Disk (virtio-blk, /dev/vda)'),
      kinds,
      h('div', { class: 'disk-field', 'data-for': 'url' },
        h('label', { for: 'disk-url' }, 'Raw image URL'), this.url,
        h('p', { class: 'hint' }, 'Read piece by piece (the server must support Range requests); the guest\u2019s writes are kept in this browser, so reopening the page resumes the same disk.')),
      h('div', { class: 'disk-field', 'data-for': 'file' },
        h('label', { for: 'disk-file' }, 'Raw image file'), this.file,
        h('p', { class: 'hint' }, 'Read piece by piece and never modified or uploaded; the guest\u2019s writes are kept in this browser, so picking the same unchanged file again resumes them.')),
      h('div', { class: 'disk-field', 'data-for': 'blank' },
        h('label', { for: 'disk-size' }, 'Size (GiB)'), this.size,
        h('label', { for: 'disk-name' }, 'Name'), this.name,
        h('p', { class: 'hint' }, 'An empty disk stored sparsely in this browser; the same name opens the same disk again.')),
      this.problem);

    if (initial?.kind === 'url') this.url.value = String(initial.url);
    if (initial?.kind === 'blank') {
      this.size.value = String(initial.sizeGiB);
      this.name.value = initial.name ?? 'default';
    }
    // A File cannot be put back into a file input; a picked file stays in the VM's options until another choice.
    this.select(initial?.kind ?? 'none');
  }

  get kind(): DiskKind {
    for (const [kind, radio] of this.radios) if (radio.checked) return kind;
    return 'none';
  }

  select(kind: DiskKind): void {
    this.radios.get(kind)!.checked = true;
    this.show();
  }

  /**
   * The disk for the next boot: undefined for none, or while the chosen kind
   * lacks its input (no URL typed, no file picked) — then `fallback` (the
   * current options' disk of the same kind) is kept.
   */
  value(fallback?: DiskOptions): DiskOptions | undefined {
    switch (this.kind) {
      case 'none': return undefined;
      case 'url': {
        const url = this.url.value.trim();
        return url ? { kind: 'url', url } : (fallback?.kind === 'url' ? fallback : undefined);
      }
      case 'file': {
        const f = this.file.files?.[0];
        return f ? { kind: 'file', file: f, name: f.name } : (fallback?.kind === 'file' ? fallback : undefined);
      }
      case 'blank': {
        const sizeGiB = Number(this.size.value);
        const name = this.name.value.trim() || 'default';
        return { kind: 'blank', sizeGiB, name };
      }
    }
  }

  private show(): void {
    this.element.dataset.kind = this.kind;
    this.problem.textContent = '';
    if (this.kind === 'file') this.checkFile();
  }

  private checkFile(): void {
    const f = this.file.files?.[0];
    this.problem.textContent = f && f.size % SECTOR_BYTES !== 0
      ? `${f.name} is ${f.size} bytes, not a whole number of ${SECTOR_BYTES}-byte sectors, so it is not a raw disk image.`
      : '';
  }
}
