// Creates the machine's one shared WebAssembly.Memory: CPU state, TLB and
// guest RAM all live in it (layout in src/x86/state.ts).
import { createViews, RAM_OFFSET, WASM_PAGE, type MachineViews } from '../x86/state.ts';

export const MIN_RAM_MIB = 16;
export const MAX_RAM_MIB = 2048;

/** A machine configuration value that cannot work, with the reason a person can act on. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export function checkRamSize(ramMiB: number): void {
  if (!Number.isInteger(ramMiB)) {
    throw new ConfigError(`memory size must be a whole number of MiB, got ${ramMiB}`);
  }
  if (ramMiB < MIN_RAM_MIB || ramMiB > MAX_RAM_MIB) {
    throw new ConfigError(`memory size ${ramMiB} MiB is outside the supported range ${MIN_RAM_MIB}–${MAX_RAM_MIB} MiB`);
  }
}

export function createMachineMemory(ramMiB: number): MachineViews {
  checkRamSize(ramMiB);
  const ramBytes = ramMiB * 1024 * 1024;
  const pages = (RAM_OFFSET + ramBytes) / WASM_PAGE;
  let memory: WebAssembly.Memory;
  try {
    // initial == maximum: the buffer never grows, so views made once stay valid.
    memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
  } catch (e) {
    throw new ConfigError(`could not allocate ${ramMiB} MiB of shared guest memory (${(e as Error).message}); try a smaller memory size`);
  }
  return createViews(memory, ramBytes);
}
