// The main page: one VM with the serial console and the VGA screen, the
// controls, the disk's download and discard buttons, download progress,
// messages and the status bar. Boot settings
// come from the URL (url-params.ts) or the settings form; the VM handle is
// exposed as window.ts86 for scripting and tests. In KVM mode (kvm-mode.ts)
// QEMU runs the guest through the relay instead; the views hold an
// ActiveMachine, so they work with either backend, and window.ts86 is the
// backend in use.
import { createVM } from '../vm/vm.ts';
import type { VMHandle } from '../vm/types.ts';
import { isCrossOriginIsolated, isolationError } from '../vm/errors.ts';
import { parseParams } from './url-params.ts';
import { SettingsForm } from './settings-form.ts';
import { ActiveMachine } from './active-machine.ts';
import { KvmMode, hasRelayLink } from './kvm-mode.ts';
import { MachineButtons } from '../views/machine-buttons.ts';
import { DiskActions } from '../views/disk-actions.ts';
import { MessageView } from '../views/message-view.ts';
import { ProgressView } from '../views/progress-view.ts';
import { StatusBar } from '../views/status-bar.ts';
import { detectionText } from '../views/format.ts';
import '../styles/theme.css';
import '../styles/page.css';

declare global {
  interface Window { ts86: VMHandle }
}

function byId(id: string): HTMLElement {
  const el = document.getElementById(id);
  if (!el) throw new Error(`index.html lacks #${id}`);
  return el;
}

const { options, problems } = parseParams(location.search);
const isolated = isCrossOriginIsolated();
const messages = new MessageView(byId('messages'));
const progress = new ProgressView(byId('progress'));
for (const p of problems) messages.notice(p, 'params');
if (!isolated) messages.error(isolationError().vmError);

const vm = createVM({
  ...options,
  // A relay link in the address means the user came for KVM mode: do not boot in the browser meanwhile.
  autostart: isolated && options.autostart !== false && !hasRelayLink(location.hash),
  console: byId('console'),
  screen: byId('screen'),
});
window.ts86 = vm;
const machine = new ActiveMachine(vm);

const settings = new SettingsForm(byId('toolbar'), byId('settings'), options,
  options.multiboot || options.kernel ? 'console=ttyS0' : 'console=ttyS0 nokaslr (the default guest\u2019s)',
  () => { void machine.boot(settings.overrides()).catch(() => {}); });
new DiskActions(settings.disk.element, machine, () => settings.diskValue());
new MachineButtons(byId('toolbar'), machine, () => {
  void (machine.state === 'paused' ? machine.resume() : machine.boot(settings.overrides())).catch(() => {});
});
const statusBar = new StatusBar(byId('status'), machine);
new KvmMode({
  toolbar: byId('toolbar'), settings: byId('settings'), statusBar: statusBar.element,
  screenPane: byId('screen').closest('.pane'),
  machine, browser: vm, boot: options, overrides: () => settings.overrides(), messages,
  expose: (backend) => { window.ts86 = backend; },
});

machine.on('state', ({ state }) => {
  document.body.dataset.state = state;
  if (state === 'loading') { progress.clear(); messages.clear(); }
  if (state === 'running') progress.settle();
});
machine.on('progress', (p) => progress.update(p));
machine.on('error', (e) => messages.error(e));
machine.on('notice', ({ message }) => messages.notice(message));
machine.on('detection', (d) => messages.notice(detectionText(d), 'detection'));
machine.on('powered-off', (p) => messages.notice(p.reason === 'exit'
  ? `The machine stopped: the guest exited with status ${p.status} (isa-debug-exit).`
  : 'The machine powered off.', 'powered-off'));
machine.on('reset', ({ reason }) => messages.notice(`The machine was reset (${reason}).`, 'reset'));
machine.on('booted', ({ seconds }) => { document.body.dataset.booted = String(seconds); });
vm.console?.focus();
