import { describe, it, expect, beforeEach } from 'vitest';
import { Bus } from '../../src/devices/bus.ts';
import { I8042 } from '../../src/devices/i8042.ts';
import { IrqRecorder } from './harness.ts';

describe('i8042 keyboard controller', () => {
  let bus: Bus;
  let kbc: I8042;
  let irq: IrqRecorder;
  let a20: boolean;
  let resets: string[];

  const cmd = (c: number): void => bus.out8(0x64, c);
  const data = (): number => bus.in8(0x60);
  const status = (): number => bus.in8(0x64);
  /** Reads everything waiting in the output buffer. */
  const drain = (): number[] => {
    const out: number[] = [];
    while (status() & 1) out.push(data());
    return out;
  };

  beforeEach(() => {
    bus = new Bus();
    irq = new IrqRecorder();
    a20 = true;
    resets = [];
    kbc = new I8042({ irqs: irq, setA20: (on) => { a20 = on; }, a20: () => a20, requestReset: (r) => resets.push(r) });
    kbc.attach(bus);
  });

  it('comes up as after POST: self-test passed, translation and IRQ1 on, mouse off', () => {
    expect(status() & 0x04).toBe(0x04);
    cmd(0x20);
    expect(data()).toBe(0x65);
  });

  it('answers self-test 0xAA with 0x55 and the interface tests with 0x00', () => {
    cmd(0xaa);
    expect(drain()).toEqual([0x55]);
    cmd(0xab);
    expect(drain()).toEqual([0x00]);
    cmd(0xa9);
    expect(drain()).toEqual([0x00]);
  });

  it('reads and writes the command byte; IRQ1 follows its enable bit', () => {
    cmd(0x60);
    bus.out8(0x60, 0x44); // translation, no IRQs
    cmd(0x20);
    expect(data()).toBe(0x44);
    kbc.pressKey(0x1e, true); // 'A'
    expect(status() & 1).toBe(1);
    expect(irq.level[1]).toBe(false);
    cmd(0x60);
    expect(irq.level[1]).toBe(false);
    bus.out8(0x60, 0x45);
    expect(irq.level[1]).toBe(true);
    expect(data()).toBe(0x1e);
    expect(irq.level[1]).toBe(false);
  });

  it('translates set 2 to set 1 when the translation bit is set, and not otherwise', () => {
    kbc.pressKey(0x1e, true);
    kbc.pressKey(0x1e, false);
    kbc.pressKey(0xe04b, true); // extended left arrow
    expect(drain()).toEqual([0x1e, 0x9e, 0xe0, 0x4b]);
    cmd(0x60);
    bus.out8(0x60, 0x05); // translation off
    kbc.pressKey(0x1e, true);
    kbc.pressKey(0x1e, false);
    expect(drain()).toEqual([0x1c, 0xf0, 0x1c]);
  });

  it('keyboard commands: reset, identify, LEDs, scancode set, echo, scanning, unknown', () => {
    bus.out8(0x60, 0xff);
    expect(drain()).toEqual([0xfa, 0xaa]);
    bus.out8(0x60, 0xf2);
    expect(drain()).toEqual([0xfa, 0xab, 0x41]); // 0x83 translated
    bus.out8(0x60, 0xed);
    bus.out8(0x60, 0x07);
    expect(drain()).toEqual([0xfa, 0xfa]);
    expect(kbc.kbdLeds).toBe(7);
    bus.out8(0x60, 0xf0);
    bus.out8(0x60, 0x00);
    expect(drain()).toEqual([0xfa, 0xfa, 0x41]); // set 2, translated (0x02 → 0x41)
    bus.out8(0x60, 0xf0);
    bus.out8(0x60, 0x01);
    drain();
    cmd(0x60);
    bus.out8(0x60, 0x01); // no translation
    kbc.pressKey(0x1e, false);
    expect(drain()).toEqual([0x9e]); // set 1 break code straight from the keyboard
    bus.out8(0x60, 0xee);
    expect(drain()).toEqual([0xee]);
    bus.out8(0x60, 0xf5);
    kbc.pressKey(0x1e, true);
    expect(drain()).toEqual([0xfa]); // scanning disabled
    bus.out8(0x60, 0x12);
    expect(drain()).toEqual([0xfe]);
  });

  it('holds keyboard data while its port is disabled', () => {
    cmd(0xad);
    kbc.pressKey(0x10, true);
    expect(status() & 1).toBe(0);
    cmd(0xae);
    expect(drain()).toEqual([0x10]);
  });

  it('aux port: loopback 0xD3 raises IRQ12 with the aux status bit; mouse commands via 0xD4', () => {
    cmd(0xa8);
    cmd(0x60);
    bus.out8(0x60, 0x47); // both IRQs, translation, SYS
    cmd(0xd3);
    bus.out8(0x60, 0x5a);
    expect(status() & 0x21).toBe(0x21);
    expect(irq.level[12]).toBe(true);
    expect(data()).toBe(0x5a);
    expect(irq.level[12]).toBe(false);
    cmd(0xd4); bus.out8(0x60, 0xff);
    expect(drain()).toEqual([0xfa, 0xaa, 0x00]);
    cmd(0xd4); bus.out8(0x60, 0xf2);
    expect(drain()).toEqual([0xfa, 0x00]);
    for (const rate of [200, 100, 80]) {
      cmd(0xd4); bus.out8(0x60, 0xf3);
      cmd(0xd4); bus.out8(0x60, rate);
    }
    drain();
    cmd(0xd4); bus.out8(0x60, 0xf2);
    expect(drain()).toEqual([0xfa, 0x03]); // IntelliMouse
    cmd(0xd4); bus.out8(0x60, 0xf4);
    drain();
    kbc.moveMouse(5, -3, 1, 1);
    expect(drain()).toEqual([0x29, 5, 0xfd, 1]);
  });

  it('drives A20 and reset through the output port, and resets on the 0xFE pulse', () => {
    cmd(0xd0);
    expect(data() & 0x03).toBe(0x03);
    cmd(0xd1);
    bus.out8(0x60, 0xdd); // A20 off, reset line high
    expect(a20).toBe(false);
    cmd(0xd1);
    bus.out8(0x60, 0xdf);
    expect(a20).toBe(true);
    expect(resets).toEqual([]);
    cmd(0xfe);
    expect(resets.length).toBe(1);
    cmd(0xff); // pulse nothing
    expect(resets.length).toBe(1);
  });
});
