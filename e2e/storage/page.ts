// Test page: starts the storage worker and exposes it to Playwright as
// window.ts86Storage (a comlink proxy). Crash tests report each durable flush
// through window.ts86ReportFlushed, which the test binds with exposeBinding.

import * as Comlink from 'comlink';
import type { StorageWorkerApi, FlushReport, DiskSpec } from './storage-worker.ts';

declare global {
  interface Window {
    ts86Storage: Comlink.Remote<StorageWorkerApi>;
    ts86StartCrashLoop(spec: DiskSpec, seed: number, versionBase: number): void;
    ts86ReportFlushed?: (report: FlushReport) => Promise<void>;
    ts86Ready: boolean;
  }
}

const worker = new Worker(new URL('./storage-worker.ts', import.meta.url), { type: 'module' });
window.ts86Storage = Comlink.wrap<StorageWorkerApi>(worker);
window.ts86StartCrashLoop = (spec, seed, versionBase) => {
  // Never resolves: the test kills the page while it runs.
  void window.ts86Storage.crashLoop(
    spec,
    seed,
    versionBase,
    Comlink.proxy(async (report: FlushReport) => {
      await window.ts86ReportFlushed?.(report);
    }),
  );
};
window.ts86Ready = true;
