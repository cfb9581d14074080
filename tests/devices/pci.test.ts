import { describe, it, expect, beforeEach } from 'vitest';
import { Pc } from '../../src/machine/pc.ts';
import { PciDevice } from '../../src/devices/pci/pci-device.ts';
import { Msix } from '../../src/devices/pci/msix.ts';
import { S } from '../../src/x86/state.ts';

describe('PCI bus (configuration mechanism #1) and the PIIX chipset', () => {
  let pc: Pc;
  const bus = () => pc.machine.bus;
  const addr = (dev: number, fn: number, reg: number): number => (0x80000000 | (dev << 11) | (fn << 8) | reg) >>> 0;
  const cfg32 = (dev: number, fn: number, reg: number): number => { bus().out32(0xcf8, addr(dev, fn, reg)); return bus().in32(0xcfc) >>> 0; };
  const cfgW32 = (dev: number, fn: number, reg: number, v: number): void => { bus().out32(0xcf8, addr(dev, fn, reg)); bus().out32(0xcfc, v); };

  beforeEach(() => {
    pc = new Pc({ memoryMiB: 16, clock: 'deterministic' });
  });

  it('enumerates bus 0 like QEMU -M pc: i440FX, PIIX3 (multi-function), PIIX4 PM', () => {
    const found: string[] = [];
    for (let dev = 0; dev < 32; dev++) {
      for (let fn = 0; fn < 8; fn++) {
        const id = cfg32(dev, fn, 0);
        if ((id & 0xffff) === 0xffff) { if (fn === 0) break; continue; }
        found.push(`${dev}.${fn} ${id.toString(16)} class ${(cfg32(dev, fn, 8) >>> 8).toString(16)}`);
        if (fn === 0 && !(cfg32(dev, 0, 0x0c) & 0x800000)) break;
      }
    }
    expect(found).toEqual(['0.0 12378086 class 60000', '1.0 70008086 class 60100', '1.3 71138086 class 68000']);
  });

  it('supports byte and word config accesses and CONFIG_ADDRESS readback', () => {
    bus().out32(0xcf8, addr(1, 0, 0));
    expect(bus().in32(0xcf8) >>> 0).toBe(addr(1, 0, 0));
    expect(bus().in16(0xcfe)).toBe(0x7000);
    expect(bus().in8(0xcfc)).toBe(0x86);
    bus().out32(0xcf8, addr(1, 0, 0x60));
    expect(bus().in8(0xcfd)).toBe(10); // PIRQB → IRQ 10 (firmware)
    bus().out32(0xcf8, 0);
    expect(bus().in32(0xcfc)).toBe(-1); // disabled: all-ones
  });

  it('sizes and maps I/O and memory BARs as the command register enables them', () => {
    const dev = new PciDevice('test', { vendorId: 0x1af4, deviceId: 0x1000, classCode: 0x020000, interruptPin: 1 });
    let ioReads = 0;
    dev.defineBar(0, { kind: 'io', size: 32, handler: { read8: () => { ioReads++; return 0x42; } } });
    dev.defineBar(1, { kind: 'mem32', size: 0x1000, handler: { read: (o) => o, write: () => {} } });
    pc.pci.plug(dev, 5);
    cfgW32(5, 0, 0x10, 0xffffffff);
    expect(cfg32(5, 0, 0x10)).toBe(0xffffffe1);
    cfgW32(5, 0, 0x14, 0xffffffff);
    expect(cfg32(5, 0, 0x14)).toBe(0xfffff000);
    cfgW32(5, 0, 0x10, 0xd000);
    cfgW32(5, 0, 0x14, 0xfeb00000);
    expect(bus().in8(0xd004)).toBe(0xff); // decoders off
    cfgW32(5, 0, 0x04, 0x3);
    expect(bus().in8(0xd004)).toBe(0x42);
    expect(bus().mmioRead(0xfeb00010, 4)).toBe(0x10);
    cfgW32(5, 0, 0x14, 0xfea00000); // move the memory BAR
    expect(bus().mmioRead(0xfea00020, 4)).toBe(0x20);
    expect(bus().isMmio(0xfeb00000)).toBe(false);
    cfgW32(5, 0, 0x04, 0x0);
    expect(bus().isMmio(0xfea00000)).toBe(false);
    expect(ioReads).toBe(1);
    cfgW32(5, 0, 0x14, 0x00100000); // below the top of RAM: the host bridge keeps it
    cfgW32(5, 0, 0x04, 0x2);
    expect(bus().isMmio(0x00100000)).toBe(false);
  });

  it('routes INTx through the slot swizzle and PIRQ registers to ISA IRQs (PIC and IOAPIC)', () => {
    const dev = new PciDevice('test', { vendorId: 0x1af4, deviceId: 0x1000, classCode: 0x020000, interruptPin: 1 });
    pc.pci.plug(dev, 3);
    pc.pci.assignResources();
    expect(cfg32(3, 0, 0x3c) & 0xff).toBe(11); // slot 3 INTA → PIRQD → IRQ 11
    expect(bus().in8(0x4d1)).toBe(0x0c); // firmware made IRQ 10/11 level triggered
    bus().out8(0xa1, 0xf7); // unmask IRQ11 on the slave
    bus().out8(0x21, 0xfb);
    dev.setIntx(true);
    expect(cfg32(3, 0, 0x04) >>> 16 & 0x8).toBe(0x8); // interrupt status
    expect(pc.machine.cpu.st[S.IRQ_PENDING]).toBe(1);
    cfgW32(3, 0, 0x04, 0x400); // INTx disable
    expect(pc.pic.slave.irr & 0x08).toBe(0);
    cfgW32(3, 0, 0x04, 0);
    cfgW32(1, 0, 0x60, 0x0a0a0a0a); // all PIRQs to IRQ 10
    expect(pc.pic.slave.irr & 0x0c).toBe(0x04);
    expect(pc.ioapic.lines & (1 << 10)).toBe(1 << 10);
    dev.setIntx(false);
    expect(pc.ioapic.lines & (1 << 10)).toBe(0);
  });

  it('links capabilities and delivers MSI-X messages, holding masked vectors pending', () => {
    const dev = new PciDevice('msix', { vendorId: 0x1af4, deviceId: 0x1041, classCode: 0x020000 });
    const msix = new Msix(dev, 4, pc.lapic, 1, 0, 1, 0x800);
    dev.defineBar(1, { kind: 'mem32', size: 0x1000, handler: msix.mmio() });
    const vendorCap = dev.addCapability(0x09, 8);
    pc.pci.plug(dev, 4);
    pc.pci.assignResources();
    expect(cfg32(4, 0, 0x04) >>> 16 & 0x10).toBe(0x10);
    const first = cfg32(4, 0, 0x34) & 0xff;
    expect(first).toBe(msix.capOffset);
    expect((cfg32(4, 0, first) >> 8) & 0xff).toBe(vendorCap);
    expect(cfg32(4, 0, first) >>> 16).toBe(3); // table size - 1
    const bar = (cfg32(4, 0, 0x14) & ~0xf) >>> 0;
    expect(msix.notify(0)).toBe(false); // not enabled
    cfgW32(4, 0, first, 0x80000000 | (cfg32(4, 0, first) & 0xffff));
    bus().mmioWrite(bar + 0, 4, 0xfee00000);
    bus().mmioWrite(bar + 8, 4, 0x71);
    expect(msix.notify(0)).toBe(true);
    expect(bus().mmioRead(bar + 0x800, 4)).toBe(1); // pending: entry masked
    bus().mmioWrite(bar + 12, 4, 0); // unmask: delivered
    expect(bus().mmioRead(bar + 0x800, 4)).toBe(0);
    expect(pc.machine.cpu.intc!.acknowledge()).toBe(0x71);
  });

  it('resets through 0xCF9 (hard with bit 1) and ignores writes without bit 2', () => {
    const reasons: string[] = [];
    pc.machine.onEvent((e) => { if (e.type === 'reset') reasons.push(e.reason); });
    bus().out8(0xcf9, 0x02);
    expect(bus().in8(0xcf9)).toBe(0x02);
    pc.machine.runSlice(1);
    expect(reasons).toEqual([]);
    bus().out8(0xcf9, 0x06);
    pc.machine.runSlice(1);
    expect(reasons).toEqual(['hard reset via port 0xcf9']);
  });
});
