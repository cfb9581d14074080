import { describe, it, expect } from 'vitest';
import { Bus, BusError } from '../../src/devices/bus.ts';

describe('Bus port I/O', () => {
  it('reads all-ones from unclaimed ports at every width and ignores writes', () => {
    const bus = new Bus();
    expect(bus.in8(0x1234)).toBe(0xff);
    expect(bus.in16(0x1234)).toBe(0xffff);
    expect(bus.in32(0x1234) >>> 0).toBe(0xffffffff);
    expect(() => bus.out32(0x1234, 0xdeadbeef)).not.toThrow();
  });

  it('dispatches 8/16/32-bit accesses to the claiming device with the port number', () => {
    const bus = new Bus();
    const log: string[] = [];
    bus.registerPorts(0x100, 4, 'dev', {
      read8: (p) => { log.push(`r8 ${p.toString(16)}`); return 0x1ab; },
      read16: (p) => { log.push(`r16 ${p.toString(16)}`); return 0x12345; },
      read32: (p) => { log.push(`r32 ${p.toString(16)}`); return 0x89abcdef; },
      write8: (p, v) => log.push(`w8 ${p.toString(16)}=${v.toString(16)}`),
      write16: (p, v) => log.push(`w16 ${p.toString(16)}=${v.toString(16)}`),
      write32: (p, v) => log.push(`w32 ${p.toString(16)}=${(v >>> 0).toString(16)}`),
    });
    expect(bus.in8(0x101)).toBe(0xab); // truncated to the access width
    expect(bus.in16(0x102)).toBe(0x2345);
    expect(bus.in32(0x100) >>> 0).toBe(0x89abcdef);
    bus.out8(0x103, 0x1ff);
    bus.out16(0x100, 0xbeef);
    bus.out32(0x100, 0xcafef00d);
    expect(log).toEqual(['r8 101', 'r16 102', 'r32 100', 'w8 103=ff', 'w16 100=beef', 'w32 100=cafef00d']);
  });

  it('splits wide accesses into byte cycles for 8-bit-only devices', () => {
    const bus = new Bus();
    const regs = new Uint8Array(4);
    bus.registerPorts(0x60, 4, 'bytes', { read8: (p) => regs[p - 0x60], write8: (p, v) => { regs[p - 0x60] = v; } });
    bus.out32(0x60, 0x44332211);
    expect([...regs]).toEqual([0x11, 0x22, 0x33, 0x44]);
    expect(bus.in16(0x62)).toBe(0x4433);
    expect(bus.in32(0x60) >>> 0).toBe(0x44332211);
  });

  it('refuses overlapping port claims and out-of-range ports, naming the owner', () => {
    const bus = new Bus();
    bus.registerPorts(0x3f8, 8, 'COM1', {});
    expect(() => bus.registerPorts(0x3fc, 2, 'other', {})).toThrow(/0x3fc is already claimed by COM1/);
    expect(() => bus.registerPorts(0xfffe, 4, 'wrap', {})).toThrow(BusError);
    expect(() => bus.registerPorts(0x10, 0, 'empty', {})).toThrow(BusError);
    bus.unregisterPorts(0x3f8, 8);
    expect(() => bus.registerPorts(0x3fc, 2, 'other', {})).not.toThrow();
  });
});

describe('Bus MMIO', () => {
  it('dispatches to regions with offsets relative to the region start and marks their pages', () => {
    const bus = new Bus();
    const seen: [string, number, number, number?][] = [];
    bus.registerMmio(0xfee00000, 0x1000, 'apic', {
      read: (o, s) => { seen.push(['r', o, s]); return 0x42; },
      write: (o, s, v) => { seen.push(['w', o, s, v]); },
    });
    expect(bus.isMmio(0xfee00020)).toBe(true);
    expect(bus.isMmio(0xfee01000)).toBe(false);
    expect(bus.mmioPages[0xfee00]).toBe(1);
    expect(bus.mmioRead(0xfee000b0, 4)).toBe(0x42);
    bus.mmioWrite(0xfee00080, 2, 7);
    expect(seen).toEqual([['r', 0xb0, 4], ['w', 0x80, 2, 7]]);
  });

  it('reads all-ones outside any region', () => {
    const bus = new Bus();
    expect(bus.mmioRead(0xd0000000, 1)).toBe(0xff);
    expect(bus.mmioRead(0xd0000000, 2)).toBe(0xffff);
    expect(bus.mmioRead(0xd0000000, 4)).toBe(-1);
  });

  it('refuses overlapping regions and regions beyond 4 GiB', () => {
    const bus = new Bus();
    bus.registerMmio(0xa0000, 0x20000, 'vga', { read: () => 0, write: () => {} });
    expect(() => bus.registerMmio(0xbf000, 0x2000, 'x', { read: () => 0, write: () => {} })).toThrow(/overlaps vga/);
    expect(() => bus.registerMmio(0xfffff000, 0x2000, 'y', { read: () => 0, write: () => {} })).toThrow(BusError);
  });

  it('moves a region (BAR reprogramming) and updates the page map', () => {
    const bus = new Bus();
    bus.registerMmio(0xe0000000, 0x1000, 'bar', { read: () => 1, write: () => {} });
    bus.moveMmio(0xe0000000, 0xe0100000);
    expect(bus.isMmio(0xe0000000)).toBe(false);
    expect(bus.mmioRead(0xe0100004, 4)).toBe(1);
  });
});
