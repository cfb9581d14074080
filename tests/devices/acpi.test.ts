import { describe, it, expect } from 'vitest';
import { Pc, ACPI_TABLES_BASE } from '../../src/machine/pc.ts';
import * as aml from '../../src/devices/acpi/aml.ts';
import { buildE820 } from '../../src/machine/boot/e820.ts';

function advance(pc: Pc, ns: number): void {
  pc.machine.clock.idleUntil(pc.machine.clock.nowNs() + ns);
  pc.machine.timers.fireDue();
}

describe('ACPI', () => {
  const pc = new Pc({ memoryMiB: 32, clock: 'deterministic' });
  const ram = pc.machine.views.ram8;
  const dv = new DataView(ram.buffer, ram.byteOffset, ram.byteLength);
  const u32 = (a: number): number => dv.getUint32(a, true);
  const sig = (a: number): string => String.fromCharCode(...ram.subarray(a, a + 4));
  const sum = (a: number, n: number): number => ram.subarray(a, a + n).reduce((s, b) => (s + b) & 0xff, 0);

  it('puts an RSDP where the OS scans (0xE0000–0xFFFFF, 16-byte aligned) with valid checksums throughout', () => {
    let rsdp = -1;
    for (let a = 0xe0000; a < 0x100000; a += 16) {
      if (String.fromCharCode(...ram.subarray(a, a + 8)) === 'RSD PTR ' && sum(a, 20) === 0) { rsdp = a; break; }
    }
    expect(rsdp).toBe(ACPI_TABLES_BASE);
    const rsdt = u32(rsdp + 16);
    expect(sig(rsdt)).toBe('RSDT');
    expect(sum(rsdt, u32(rsdt + 4))).toBe(0);
    const entries = (u32(rsdt + 4) - 36) / 4;
    const tables = Array.from({ length: entries }, (_, i) => u32(rsdt + 36 + 4 * i));
    expect(tables.map(sig)).toEqual(['FACP', 'APIC']);
    for (const t of tables) expect(sum(t, u32(t + 4))).toBe(0);
    const fadt = tables[0];
    const dsdt = u32(fadt + 40);
    expect(sig(dsdt)).toBe('DSDT');
    expect(sum(dsdt, u32(dsdt + 4))).toBe(0);
    expect(sig(u32(fadt + 36))).toBe('FACS');
    expect(u32(fadt + 36) % 64).toBe(0);
  });

  it('describes the PM blocks, SCI 9, century and the 0xCF9 reset register in the FADT', () => {
    const fadt = pc.acpi.fadt;
    expect(u32(fadt + 4)).toBe(244);
    expect(dv.getUint16(fadt + 46, true)).toBe(9);
    expect([u32(fadt + 56), u32(fadt + 64), u32(fadt + 76), u32(fadt + 80)]).toEqual([0x600, 0x604, 0x608, 0x60c]);
    expect(ram[fadt + 108]).toBe(0x32);
    expect(u32(fadt + 112) & (1 << 10)).toBe(1 << 10);
    expect([...ram.subarray(fadt + 116, fadt + 120)]).toEqual([1, 8, 0, 1]);
    expect(u32(fadt + 120)).toBe(0xcf9);
    expect(ram[fadt + 128]).toBe(0x06);
    expect(dv.getUint16(fadt + 109, true) & 2).toBe(2); // 8042 present
  });

  it('lists the local APIC, the IOAPIC, IRQ0 → GSI 2 and a level SCI in the MADT', () => {
    const madt = pc.acpi.madt;
    expect(u32(madt + 36)).toBe(0xfee00000);
    const entries: number[][] = [];
    for (let p = madt + 44; p < madt + u32(madt + 4); p += ram[p + 1]) entries.push([...ram.subarray(p, p + ram[p + 1])]);
    expect(entries.map((e) => e[0])).toEqual([0, 1, 2, 2, 4]);
    expect(new DataView(Uint8Array.from(entries[1]).buffer).getUint32(4, true)).toBe(0xfec00000);
    expect(entries[2]).toEqual([2, 10, 0, 0, 2, 0, 0, 0, 0, 0]);
    expect(entries[3]).toEqual([2, 10, 0, 9, 9, 0, 0, 0, 0x0d, 0]);
  });

  it('encodes AML: package lengths, integers, EISA IDs, names and the DSDT', () => {
    expect(aml.pkgLength(10)).toEqual([11]);
    expect(aml.pkgLength(62)).toEqual([63]);
    expect(aml.pkgLength(63)).toEqual([0x41, 0x04]); // 65 = 0x41 → lead 0x40|1, then 0x04
    expect(aml.integer(0)).toEqual([0]);
    expect(aml.integer(5)).toEqual([0x0a, 5]);
    expect(aml.integer(0x1234)).toEqual([0x0b, 0x34, 0x12]);
    expect(aml.eisaId('PNP0A03')).toEqual([0x0c, 0x41, 0xd0, 0x0a, 0x03]);
    expect(aml.nameString('\\_SB.PCI0')).toEqual([0x5c, 0x2e, ...[...'_SB_PCI0'].map((c) => c.charCodeAt(0))]);
    const dsdt = pc.acpi.dsdt;
    const body = [...ram.subarray(dsdt + 36, dsdt + u32(dsdt + 4))];
    // Name(\_S5, Package(4){0, 0, 0, 0})
    expect(body.slice(0, 13)).toEqual([0x08, 0x5c, 0x5f, 0x53, 0x35, 0x5f, 0x12, 0x06, 0x04, 0, 0, 0, 0]);
    const text = String.fromCharCode(...body);
    expect(text).toContain('PCI0');
    expect(text).toContain('_HID');
  });

  it('reserves the tables segment in the e820 map', () => {
    const map = buildE820(pc.machine.memoryBytes, pc.reservedRegions());
    expect(map).toContainEqual({ base: 0xe0000, length: 0x10000, type: 2 });
  });

  it('runs the PM timer at 3.579545 MHz (24 bits) and sets TMR_STS on bit-23 changes', () => {
    const bus = pc.machine.bus;
    const t0 = bus.in32(0x608);
    advance(pc, 1e6);
    const t1 = bus.in32(0x608);
    expect((t1 - t0) & 0xffffff).toBeGreaterThanOrEqual(3579);
    expect((t1 - t0) & 0xffffff).toBeLessThanOrEqual(3580);
    bus.out16(0x600, 0xffff);
    advance(pc, 2.4e9);
    expect(bus.in16(0x600) & 1).toBe(1);
    expect(bus.in32(0x608) >>> 24).toBe(0);
  });

  it('PM1 status is write-1-to-clear; the power button raises SCI on IRQ 9 when enabled', () => {
    const bus = pc.machine.bus;
    bus.out8(0xa1, 0xfd); // unmask IRQ9 on the slave
    bus.out8(0x21, 0xfb);
    pc.pm.pressPowerButton();
    expect(bus.in16(0x600) & 0x100).toBe(0x100);
    expect(pc.pic.slave.irr & 0x02).toBe(0);
    bus.out16(0x602, 0x100);
    expect(pc.pic.slave.irr & 0x02).toBe(0x02);
    bus.out16(0x600, 0x100);
    expect(bus.in16(0x600) & 0x100).toBe(0);
    expect(bus.in16(0x604) & 1).toBe(1); // SCI_EN: ACPI always on
  });

  it('powers off on SLP_EN with SLP_TYP = S5 (0), via word or byte writes', () => {
    for (const wide of [true, false]) {
      const p = new Pc({ memoryMiB: 16, clock: 'deterministic' });
      let off = false;
      p.machine.onEvent((e) => { if (e.type === 'poweroff') off = true; });
      if (wide) p.machine.bus.out16(0x604, 0x2000 | (0 << 10) | 1);
      else p.machine.bus.out8(0x605, 0x20);
      expect(off).toBe(true);
    }
    const p = new Pc({ memoryMiB: 16, clock: 'deterministic' });
    let off = false;
    p.machine.onEvent((e) => { if (e.type === 'poweroff') off = true; });
    p.machine.bus.out16(0x604, 0x2000 | (1 << 10)); // S3: not supported, wakes at once
    expect(off).toBe(false);
    expect(p.machine.bus.in16(0x600) & 0x8000).toBe(0x8000);
  });

  it('moves the PM block with PMBA and hides it when PMIOSE is cleared', () => {
    const p = new Pc({ memoryMiB: 16, clock: 'deterministic' });
    const bus = p.machine.bus;
    const cfg = (reg: number, v?: number): number => {
      bus.out32(0xcf8, 0x80000000 | (1 << 11) | (3 << 8) | reg);
      if (v !== undefined) bus.out32(0xcfc, v);
      return bus.in32(0xcfc) >>> 0;
    };
    expect(cfg(0x40)).toBe(0x601);
    cfg(0x40, 0xb000);
    expect(cfg(0x40)).toBe(0xb001);
    expect(bus.in16(0xb004) & 1).toBe(1);
    expect(bus.in16(0x604)).toBe(0xffff);
    cfg(0x80, 0);
    expect(bus.in16(0xb004)).toBe(0xffff);
  });
});
