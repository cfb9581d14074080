// The boot settings: memory size, the kernel command line, and kernel /
// initrd / multiboot files picked from this computer (they never leave it:
// the bytes go straight to the machine worker).
import type { VMOptions } from '../vm/types.ts';
import { h } from '../views/dom.ts';
import { DiskPicker } from '../disk/disk-picker.ts';

const MEMORY_SIZES = [16, 32, 64, 128, 256, 512, 1024, 2048];

export class SettingsForm {
  readonly memory: HTMLSelectElement;
  readonly element: HTMLElement;
  private readonly append: HTMLInputElement;
  private readonly kernel: HTMLInputElement;
  private readonly initrd: HTMLInputElement;
  private readonly multiboot: HTMLInputElement;
  readonly disk: DiskPicker;
  private readonly initialDisk: VMOptions['disk'];

  constructor(toolbar: HTMLElement, panel: HTMLElement, initial: VMOptions, defaultCmdline: string, onBoot: () => void) {
    const mem = initial.memoryMiB ?? 128;
    const sizes = MEMORY_SIZES.includes(mem) ? MEMORY_SIZES : [...MEMORY_SIZES, mem].sort((a, b) => a - b);
    this.memory = h('select', { id: 'memory', name: 'memory' }, ...sizes.map((n) => {
      const o = h('option', { value: n }, n >= 1024 ? `${n / 1024} GiB` : `${n} MiB`);
      o.selected = n === mem;
      return o;
    }));
    toolbar.append(h('label', { class: 'memory', for: 'memory' }, 'Memory ', this.memory));

    this.append = h('input', { type: 'text', id: 'append', name: 'append', spellcheck: 'false', autocomplete: 'off', placeholder: defaultCmdline });
    this.append.value = initial.append ?? '';
    this.kernel = h('input', { type: 'file', id: 'kernel-file', name: 'kernel' });
    this.initrd = h('input', { type: 'file', id: 'initrd-file', name: 'initrd' });
    this.multiboot = h('input', { type: 'file', id: 'multiboot-file', name: 'multiboot' });
    this.initialDisk = initial.disk;
    this.disk = new DiskPicker(initial.disk);
    const form = h('form', { class: 'settings' },
      h('fieldset', {}, h('legend', {}, 'Linux'),
        h('label', { for: 'kernel-file' }, 'Kernel (bzImage)'), this.kernel,
        h('label', { for: 'initrd-file' }, 'Initial ramdisk'), this.initrd),
      h('fieldset', {}, h('legend', {}, 'Or a multiboot kernel'),
        h('label', { for: 'multiboot-file' }, 'Kernel (ELF)'), this.multiboot),
      this.disk.element,
      h('div', { class: 'cmdline' }, h('label', { for: 'append' }, 'Kernel command line'), this.append),
      h('div', { class: 'actions' },
        h('button', { type: 'submit' }, 'Boot with these settings'),
        h('p', { class: 'hint' }, 'Files stay on this computer. To share a setup, use URL parameters: ',
          h('code', {}, '?kernel=URL&initrd=URL&append=…&memory=MiB'), ' or ', h('code', {}, '?multiboot=URL'), '; add a disk with ', h('code', {}, '&disk=URL'), ' or ', h('code', {}, '&disk=blank:GiB'), '.')));
    form.addEventListener('submit', (e) => { e.preventDefault(); onBoot(); });
    this.element = h('details', { class: 'boot-settings' }, h('summary', {}, 'Boot images, disk and command line'), form);
    panel.append(this.element);
  }

  /** The disk the picker shows: the next boot's. */
  diskValue(): VMOptions['disk'] {
    return this.disk.value(this.initialDisk);
  }

  /** What to boot next: the form's values over the VM's current options. */
  overrides(): Partial<VMOptions> {
    const o: Partial<VMOptions> = { memoryMiB: Number(this.memory.value) };
    const append = this.append.value.trim();
    o.append = append === '' ? undefined : append;
    const file = (input: HTMLInputElement): File | undefined => input.files?.[0] ?? undefined;
    const multiboot = file(this.multiboot), kernel = file(this.kernel), initrd = file(this.initrd);
    o.disk = this.diskValue();
    if (multiboot) o.multiboot = multiboot;
    else if (kernel) { o.kernel = kernel; o.initrd = initrd; }
    return o;
  }
}
