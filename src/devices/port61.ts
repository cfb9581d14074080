// System control port B (0x61): the PC speaker gate and data bits, PIT
// channel 2's gate input and OUT2, the DRAM refresh toggle, and the NMI
// status/enable bits of the ISA bus (no source of parity or channel-check
// NMIs exists here, so their status bits read 0).
//
// The refresh bit toggles every 15.085 µs of machine time, as the refresh
// request of a PC/AT does; timing loops (older Linux calibration code,
// BIOSes, DOS programs) count its edges.
import type { Bus } from './bus.ts';
import type { Clock } from '../machine/clock.ts';
import { PIT_HZ, type Pit8254 } from './pit8254.ts';

const REFRESH_NS = 15_085;

export class SystemControlPortB {
  /** Bits 0–3 as last written: gate 2, speaker data, parity check disable, channel check disable. */
  private control = 0;

  constructor(private readonly pit: Pit8254, private readonly clock: Clock) {}

  attach(bus: Bus): void {
    bus.registerPorts(0x61, 1, 'port61', {
      read8: () => this.read(),
      write8: (_p, v) => this.write(v),
    });
  }

  reset(): void {
    this.write(0);
  }

  read(): number {
    const refresh = Math.floor(this.clock.nowNs() / REFRESH_NS) & 1;
    return (this.control & 0x0f) | (refresh << 4) | (this.pit.out(2) ? 0x20 : 0);
  }

  write(v: number): void {
    this.control = v & 0x0f;
    this.pit.setGate(2, (v & 1) !== 0);
  }

  /** The tone the speaker plays now in Hz (0 when silent), for a host audio backend. */
  speakerFrequency(): number {
    const ch = this.pit.channels[2];
    if ((this.control & 3) !== 3 || ch.mode !== 3) return 0;
    return PIT_HZ / ch.count;
  }
}
