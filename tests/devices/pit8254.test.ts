import { describe, it, expect, beforeEach } from 'vitest';
import { Bus } from '../../src/devices/bus.ts';
import { Pit8254, PIT_HZ } from '../../src/devices/pit8254.ts';
import { SystemControlPortB } from '../../src/devices/port61.ts';
import { IrqRecorder, timeHarness } from './harness.ts';

const TICK = 1e9 / PIT_HZ;

describe('8254 PIT', () => {
  let bus: Bus;
  let pit: Pit8254;
  let irq: IrqRecorder;
  let h: ReturnType<typeof timeHarness>;

  beforeEach(() => {
    h = timeHarness();
    bus = new Bus();
    irq = new IrqRecorder();
    pit = new Pit8254(h.timers, irq);
    pit.attach(bus);
    new SystemControlPortB(pit, h.clock).attach(bus);
    pit.reset();
  });

  const program = (ch: number, mode: number, count: number, access = 3): void => {
    bus.out8(0x43, (ch << 6) | (access << 4) | (mode << 1));
    if (access & 1) bus.out8(0x40 + ch, count & 0xff);
    if (access & 2) bus.out8(0x40 + ch, (count >> 8) & 0xff);
  };
  const latch = (ch: number): number => {
    bus.out8(0x43, ch << 6);
    return bus.in8(0x40 + ch) | (bus.in8(0x40 + ch) << 8);
  };

  it('starts as a BIOS leaves it: channel 0 in mode 3 at 18.2 Hz driving IRQ0', () => {
    h.advanceBy(1e9);
    expect(irq.rises[0]).toBeGreaterThanOrEqual(18);
    expect(irq.rises[0]).toBeLessThanOrEqual(19);
  });

  it('mode 2 rate generator: one IRQ0 edge per period, from timers armed per edge', () => {
    program(0, 2, 1193); // ~1000 Hz, as Linux's HZ=1000 would
    const before = irq.rises[0];
    h.advanceBy(100e6);
    expect(irq.rises[0] - before).toBe(100);
  });

  it('collapses edges missed while the host was late into one interrupt', () => {
    program(0, 2, 1193);
    const before = irq.rises[0];
    h.clock.t += 50e6; // jump: the timer fires once, late
    h.timers.fireDue();
    expect(irq.rises[0] - before).toBe(1);
    expect(irq.level[0]).toBe(true);
  });

  it('counter latch freezes the count until read; counts down at 1.193182 MHz', () => {
    program(0, 2, 10000);
    h.advanceBy(1000 * TICK + 1);
    const v = latch(0);
    expect(v).toBe(9000);
    h.advanceBy(500 * TICK);
    bus.out8(0x43, 0x00);
    h.advanceBy(100 * TICK);
    expect(bus.in8(0x40) | (bus.in8(0x40) << 8)).toBe(8500);
  });

  it('mode 0 one-shot: OUT low until terminal count, IRQ0 rises once, count wraps', () => {
    program(0, 0, 100);
    expect(irq.level[0]).toBe(false);
    const before = irq.rises[0];
    h.advanceBy(99 * TICK);
    expect(irq.level[0]).toBe(false);
    h.advanceBy(2 * TICK);
    expect(irq.level[0]).toBe(true);
    h.advanceBy(1e6);
    expect(irq.rises[0] - before).toBe(1);
    expect(latch(0)).toBeGreaterThan(0xf000); // wrapped past zero
  });

  it('LSB-only and MSB-only access, and BCD counting', () => {
    program(1, 2, 0x34, 1);
    expect(latch(1) & 0xff).toBe(0x34);
    bus.out8(0x43, 0x40 | 0x20 | (2 << 1));
    bus.out8(0x41, 0x12);
    bus.out8(0x43, 0x40);
    expect(bus.in8(0x41)).toBe(0x12); // MSB-only reads the MSB
    bus.out8(0x43, 0x40 | 0x30 | (2 << 1) | 1); // BCD
    bus.out8(0x41, 0x00);
    bus.out8(0x41, 0x10); // 1000 in BCD
    h.advanceBy(1 * TICK + 1);
    expect(latch(1)).toBe(0x0999);
  });

  it('read-back returns status (OUT, null count, access, mode, BCD) then the count', () => {
    bus.out8(0x43, 0x80 | 0x30 | (0 << 1)); // channel 2, mode 0, not yet loaded
    bus.out8(0x43, 0xc0 | 0x08); // read-back status+count of channel 2
    expect(bus.in8(0x42)).toBe(0x40 | 0x30); // OUT low, null count, lo/hi, mode 0
    bus.in8(0x42); bus.in8(0x42); // the latched count comes next
    bus.out8(0x42, 0x10);
    bus.out8(0x42, 0x00);
    bus.out8(0x43, 0xe0 | 0x08); // status only
    expect(bus.in8(0x42) & 0x40).toBe(0); // loaded into the counting element even with the gate low
    bus.out8(0x61, 0x01); // gate high
    bus.out8(0x43, 0xd0 | 0x08); // count only
    expect(bus.in8(0x42) | (bus.in8(0x42) << 8)).toBe(0x10);
  });

  it('channel 2 gate and OUT2 through port 0x61, as Linux TSC calibration uses them', () => {
    bus.out8(0x61, 0x00);
    program(2, 0, 0xffff);
    expect(bus.in8(0x61) & 0x20).toBe(0); // OUT2 low in mode 0
    bus.out8(0x61, 0x01); // gate high: count
    h.advanceBy(1000 * TICK);
    bus.out8(0x61, 0x00); // gate low: hold
    const held = latch(2);
    h.advanceBy(5000 * TICK);
    expect(latch(2)).toBe(held);
    bus.out8(0x61, 0x01);
    h.advanceBy(0xffff * TICK);
    expect(bus.in8(0x61) & 0x20).toBe(0x20); // terminal count reached
  });

  it('mode 1 and 5 wait for a gate rising edge', () => {
    bus.out8(0x61, 0x00);
    program(2, 1, 50);
    expect(pit.out(2)).toBe(true);
    bus.out8(0x61, 0x01);
    expect(pit.out(2)).toBe(false);
    h.advanceBy(51 * TICK);
    expect(pit.out(2)).toBe(true);
  });

  it('mode 3 square wave and the refresh toggle of port 0x61 bit 4', () => {
    bus.out8(0x61, 0x01);
    program(2, 3, 1000);
    expect(pit.out(2)).toBe(true);
    h.advanceBy(600 * TICK);
    expect(pit.out(2)).toBe(false);
    const r0 = bus.in8(0x61) & 0x10;
    h.advanceBy(15_085);
    expect(bus.in8(0x61) & 0x10).toBe(r0 ^ 0x10);
  });

  it('a running rate generator takes a new count at the end of its period', () => {
    program(0, 2, 1000);
    h.advanceBy(100 * TICK + 1);
    bus.out8(0x40, 500 & 0xff);
    bus.out8(0x40, 500 >> 8);
    expect(latch(0)).toBe(900); // still the old period
    h.advanceBy(900 * TICK + 2);
    const before = irq.rises[0];
    h.advanceBy(500 * TICK * 4 + TICK); // OUT rises one clock after each terminal count
    expect(irq.rises[0] - before).toBe(4);
  });
});
