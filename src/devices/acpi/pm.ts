// ACPI fixed-hardware registers of the PIIX4 power-management function, in
// its 64-byte I/O block (PMBA, 0x600 as firmware places it):
//   +0x00 PM1a_STS  +0x02 PM1a_EN  +0x04 PM1a_CNT  +0x08 PM_TMR
//   +0x0C GPE0_STS  +0x0E GPE0_EN   (other PIIX4 registers read 0)
// The PM timer runs at 3.579545 MHz from the machine clock (24 bits, with
// TMR_STS on each bit-23 change); SLP_EN with SLP_TYP 0 (PIIX4's soft-off,
// what the DSDT's \_S5 names) powers the machine off. The power button and
// the timer raise SCI (IRQ 9) when enabled; ACPI is always on (SCI_EN set,
// the FADT has no SMI command port).
import type { Bus } from '../bus.ts';
import type { IrqSink } from '../irq.ts';
import type { Timer, TimerQueue } from '../../machine/timers.ts';

export const PM_TIMER_HZ = 3_579_545;
export const PM_BLOCK_SIZE = 64;
export const PM1_STS = 0x00, PM1_EN = 0x02, PM1_CNT = 0x04, PM_TMR = 0x08, GPE0_STS = 0x0c, GPE0_EN = 0x0e;
export const GPE0_LEN = 4;
/** SLP_TYP value of S5 (soft off) on PIIX4, as the DSDT's \_S5 package gives it. */
export const SLP_TYP_S5 = 0;

const TMR_STS = 0x0001, GBL_STS = 0x0020, PWRBTN_STS = 0x0100, RTC_STS = 0x0400, WAK_STS = 0x8000;
const STS_WRITE_CLEAR = TMR_STS | 0x0010 | GBL_STS | PWRBTN_STS | 0x0200 | RTC_STS | WAK_STS;
const EN_BITS = TMR_STS | GBL_STS | PWRBTN_STS | RTC_STS;
const SCI_EN = 0x0001, SLP_EN = 0x2000;
const TICKS_PER_NS = PM_TIMER_HZ / 1e9;

export class AcpiPm {
  pm1Status = 0;
  pm1Enable = 0;
  pm1Control = SCI_EN;
  gpeStatus = 0;
  gpeEnable = 0;
  /** Bit-23 half-periods of the PM timer already reflected in TMR_STS. */
  private timerHalves = 0;
  private sciLevel = false;
  private mappedAt = -1;
  private readonly timer: Timer;
  readonly counters = { sleeps: 0 };

  constructor(
    private readonly timers: TimerQueue, private readonly irqs: IrqSink,
    private readonly onPowerOff: () => void, private readonly sciIrq = 9,
  ) {
    this.timer = timers.create('acpi-pm-timer', () => this.update());
  }

  private ticks(): number {
    return Math.floor(this.timers.clock.nowNs() * TICKS_PER_NS);
  }

  /** Maps the block at `base` (or unmaps it with -1), as the PCI function's PMBA/PMIOSE decide. */
  map(bus: Bus, base: number): void {
    if (base === this.mappedAt) return;
    if (this.mappedAt >= 0) bus.unregisterPorts(this.mappedAt, PM_BLOCK_SIZE);
    this.mappedAt = -1;
    if (base < 0) return;
    bus.registerPorts(base, PM_BLOCK_SIZE, 'acpi-pm', {
      read8: (p) => this.read(p - base, 1),
      read16: (p) => this.read(p - base, 2),
      read32: (p) => this.read(p - base, 4),
      write8: (p, v) => this.write(p - base, 1, v),
      write16: (p, v) => this.write(p - base, 2, v),
      write32: (p, v) => this.write(p - base, 4, v),
    });
    this.mappedAt = base;
  }

  reset(): void {
    this.pm1Status = 0;
    this.pm1Enable = 0;
    this.pm1Control = SCI_EN;
    this.gpeStatus = 0;
    this.gpeEnable = 0;
    this.timerHalves = Math.floor(this.ticks() / 0x80_0000);
    this.update();
  }

  /** PM timer value (24 bits). */
  timerValue(): number {
    return this.ticks() & 0xff_ffff;
  }

  /** The host pressed the power button (the guest's ACPI button driver decides what to do). */
  pressPowerButton(): void {
    this.pm1Status |= PWRBTN_STS;
    this.update();
  }

  /** Sets GPE status bits (hotplug and similar events in later devices). */
  raiseGpe(bits: number): void {
    this.gpeStatus |= bits & 0xffff;
    this.update();
  }

  private read16(reg: number): number {
    switch (reg) {
      case PM1_STS: this.update(); return this.pm1Status;
      case PM1_EN: return this.pm1Enable;
      case PM1_CNT: return this.pm1Control & ~SLP_EN;
      case GPE0_STS: return this.gpeStatus;
      case GPE0_EN: return this.gpeEnable;
      default: return 0;
    }
  }

  read(off: number, size: number): number {
    if (off >= PM_TMR && off < PM_TMR + 4) {
      return size === 4 && off === PM_TMR ? this.timerValue() : (this.timerValue() >>> ((off - PM_TMR) * 8)) & ((1 << (size * 8)) - 1);
    }
    let v = 0;
    for (let k = 0; k < size; k++) {
      const o = off + k;
      v |= ((this.read16(o & ~1) >> ((o & 1) * 8)) & 0xff) << (8 * k);
    }
    return v >>> 0;
  }

  write(off: number, size: number, value: number): void {
    // Registers are 16 bits wide; narrower or wider accesses touch their bytes.
    for (let k = 0; k < size;) {
      const o = off + k;
      if ((o & 1) === 0 && k + 2 <= size) {
        this.write16(o, (value >>> (8 * k)) & 0xffff, 0xffff);
        k += 2;
      } else {
        const shift = (o & 1) * 8;
        this.write16(o & ~1, ((value >>> (8 * k)) & 0xff) << shift, 0xff << shift);
        k += 1;
      }
    }
  }

  /** A write of `v` to the bits of register `reg` selected by `mask`. */
  private write16(reg: number, v: number, mask: number): void {
    switch (reg) {
      case PM1_STS:
        this.update();
        this.pm1Status &= ~(v & mask & STS_WRITE_CLEAR);
        break;
      case PM1_EN:
        this.pm1Enable = (this.pm1Enable & ~mask) | (v & mask & EN_BITS);
        break;
      case PM1_CNT: {
        const cnt = (this.pm1Control & ~mask) | (v & mask);
        this.pm1Control = cnt & ~SLP_EN;
        if (cnt & SLP_EN) this.sleep((cnt >> 10) & 7);
        break;
      }
      case GPE0_STS:
        this.gpeStatus &= ~(v & mask);
        break;
      case GPE0_EN:
        this.gpeEnable = (this.gpeEnable & ~mask) | (v & mask);
        break;
      default:
        return;
    }
    this.update();
  }

  private sleep(type: number): void {
    this.counters.sleeps++;
    if (type === SLP_TYP_S5) {
      this.onPowerOff();
      return;
    }
    // Other sleep states are not implemented: the machine wakes at once, as if a wake event came.
    this.pm1Status |= WAK_STS;
  }

  /** Folds timer overflows into TMR_STS, drives SCI, and arms the timer for the next overflow if enabled. */
  private update(): void {
    const halves = Math.floor(this.ticks() / 0x80_0000);
    if (halves !== this.timerHalves) {
      this.timerHalves = halves;
      this.pm1Status |= TMR_STS;
    }
    const sci = (this.pm1Control & SCI_EN) !== 0 &&
      ((this.pm1Status & this.pm1Enable & EN_BITS) !== 0 || (this.gpeStatus & this.gpeEnable) !== 0);
    if (sci !== this.sciLevel) {
      this.sciLevel = sci;
      this.irqs.setIrq(this.sciIrq, sci);
    }
    if ((this.pm1Enable & TMR_STS) && !(this.pm1Status & TMR_STS)) {
      this.timer.deadline = Math.ceil(((halves + 1) * 0x80_0000) / TICKS_PER_NS);
    } else {
      this.timer.deadline = Infinity;
    }
  }
}
