// Download progress: one labelled bar per image with bytes and percent.
// Rows appear as downloads start and fade out once the machine runs.
import type { DownloadProgress } from '../vm/types.ts';
import { formatProgress } from './format.ts';
import { h } from './dom.ts';

const LABELS: Record<string, string> = { kernel: 'Kernel', initrd: 'Initrd', multiboot: 'Multiboot kernel', manifest: 'Image manifest' };

export class ProgressView {
  private readonly rows = new Map<string, { row: HTMLElement; bar: HTMLProgressElement; text: HTMLElement }>();
  readonly element: HTMLElement;

  constructor(container: HTMLElement) {
    this.element = h('div', { class: 'ts86-progress', 'aria-live': 'polite' });
    container.append(this.element);
  }

  update(p: DownloadProgress): void {
    let r = this.rows.get(p.what);
    if (!r) {
      const label = h('span', { class: 'label' }, `${LABELS[p.what] ?? p.what}`);
      const bar = h('progress', { max: 1 });
      const text = h('span', { class: 'amount' });
      const row = h('div', { class: 'row', 'data-what': p.what }, label, bar, text);
      bar.setAttribute('aria-label', `${LABELS[p.what] ?? p.what} download`);
      this.element.append(row);
      this.rows.set(p.what, (r = { row, bar, text }));
    }
    r.row.title = p.source;
    if (p.total) {
      r.bar.max = p.total;
      r.bar.value = p.loaded;
    } else if (!p.done) {
      r.bar.removeAttribute('value'); // indeterminate
    }
    if (p.done) { r.bar.max = 1; r.bar.value = 1; }
    r.text.textContent = p.done ? `${formatProgress(p.loaded, null)} ✓` : formatProgress(p.loaded, p.total);
    r.row.classList.toggle('done', p.done);
  }

  /** A new boot: forget the last one's rows. */
  clear(): void {
    this.element.replaceChildren();
    this.rows.clear();
  }

  /** The machine runs: let finished rows fade out. */
  settle(): void {
    for (const [what, r] of this.rows) {
      if (!r.row.classList.contains('done')) continue;
      r.row.classList.add('leaving');
      setTimeout(() => { r.row.remove(); this.rows.delete(what); }, 2500);
    }
  }
}
