// ts86 for embedding pages: createVM() for a machine under your own UI, and
// the <ts86-vm> element (registered on import) for a ready-made one.
//
//   import { createVM } from 'ts86';
//   const vm = createVM({ console: document.querySelector('#term')! });
//   vm.on('booted', () => vm.write('uname -a\r'));
//
// The page must be cross-origin isolated (COOP/COEP headers, docs/hosting.md).
import { defineTs86Element } from './ui/element/ts86-vm.ts';

export { createVM, VM } from './ui/vm/vm.ts';
export { VMErrorException } from './ui/vm/errors.ts';
export { Ts86VmElement, defineTs86Element } from './ui/element/ts86-vm.ts';
export type {
  DownloadProgress, ImageSource, PoweredOff, VMError, VMErrorKind, VMEventMap, VMHandle, VMOptions, VMState, VMStats,
} from './ui/vm/types.ts';

defineTs86Element();
