// 82093AA I/O APIC (memory-mapped at 0xFEC00000: IOREGSEL at +0x00, IOWIN at
// +0x10) with 24 redirection entries. Edge-triggered pins deliver on a rising
// edge (an edge on a masked pin is lost, as the datasheet says); level pins
// deliver while asserted and set remote IRR until the local APIC broadcasts
// the EOI for the vector, then deliver again if still asserted.
//
// Pin inputs are logical levels (true = the device requests service); the
// board's wiring presents them asserted whichever polarity an entry names, so
// the polarity bit is kept for software but not applied, as in QEMU.
import type { Bus, MmioHandler } from './bus.ts';
import type { IrqSink } from './irq.ts';

/** Where the IOAPIC sends interrupt messages (the local APIC). */
export interface ApicMessageSink {
  deliver(dest: number, logical: boolean, mode: number, vector: number, level: boolean): void;
}

export const IOAPIC_DEFAULT_BASE = 0xfec00000;
export const IOAPIC_PINS = 24;
const VERSION = 0x11 | ((IOAPIC_PINS - 1) << 16);
const MASKED = 0x1_0000;
const LEVEL = 0x8000;
const REMOTE_IRR = 0x4000;
const DELIVERY_STATUS = 0x1000;
/** Writable bits of the low dword: vector, delivery mode, destination mode, polarity, trigger, mask. */
const LO_WRITABLE = 0x1_afff;

export class IoApic implements IrqSink, MmioHandler {
  id = 0;
  regsel = 0;
  readonly redirLo = new Uint32Array(IOAPIC_PINS);
  readonly redirHi = new Uint32Array(IOAPIC_PINS);
  /** Current input levels, one bit per pin. */
  lines = 0;
  readonly counters = { delivered: 0 };

  constructor(private readonly apic: ApicMessageSink, private readonly resetId = 0) {
    this.reset();
  }

  attach(bus: Bus, base = IOAPIC_DEFAULT_BASE): void {
    bus.registerMmio(base, 0x1000, 'ioapic', this);
  }

  /** Every entry masked, edge, vector 0; the ID the firmware assigns. */
  reset(): void {
    this.id = this.resetId;
    this.regsel = 0;
    this.redirLo.fill(MASKED);
    this.redirHi.fill(0);
    this.lines = 0;
  }

  setIrq(pin: number, level: boolean): void {
    if (pin < 0 || pin >= IOAPIC_PINS) return;
    const bit = 1 << pin;
    const wasHigh = (this.lines & bit) !== 0;
    if (level) this.lines |= bit;
    else this.lines &= ~bit;
    if (!level) return;
    const lo = this.redirLo[pin];
    if (lo & LEVEL) this.service(pin);
    else if (!wasHigh && !(lo & MASKED)) this.send(pin, lo);
  }

  /** A level-triggered pin that is asserted, unmasked and not awaiting EOI is delivered. */
  private service(pin: number): void {
    const lo = this.redirLo[pin];
    if (!(lo & LEVEL) || (lo & (MASKED | REMOTE_IRR)) || !(this.lines & (1 << pin))) return;
    this.redirLo[pin] = lo | REMOTE_IRR;
    this.send(pin, lo);
  }

  private send(pin: number, lo: number): void {
    this.counters.delivered++;
    this.apic.deliver(this.redirHi[pin] >>> 24, (lo & 0x800) !== 0, (lo >> 8) & 7, lo & 0xff, (lo & LEVEL) !== 0);
  }

  /** EOI broadcast from the local APIC for `vector`. */
  eoi(vector: number): void {
    for (let pin = 0; pin < IOAPIC_PINS; pin++) {
      const lo = this.redirLo[pin];
      if ((lo & REMOTE_IRR) && (lo & 0xff) === vector) {
        this.redirLo[pin] = lo & ~REMOTE_IRR;
        this.service(pin);
      }
    }
  }

  read(offset: number, size: 1 | 2 | 4): number {
    let v: number;
    if (offset === 0x00) v = this.regsel;
    else if (offset >= 0x10 && offset < 0x14) v = this.readRegister(this.regsel);
    else return 0;
    const shift = (offset & 3) * 8;
    return size === 4 ? v : (v >>> shift) & (size === 1 ? 0xff : 0xffff);
  }

  write(offset: number, size: 1 | 2 | 4, value: number): void {
    if (offset === 0x00) this.regsel = value & 0xff;
    else if (offset === 0x10 && size === 4) this.writeRegister(this.regsel, value);
  }

  readRegister(index: number): number {
    switch (index) {
      case 0x00: return this.id << 24;
      case 0x01: return VERSION;
      case 0x02: return this.id << 24; // arbitration ID
      default: {
        const pin = (index - 0x10) >> 1;
        if (index < 0x10 || pin >= IOAPIC_PINS) return 0;
        // No message is ever held waiting on the APIC bus, so delivery status reads idle.
        return index & 1 ? this.redirHi[pin] | 0 : this.redirLo[pin] & ~DELIVERY_STATUS;
      }
    }
  }

  writeRegister(index: number, v: number): void {
    if (index === 0x00) {
      this.id = (v >>> 24) & 0xf;
      return;
    }
    const pin = (index - 0x10) >> 1;
    if (index < 0x10 || pin >= IOAPIC_PINS) return;
    if (index & 1) {
      this.redirHi[pin] = v & 0xff00_0000;
      return;
    }
    let lo = (v & LO_WRITABLE) | (this.redirLo[pin] & REMOTE_IRR);
    // An edge-triggered entry has no remote IRR (Linux clears a stuck one by switching to edge and back).
    if (!(lo & LEVEL)) lo &= ~REMOTE_IRR;
    this.redirLo[pin] = lo;
    this.service(pin);
  }
}
