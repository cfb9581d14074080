// System control port A (0x92): the fast A20 gate (bit 1) and a fast reset
// pulse (bit 0), as on PS/2-era and later chipsets.
import type { Bus } from './bus.ts';
import type { Cpu } from '../x86/cpu.ts';
import { S } from '../x86/state.ts';

export class SystemControlPortA {
  constructor(private readonly cpu: Cpu, private readonly requestReset: (reason: string) => void) {}

  attach(bus: Bus): void {
    bus.registerPorts(0x92, 1, 'port92', {
      read8: () => (this.a20Enabled ? 2 : 0),
      write8: (_p, v) => {
        this.setA20((v & 2) !== 0);
        if (v & 1) this.requestReset('reset via port 0x92');
      },
    });
  }

  get a20Enabled(): boolean {
    return this.cpu.st[S.A20_MASK] === -1;
  }

  /** Gating A20 off makes address bit 20 read as zero (1 MiB wrap-around), as on the 8086. */
  setA20(on: boolean): void {
    const mask = on ? -1 : ~(1 << 20);
    if (this.cpu.st[S.A20_MASK] !== mask) {
      this.cpu.st[S.A20_MASK] = mask;
      this.cpu.flushTlb(true);
    }
  }
}
