// The main page: one VM with the serial console and the VGA screen, the
// controls, download progress, messages and the status bar. Boot settings
// come from the URL (url-params.ts) or the settings form; the VM handle is
// exposed as window.ts86 for scripting and tests.
import { createVM } from '../vm/vm.ts';
import type { VMHandle } from '../vm/types.ts';
import { isCrossOriginIsolated, isolationError } from '../vm/errors.ts';
import { parseParams } from './url-params.ts';
import { SettingsForm } from './settings-form.ts';
import { MachineButtons } from '../views/machine-buttons.ts';
import { MessageView } from '../views/message-view.ts';
import { ProgressView } from '../views/progress-view.ts';
import { StatusBar } from '../views/status-bar.ts';
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
  autostart: isolated && options.autostart !== false,
  console: byId('console'),
  screen: byId('screen'),
});
window.ts86 = vm;

const settings = new SettingsForm(byId('toolbar'), byId('settings'), options,
  options.multiboot || options.kernel ? 'console=ttyS0' : 'console=ttyS0 nokaslr (the default guest\u2019s)',
  () => { void vm.boot(settings.overrides()).catch(() => {}); });
new MachineButtons(byId('toolbar'), vm, () => {
  void (vm.state === 'paused' ? vm.resume() : vm.boot(settings.overrides())).catch(() => {});
});
new StatusBar(byId('status'), vm);

vm.on('state', ({ state }) => {
  document.body.dataset.state = state;
  if (state === 'loading') { progress.clear(); messages.clear(); }
  if (state === 'running') progress.settle();
});
vm.on('progress', (p) => progress.update(p));
vm.on('error', (e) => messages.error(e));
vm.on('notice', ({ message }) => messages.notice(message));
vm.on('powered-off', (p) => messages.notice(p.reason === 'exit'
  ? `The machine stopped: the guest exited with status ${p.status} (isa-debug-exit).`
  : 'The machine powered off.', 'powered-off'));
vm.on('reset', ({ reason }) => messages.notice(`The machine was reset (${reason}).`, 'reset'));
vm.on('booted', ({ seconds }) => { document.body.dataset.booted = String(seconds); });
vm.console?.focus();
