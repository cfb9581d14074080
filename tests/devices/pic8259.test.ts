import { describe, it, expect, beforeEach } from 'vitest';
import { Bus } from '../../src/devices/bus.ts';
import { DualPic } from '../../src/devices/pic8259.ts';

describe('8259A PIC pair', () => {
  let bus: Bus;
  let pic: DualPic;
  let intr: boolean;

  /** The ICW sequence Linux's init_8259A uses (edge, cascade, 8086 mode). */
  function init(masterBase = 0x20, slaveBase = 0x28, icw4 = 0x01): void {
    bus.out8(0x20, 0x11); bus.out8(0x21, masterBase); bus.out8(0x21, 0x04); bus.out8(0x21, icw4);
    bus.out8(0xa0, 0x11); bus.out8(0xa1, slaveBase); bus.out8(0xa1, 0x02); bus.out8(0xa1, icw4);
    bus.out8(0x21, 0x00);
    bus.out8(0xa1, 0x00);
  }
  const irr = (port: number): number => { bus.out8(port, 0x0a); return bus.in8(port); };
  const isr = (port: number): number => { bus.out8(port, 0x0b); return bus.in8(port); };

  beforeEach(() => {
    bus = new Bus();
    intr = false;
    pic = new DualPic((level) => { intr = level; });
    pic.attach(bus);
    pic.reset();
  });

  it('comes out of reset as a BIOS leaves it: vectors 0x08/0x70, all masked but the cascade', () => {
    expect(bus.in8(0x21)).toBe(0xfb);
    expect(bus.in8(0xa1)).toBe(0xff);
    pic.setIrq(0, true);
    expect(intr).toBe(false);
    bus.out8(0x21, 0xfa);
    expect(intr).toBe(true);
    expect(pic.acknowledge()).toBe(0x08);
  });

  it('runs the ICW1–ICW4 sequence and delivers vectors from both chips', () => {
    init();
    pic.setIrq(1, true);
    expect(intr).toBe(true);
    expect(irr(0x20)).toBe(0x02);
    expect(pic.acknowledge()).toBe(0x21);
    expect(isr(0x20)).toBe(0x02);
    expect(irr(0x20)).toBe(0x00); // edge request cleared by INTA
    expect(intr).toBe(false);
    bus.out8(0x20, 0x20); // non-specific EOI
    expect(isr(0x20)).toBe(0);

    pic.setIrq(12, true);
    expect(intr).toBe(true);
    expect(pic.acknowledge()).toBe(0x2c);
    expect(isr(0xa0)).toBe(0x10);
    expect(isr(0x20)).toBe(0x04);
    bus.out8(0xa0, 0x20);
    bus.out8(0x20, 0x20);
    expect(isr(0xa0) | isr(0x20)).toBe(0);
  });

  it('masks with OCW1 and keeps the request in IRR', () => {
    init();
    bus.out8(0x21, 0x01);
    pic.setIrq(0, true);
    expect(intr).toBe(false);
    expect(irr(0x20)).toBe(0x01);
    bus.out8(0x21, 0x00);
    expect(intr).toBe(true);
  });

  it('resolves priority: lower IRQ first, in-service blocks equal and lower, nesting allows higher', () => {
    init();
    pic.setIrq(5, true);
    pic.setIrq(3, true);
    expect(pic.acknowledge()).toBe(0x23);
    expect(intr).toBe(false); // IRQ5 is lower priority than in-service IRQ3
    pic.setIrq(1, true);
    expect(intr).toBe(true); // IRQ1 is higher: nests
    expect(pic.acknowledge()).toBe(0x21);
    bus.out8(0x20, 0x20); // EOI clears the highest in service (IRQ1)
    expect(isr(0x20)).toBe(0x08);
    bus.out8(0x20, 0x63); // specific EOI for IRQ3
    expect(isr(0x20)).toBe(0);
    expect(pic.acknowledge()).toBe(0x25);
  });

  it('rotates priority on EOI and with set-priority', () => {
    init();
    pic.setIrq(0, true);
    expect(pic.acknowledge()).toBe(0x20);
    bus.out8(0x20, 0xa0); // rotate on non-specific EOI: IRQ0 becomes lowest
    pic.setIrq(0, false);
    pic.setIrq(0, true);
    pic.setIrq(4, true);
    expect(pic.acknowledge()).toBe(0x24);
    bus.out8(0x20, 0x20);
    bus.out8(0x20, 0xc0 | 4); // set priority: IRQ4 lowest, so IRQ5 highest
    pic.setIrq(4, false);
    pic.setIrq(4, true);
    pic.setIrq(6, true);
    expect(pic.acknowledge()).toBe(0x26);
  });

  it('auto-EOI leaves nothing in service', () => {
    init(0x20, 0x28, 0x03);
    pic.setIrq(4, true);
    expect(pic.acknowledge()).toBe(0x24);
    expect(isr(0x20)).toBe(0);
  });

  it('answers a vanished request with spurious IRQ7 / IRQ15 without setting ISR', () => {
    init();
    expect(pic.acknowledge()).toBe(0x27);
    expect(isr(0x20)).toBe(0);
    // Level-triggered IRQ10 (ELCR) dropping before INTA: the slave answers IRQ15, the master IRQ2 is in service.
    bus.out8(0x4d1, 0x04);
    pic.setIrq(10, true);
    expect(intr).toBe(true);
    pic.setIrq(10, false);
    expect(pic.acknowledge()).toBe(0x2f);
    expect(isr(0xa0)).toBe(0);
    expect(pic.counters.spurious).toBe(2);
  });

  it('level-triggered lines (ELCR) stay requested while high and re-request after EOI', () => {
    init();
    bus.out8(0x4d1, 0x0c);
    expect(bus.in8(0x4d1)).toBe(0x0c);
    bus.out8(0x4d0, 0xff);
    expect(bus.in8(0x4d0)).toBe(0xf8); // IRQ0–2 cannot be level triggered
    bus.out8(0x4d0, 0x00);
    pic.setIrq(11, true);
    expect(pic.acknowledge()).toBe(0x2b);
    expect(irr(0xa0)).toBe(0x08);
    bus.out8(0xa0, 0x20);
    bus.out8(0x20, 0x20);
    expect(intr).toBe(true); // still asserted: asks again
    pic.setIrq(11, false);
    expect(irr(0xa0)).toBe(0);
    // The master latched the cascade edge (as QEMU's 8259 does): INTA finds nothing on the slave.
    expect(pic.acknowledge()).toBe(0x2f);
    bus.out8(0x20, 0x20);
    expect(intr).toBe(false);
  });

  it('edge-triggered lines need a new rising edge', () => {
    init();
    pic.setIrq(3, true);
    pic.acknowledge();
    bus.out8(0x20, 0x20);
    expect(intr).toBe(false);
    pic.setIrq(3, true); // still high: no new edge
    expect(intr).toBe(false);
    pic.setIrq(3, false);
    pic.setIrq(3, true);
    expect(intr).toBe(true);
  });

  it('poll command acknowledges without INTA', () => {
    init();
    pic.setIrq(6, true);
    bus.out8(0x20, 0x0c);
    expect(bus.in8(0x20)).toBe(0x86);
    expect(isr(0x20)).toBe(0x40);
    bus.out8(0x20, 0x0c);
    expect(bus.in8(0x20)).toBe(0x00);
  });

  it('special mask mode lets lower priorities through past a masked in-service level', () => {
    init();
    pic.setIrq(2 + 1, true);
    expect(pic.acknowledge()).toBe(0x23);
    pic.setIrq(5, true);
    expect(intr).toBe(false);
    bus.out8(0x21, 0x08); // mask IRQ3 (in service)
    bus.out8(0x20, 0x68); // set special mask mode
    expect(intr).toBe(true);
    expect(pic.acknowledge()).toBe(0x25);
    bus.out8(0x20, 0x48); // clear special mask mode
  });

  it('ICW1 reinitialisation clears masks, in-service and edge requests', () => {
    init();
    pic.setIrq(1, true);
    pic.acknowledge();
    bus.out8(0x20, 0x11);
    expect(isr(0x20)).toBe(0);
    bus.out8(0x21, 0x40); bus.out8(0x21, 0x04); bus.out8(0x21, 0x01);
    expect(bus.in8(0x21)).toBe(0);
    pic.setIrq(1, false);
    pic.setIrq(1, true);
    expect(pic.acknowledge()).toBe(0x41);
  });
});
