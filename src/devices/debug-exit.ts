// QEMU's isa-debug-exit device: a write of `value` ends the emulator with
// exit status (value << 1) | 1, so test kernels can report pass/fail.
import type { Bus } from './bus.ts';

export class DebugExit {
  constructor(private readonly onExit: (status: number) => void, readonly port = 0xf4) {}

  attach(bus: Bus): void {
    const write = (_port: number, v: number): void => this.onExit(((v << 1) | 1) & 0xff);
    bus.registerPorts(this.port, 4, 'isa-debug-exit', { write8: write, write16: write, write32: write });
  }
}
