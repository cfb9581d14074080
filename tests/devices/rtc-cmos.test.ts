import { describe, it, expect, beforeEach } from 'vitest';
import { Bus } from '../../src/devices/bus.ts';
import { RtcCmos, civilFromDays, daysFromCivil } from '../../src/devices/rtc-cmos.ts';
import { IrqRecorder, timeHarness } from './harness.ts';

// 2026-03-14 15:09:26 UTC, a Saturday.
const START = Date.UTC(2026, 2, 14, 15, 9, 26, 250);

describe('MC146818 RTC and CMOS', () => {
  let bus: Bus;
  let rtc: RtcCmos;
  let irq: IrqRecorder;
  let h: ReturnType<typeof timeHarness>;
  const rd = (i: number): number => { bus.out8(0x70, i); return bus.in8(0x71); };
  const wr = (i: number, v: number): void => { bus.out8(0x70, i); bus.out8(0x71, v); };

  beforeEach(() => {
    h = timeHarness();
    bus = new Bus();
    irq = new IrqRecorder();
    rtc = new RtcCmos(h.timers, irq, START);
    rtc.attach(bus);
    rtc.initFirmwareBytes(128 * 1024 * 1024);
    rtc.reset();
  });

  it('converts between days and civil dates', () => {
    const out = [0, 0, 0];
    for (const [y, m, d] of [[1970, 1, 1], [2000, 2, 29], [2026, 3, 14], [2099, 12, 31]]) {
      civilFromDays(daysFromCivil(y, m, d), out);
      expect(out).toEqual([y, m, d]);
    }
    expect(daysFromCivil(2026, 3, 14)).toBe(Math.floor(Date.UTC(2026, 2, 14) / 86400e3));
  });

  it('reports the start date in BCD 24-hour form, with the century byte and weekday', () => {
    expect([rd(0), rd(2), rd(4), rd(6), rd(7), rd(8), rd(9), rd(0x32)]).toEqual([0x26, 0x09, 0x15, 0x07, 0x14, 0x03, 0x26, 0x20]);
    expect(rd(0x0a)).toBe(0x26);
    expect(rd(0x0b)).toBe(0x02);
    expect(rd(0x0d)).toBe(0x80);
  });

  it('advances with the machine clock and switches to binary and 12-hour formats', () => {
    h.advanceBy(750e6 + 60e9); // to 15:10:27
    expect(rd(0)).toBe(0x27);
    expect(rd(2)).toBe(0x10);
    wr(0x0b, 0x04); // binary, 12-hour
    expect(rd(0)).toBe(27);
    expect(rd(4)).toBe(0x80 | 3); // 3 PM
    wr(0x0b, 0x06);
    expect(rd(4)).toBe(15);
  });

  it('sets the time under SET and resumes one second after SET clears', () => {
    wr(0x0b, 0x82); // SET, BCD, 24h
    wr(4, 0x23); wr(2, 0x59); wr(0, 0x58);
    h.advanceBy(5e9);
    expect(rd(0)).toBe(0x58); // stopped
    wr(0x0b, 0x02);
    h.advanceBy(999e6);
    expect(rd(0)).toBe(0x58);
    h.advanceBy(2e6);
    expect(rd(0)).toBe(0x59);
    h.advanceBy(1e9);
    expect([rd(0), rd(2), rd(4), rd(7)]).toEqual([0x00, 0x00, 0x00, 0x15]); // next day
  });

  it('holds UIP for the last 244 µs before each update', () => {
    // START is 250 ms into its second.
    h.advanceTo(750e6 - 245e3);
    expect(rd(0x0a) & 0x80).toBe(0);
    h.advanceTo(750e6 - 240e3);
    expect(rd(0x0a) & 0x80).toBe(0x80);
    h.advanceTo(750e6 + 1e3);
    expect(rd(0x0a) & 0x80).toBe(0);
  });

  it('raises IRQ8 for periodic interrupts at the register A rate; register C clears on read', () => {
    wr(0x0a, 0x26); // 1024 Hz
    wr(0x0b, 0x42); // PIE
    h.advanceBy(1e6);
    expect(irq.level[8]).toBe(true);
    expect(rd(0x0c)).toBe(0xc0); // IRQF | PF
    expect(irq.level[8]).toBe(false);
    expect(rd(0x0c)).toBe(0);
    let n = 0;
    for (let i = 0; i < 1024; i++) {
      h.advanceBy(1e9 / 1024);
      if (irq.level[8]) { n++; rd(0x0c); }
    }
    expect(n).toBeGreaterThanOrEqual(1023);
    expect(n).toBeLessThanOrEqual(1025);
  });

  it('update-ended and alarm interrupts', () => {
    wr(0x0b, 0x12); // UIE
    h.advanceBy(800e6);
    expect(irq.level[8]).toBe(true);
    expect(rd(0x0c) & 0x90).toBe(0x90);
    wr(0x0b, 0x22); // AIE only
    wr(1, 0x30); wr(3, 0xff); wr(5, 0xff); // every minute at :30
    h.advanceBy(2e9);
    expect(irq.level[8]).toBe(false);
    h.advanceBy(3e9); // past 15:09:30
    expect(irq.level[8]).toBe(true);
    expect(rd(0x0c) & 0xa0).toBe(0xa0);
  });

  it('flags events in register C even with their interrupts disabled', () => {
    h.advanceBy(2e9);
    expect(rd(0x0c) & 0x10).toBe(0x10); // UF without UIE
    expect(irq.rises[8]).toBe(0);
  });

  it('holds firmware CMOS bytes: memory sizes, equipment, checksum; the NMI mask bit', () => {
    expect(rd(0x15) | (rd(0x16) << 8)).toBe(640);
    expect(rd(0x17) | (rd(0x18) << 8)).toBe(0xffff); // KiB above 1 MiB, capped as QEMU does
    expect(rd(0x30) | (rd(0x31) << 8)).toBe(0xffff);
    expect(rd(0x34) | (rd(0x35) << 8)).toBe((128 - 16) * 16);
    expect(rd(0x14)).toBe(0x06);
    let sum = 0;
    for (let i = 0x10; i <= 0x2d; i++) sum += rd(i);
    expect((rd(0x2e) << 8) | rd(0x2f)).toBe(sum);
    bus.out8(0x70, 0x80 | 0x15);
    expect(rtc.nmiMasked).toBe(true);
    bus.out8(0x70, 0x15);
    expect(rtc.nmiMasked).toBe(false);
    wr(0x40, 0xa5);
    expect(rd(0x40)).toBe(0xa5);
    wr(0x0d, 0);
    expect(rd(0x0d)).toBe(0x80);
  });

  it('keeps time and RAM across a machine reset but clears interrupt enables', () => {
    wr(0x0b, 0x52);
    wr(0x40, 0x5a);
    h.advanceBy(3e9);
    rtc.reset();
    expect(rd(0x0b)).toBe(0x02);
    expect(rd(0x40)).toBe(0x5a);
    expect(rd(0)).toBe(0x29);
  });
});
