// The page's end of the machine worker: starts the module Worker, wraps its
// comlink API and hands it the rings (once; a reboot in the same worker
// reuses them, so they belong to the VM, not to a machine).
import * as Comlink from 'comlink';
import type { MachineHost } from '../../machine/worker/machine-host.ts';
import type { RingBuffers, WorkerEvent } from '../../machine/worker/protocol.ts';
import { vmError } from './errors.ts';

export class MachineWorker {
  readonly api: Comlink.Remote<MachineHost>;
  /** Rejects if the worker script fails to load or throws at top level; race it with calls. */
  readonly failed: Promise<never>;

  private constructor(private readonly worker: Worker) {
    this.api = Comlink.wrap<MachineHost>(worker);
    this.failed = new Promise<never>((_, reject) => {
      worker.addEventListener('error', (e) => {
        e.preventDefault();
        reject(vmError('worker', `The machine worker failed to start: ${e.message || 'its script could not be loaded'}.`));
      });
    });
    this.failed.catch(() => {}); // observed by whoever races it
  }

  static async start(rings: RingBuffers, onEvent: (e: WorkerEvent) => void): Promise<MachineWorker> {
    const worker = new Worker(new URL('../../machine/worker/machine.worker.ts', import.meta.url), { type: 'module', name: 'ts86-machine' });
    const mw = new MachineWorker(worker);
    await Promise.race([mw.api.connect(rings, Comlink.proxy(onEvent)), mw.failed]);
    return mw;
  }

  terminate(): void {
    this.api[Comlink.releaseProxy]();
    this.worker.terminate();
  }
}
