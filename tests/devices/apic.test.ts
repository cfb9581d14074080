import { describe, it, expect, beforeEach } from 'vitest';
import { Pc } from '../../src/machine/pc.ts';
import { S } from '../../src/x86/state.ts';

const LAPIC = 0xfee00000;
const IOAPIC = 0xfec00000;

/** Advances a deterministic machine's clock to `ns`, firing timers at their deadlines. */
function advanceTo(pc: Pc, ns: number): void {
  const m = pc.machine;
  for (;;) {
    const next = m.timers.nextDeadline();
    if (next > ns) break;
    m.clock.idleUntil(next);
    m.timers.fireDue();
  }
  m.clock.idleUntil(ns);
  m.timers.fireDue();
}

describe('local APIC and IOAPIC', () => {
  let pc: Pc;
  const bus = () => pc.machine.bus;
  const rd = (r: number): number => bus().mmioRead(LAPIC + r, 4) >>> 0;
  const wr = (r: number, v: number): void => bus().mmioWrite(LAPIC + r, 4, v);
  const pending = (): number => pc.machine.cpu.st[S.IRQ_PENDING];
  const ioWr = (index: number, v: number): void => { bus().mmioWrite(IOAPIC, 4, index); bus().mmioWrite(IOAPIC + 0x10, 4, v); };
  const ioRd = (index: number): number => { bus().mmioWrite(IOAPIC, 4, index); return bus().mmioRead(IOAPIC + 0x10, 4) >>> 0; };
  const now = (): number => pc.machine.clock.nowNs();

  beforeEach(() => {
    pc = new Pc({ memoryMiB: 16, clock: 'deterministic' });
  });

  it('identifies as an xAPIC (version 0x14, six LVTs) in virtual-wire mode after reset', () => {
    expect(rd(0x20)).toBe(0);
    expect(rd(0x30)).toBe(0x50014);
    expect(rd(0xf0)).toBe(0x1ff);
    expect(rd(0x350)).toBe(0x700); // LINT0 ExtINT
    expect(rd(0x360)).toBe(0x400); // LINT1 NMI
    expect(rd(0x320)).toBe(0x10000);
    expect(rd(0xe0)).toBe(0xffffffff);
  });

  it('passes 8259 interrupts through LINT0 ExtINT, and not when LINT0 is masked', () => {
    const m = pc.machine;
    m.bus.out8(0x21, 0xfa); // unmask IRQ0 (timer running from reset) and the cascade
    advanceTo(pc, 60e6);
    expect(pending()).toBe(1);
    wr(0x350, 0x10700);
    expect(pending()).toBe(0);
    wr(0x350, 0x700);
    expect(pending()).toBe(1);
    expect(m.cpu.intc!.acknowledge()).toBe(0x08);
  });

  it('delivers a self IPI by priority, tracks PPR from TPR and ISR, and retires with EOI', () => {
    const intc = pc.machine.cpu.intc!;
    wr(0x350, 0x10700); // keep the PIC out of the way
    wr(0x300, 0x40000 | 0x51); // fixed, self, vector 0x51
    expect(rd(0x220)).toBe(1 << 17); // IRR bit 0x51 (word 2)
    expect(pending()).toBe(1);
    wr(0x80, 0x60); // TPR above the vector's class
    expect(pending()).toBe(0);
    expect(rd(0xa0)).toBe(0x60);
    wr(0x80, 0x00);
    expect(intc.acknowledge()).toBe(0x51);
    expect(rd(0x120)).toBe(1 << 17); // ISR
    expect(rd(0xa0)).toBe(0x50); // PPR from the in-service class
    wr(0x300, 0x40000 | 0x42);
    expect(pending()).toBe(0); // lower class than in service
    wr(0x300, 0x40000 | 0x91);
    expect(intc.acknowledge()).toBe(0x91); // nests above
    wr(0xb0, 0);
    wr(0xb0, 0);
    expect(intc.acknowledge()).toBe(0x42);
    wr(0xb0, 0);
    expect(rd(0xa0)).toBe(0);
    expect(pending()).toBe(0);
  });

  it('reports illegal vectors and registers in ESR (write to latch) and raises the error LVT', () => {
    wr(0x370, 0xfe);
    wr(0x350, 0x10700);
    wr(0x300, 0x40000 | 0x05); // illegal vector sent to self
    expect(rd(0x280)).toBe(0);
    wr(0x280, 0);
    expect(rd(0x280)).toBe(0x20);
    expect(pc.machine.cpu.intc!.acknowledge()).toBe(0xfe);
    wr(0x280, 0);
    expect(rd(0x280)).toBe(0);
  });

  it('software disable masks the LVTs; a global disable in IA32_APIC_BASE hands INTR to the 8259', () => {
    wr(0xf0, 0xff);
    expect(rd(0x350) & 0x10000).toBe(0x10000);
    pc.machine.bus.out8(0x21, 0xfa);
    advanceTo(pc, 60e6);
    expect(pending()).toBe(0);
    const st = pc.machine.cpu.st;
    st[S.APIC_BASE_LO] &= ~0x800;
    pc.lapic.refreshBase();
    expect(pending()).toBe(1);
    expect(bus().mmioRead(LAPIC + 0x30, 4) >>> 0).toBe(0xffffffff); // window gone
    st[S.APIC_BASE_LO] = (0xfed00000 | 0x900) | 0;
    pc.lapic.refreshBase();
    expect(bus().mmioRead(0xfed00030, 4)).toBe(0x50014); // relocated, power-on state
    expect(bus().mmioRead(0xfed000f0, 4)).toBe(0xff);
  });

  it('runs the timer one-shot and periodic from the 1 GHz bus clock through the divider', () => {
    wr(0x350, 0x10700);
    wr(0x3e0, 0x3); // divide by 16
    wr(0x320, 0x30); // one-shot, vector 0x30
    const t0 = now();
    wr(0x380, 1000); // 16 µs
    advanceTo(pc, t0 + 8000);
    expect(rd(0x390)).toBe(500);
    expect(pending()).toBe(0);
    advanceTo(pc, t0 + 16000);
    expect(pending()).toBe(1);
    expect(rd(0x390)).toBe(0);
    expect(pc.machine.cpu.intc!.acknowledge()).toBe(0x30);
    wr(0xb0, 0);
    wr(0x3e0, 0xb); // divide by 1
    wr(0x320, 0x20031); // periodic, vector 0x31
    const t1 = now();
    wr(0x380, 100_000);
    let n = 0;
    for (let i = 1; i <= 50; i++) {
      advanceTo(pc, t1 + i * 100_000 + 1);
      if (pending()) { pc.machine.cpu.intc!.acknowledge(); wr(0xb0, 0); n++; }
    }
    expect(n).toBe(50);
    expect(pc.lapic.counters.timerInterrupts).toBe(51);
  });

  it('TSC-deadline mode fires at the deadline and ignores the initial count', () => {
    wr(0x350, 0x10700);
    wr(0x320, 0x40040);
    wr(0x380, 5);
    expect(rd(0x380)).toBe(0);
    pc.lapic.setTscDeadline(now() + 5000);
    advanceTo(pc, now() + 4000);
    expect(pending()).toBe(0);
    advanceTo(pc, now() + 2000);
    expect(pc.machine.cpu.intc!.acknowledge()).toBe(0x40);
  });

  it('IOAPIC: 24 pins, edge delivery to the local APIC, masked edges are lost', () => {
    wr(0x350, 0x10700);
    expect(ioRd(1)).toBe(0x170011);
    expect(ioRd(0x10)).toBe(0x10000);
    ioWr(0x10 + 2 * 4, 0x34); // COM1 IRQ4 → vector 0x34, edge, unmasked
    ioWr(0x11 + 2 * 4, 0);
    pc.com1.write(4, 0x08); // OUT2
    pc.com1.write(1, 0x02); // THRE interrupt: IRQ4 rises
    expect(pc.machine.cpu.intc!.acknowledge()).toBe(0x34);
    wr(0xb0, 0);
    ioWr(0x10 + 2 * 4, 0x10034); // masked
    pc.com1.write(1, 0x00);
    pc.com1.write(1, 0x02);
    ioWr(0x10 + 2 * 4, 0x34);
    expect(pending()).toBe(0);
  });

  it('IOAPIC: ISA IRQ0 arrives on pin 2; level pins hold remote IRR until the EOI broadcast', () => {
    wr(0x350, 0x10700);
    ioWr(0x10 + 2 * 2, 0x20);
    advanceTo(pc, 60e6);
    expect(pc.machine.cpu.intc!.acknowledge()).toBe(0x20);
    wr(0xb0, 0);
    ioWr(0x10 + 2 * 9, 0x8000 | 0x29); // SCI pin 9: level
    pc.pm.pressPowerButton(); // PWRBTN_STS, not yet enabled
    expect(pending()).toBe(0);
    pc.machine.bus.out16(0x602, 0x100); // PWRBTN_EN → SCI asserted
    expect(pc.machine.cpu.intc!.acknowledge()).toBe(0x29);
    expect(ioRd(0x10 + 2 * 9) & 0x4000).toBe(0x4000); // remote IRR
    expect(rd(0x190) & (1 << 9)).toBe(1 << 9); // TMR bit 0x29 (word 1)
    wr(0xb0, 0); // EOI while still asserted: delivered again
    expect(pc.machine.cpu.intc!.acknowledge()).toBe(0x29);
    pc.machine.bus.out16(0x600, 0x100); // clear PWRBTN_STS: SCI drops
    wr(0xb0, 0);
    expect(ioRd(0x10 + 2 * 9) & 0x4000).toBe(0);
    expect(pending()).toBe(0);
  });

  it('matches logical destinations in flat and cluster models, and takes MSI messages', () => {
    wr(0x350, 0x10700);
    wr(0xd0, 0x01000000);
    expect(pc.lapic.matchesDestination(0x01, true)).toBe(true);
    expect(pc.lapic.matchesDestination(0x02, true)).toBe(false);
    wr(0xe0, 0x0fffffff); // cluster
    wr(0xd0, 0x12000000);
    expect(pc.lapic.matchesDestination(0x12, true)).toBe(true);
    expect(pc.lapic.matchesDestination(0x22, true)).toBe(false);
    expect(pc.lapic.matchesDestination(0xf2, true)).toBe(true);
    pc.lapic.deliverMsi(0xfee00000, 0x4061); // physical dest 0, vector 0x61
    expect(pc.machine.cpu.intc!.acknowledge()).toBe(0x61);
    pc.lapic.deliverMsi(0xfee01000, 0x62); // APIC ID 1: not us
    wr(0xb0, 0);
    expect(pending()).toBe(0);
  });
});
