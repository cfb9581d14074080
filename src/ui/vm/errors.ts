// Turning every way a boot can fail into a VMError with a message a person
// can act on, and the exception start() rejects with.
import type { VMError, VMErrorKind } from './types.ts';

export class VMErrorException extends Error {
  constructor(readonly vmError: VMError) {
    super(vmError.message);
    this.name = 'VMError';
  }
}

export function vmError(kind: VMErrorKind, message: string, detail?: string): VMErrorException {
  return new VMErrorException(detail === undefined ? { kind, message } : { kind, message, detail });
}

/** Errors from the worker arrive as plain Errors whose name survived comlink's serialisation. */
export function classifyError(e: unknown): VMError {
  if (e instanceof VMErrorException) return e.vmError;
  const err = e instanceof Error ? e : new Error(String(e));
  switch (err.name) {
    case 'BootImageError': return { kind: 'image', message: `The boot image was refused: ${err.message}.` };
    case 'ConfigError': return { kind: 'config', message: `The machine cannot be built: ${err.message}.` };
    default: return { kind: 'crash', message: `The emulator failed: ${err.message}`, detail: err.stack };
  }
}

/** What the page says when SharedArrayBuffer is unavailable, and how to fix the server. */
export function isolationError(): VMErrorException {
  return vmError('isolation',
    'This page is not cross-origin isolated, so the emulator cannot share guest memory with its worker (SharedArrayBuffer is disabled). ' +
    'The server must send the headers "Cross-Origin-Opener-Policy: same-origin" and "Cross-Origin-Embedder-Policy: require-corp" with the page ' +
    '(npm start, vite dev and vite preview do). See docs/hosting.md.');
}

export function isCrossOriginIsolated(): boolean {
  return typeof SharedArrayBuffer === 'function' && globalThis.crossOriginIsolated === true;
}
