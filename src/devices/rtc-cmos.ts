// Motorola MC146818 real-time clock and its 128 bytes of CMOS RAM (index
// port 0x70 with the NMI mask in bit 7, data port 0x71).
//
// Time is kept as "guest epoch seconds at a clock instant": the date given at
// power-on (the host's date in wall-clock mode, a fixed date in deterministic
// mode) advanced by the machine clock; nothing here reads the host time.
// Registers present it in BCD or binary and 12- or 24-hour form per register
// B; register A's UIP bit is high for the last 244 µs before each update; the
// SET bit and a divider reset stop the clock. Update-ended, alarm and periodic
// flags in register C are computed from the clock when looked at, and a
// machine timer is armed only while an enabled flag can raise IRQ8; reading
// register C clears the flags and the IRQ. Register D reports valid RAM/time.
// CMOS RAM survives machine resets (it is battery-backed), time included.
import type { Bus } from './bus.ts';
import type { IrqSink } from './irq.ts';
import type { Timer, TimerQueue } from '../machine/timers.ts';

export const REG_A = 0x0a, REG_B = 0x0b, REG_C = 0x0c, REG_D = 0x0d;
const A_UIP = 0x80;
const B_SET = 0x80, B_PIE = 0x40, B_AIE = 0x20, B_UIE = 0x10, B_DM_BINARY = 0x04, B_24H = 0x02;
const C_IRQF = 0x80, C_PF = 0x40, C_AF = 0x20, C_UF = 0x10;
const D_VRT = 0x80;
/** CMOS location of the century byte (QEMU/SeaBIOS and the FADT's CENTURY field). */
export const CMOS_CENTURY = 0x32;

const SEC_NS = 1e9;
/** UIP is high for this long before each update (the MC146818's tBUC). */
const UIP_NS = 244_000;

// ---------------------------------------------------------------- calendar (proleptic Gregorian, UTC)

/** Days since 1970-01-01 of a civil date (H. Hinnant's algorithm). */
export function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** Civil date of a day count since 1970-01-01, into `out` as [year, month, day]. */
export function civilFromDays(z: number, out: number[]): void {
  z += 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp + (mp < 10 ? 3 : -9);
  out[0] = yoe + era * 400 + (m <= 2 ? 1 : 0);
  out[1] = m;
  out[2] = d;
}

/** Alarm bytes 0xC0–0xFF match every value. */
function dontCare(v: number): boolean {
  return (v & 0xc0) === 0xc0;
}

export class RtcCmos {
  readonly cmos = new Uint8Array(128);
  index = 0;
  /** Port 0x70 bit 7: NMIs are masked. */
  nmiMasked = true;
  /** While running: guest epoch seconds at `baseNs`, where `baseNs` is a second boundary of the divider chain. */
  private baseSec = 0;
  private baseNs = 0;
  /** Last second and periodic-interrupt period whose flags are already in register C. */
  private flaggedSec = 0;
  private flaggedPeriod = 0;
  /** Second whose time is in CMOS bytes 0–9 (they are refreshed when a later second is read). */
  private shownSec = -1;
  private irqLevel = false;
  private readonly timer: Timer;
  private readonly ymd = [0, 0, 0];

  /**
   * @param startMs guest wall time at power-on, in ms since 1970-01-01 UTC.
   */
  constructor(private readonly timers: TimerQueue, private readonly irqs: IrqSink, startMs: number, private readonly irq = 8) {
    this.timer = timers.create('rtc', (now) => this.onTimer(now));
    this.cmos[REG_A] = 0x26; // 32.768 kHz time base, 1024 Hz periodic rate
    this.cmos[REG_B] = B_24H;
    this.cmos[REG_D] = D_VRT;
    const now = this.now();
    this.baseSec = Math.floor(startMs / 1000);
    this.baseNs = now - (startMs % 1000) * 1e6;
    this.flaggedSec = this.secondsAt(now);
    this.flaggedPeriod = this.periodAt(now);
  }

  private now(): number {
    return this.timers.clock.nowNs();
  }

  attach(bus: Bus): void {
    bus.registerPorts(0x70, 2, 'rtc', {
      // The index port is write-only; a read sees the floating bus.
      read8: (port) => (port === 0x70 ? 0xff : this.readData()),
      write8: (port, v) => {
        if (port === 0x70) {
          this.index = v & 0x7f;
          this.nmiMasked = (v & 0x80) !== 0;
        } else {
          this.writeData(v);
        }
      },
    });
  }

  /**
   * Machine reset (the chip's RESET pin): interrupt enables and flags clear;
   * time, alarm and RAM are kept.
   */
  reset(): void {
    const now = this.now();
    this.sync(now);
    this.cmos[REG_B] &= ~(B_PIE | B_AIE | B_UIE | 0x08);
    this.cmos[REG_C] = 0;
    this.updateIrq(now);
  }

  // ---------------------------------------------------------------- CMOS contents set by firmware

  /**
   * Writes what a PC BIOS (SeaBIOS on QEMU) leaves in CMOS: memory sizes,
   * equipment byte, CPU count, century; then the standard checksum.
   */
  initFirmwareBytes(ramBytes: number): void {
    const c = this.cmos;
    const set16 = (at: number, v: number): void => {
      c[at] = v & 0xff;
      c[at + 1] = (v >> 8) & 0xff;
    };
    set16(0x15, Math.min(640, ramBytes >> 10)); // base memory in KiB
    const ext = Math.min(0xffff, Math.max(0, (ramBytes - 0x100000) >> 10)); // KiB above 1 MiB
    set16(0x17, ext);
    set16(0x30, ext);
    set16(0x34, Math.min(0xffff, Math.max(0, Math.floor((ramBytes - 0x1000000) / 0x10000)))); // 64 KiB units above 16 MiB
    c[0x5b] = c[0x5c] = c[0x5d] = 0; // memory above 4 GiB
    c[0x5f] = 0; // CPUs minus one
    c[0x10] = 0; // no floppy drives
    c[0x12] = 0; // no ATA disks described here
    c[0x14] = 0x06; // equipment: FPU present, PS/2 mouse
    this.refreshTime(this.now(), true);
    this.updateChecksum();
  }

  /** The standard AT checksum: the sum of bytes 0x10–0x2D, big-endian at 0x2E/0x2F. */
  updateChecksum(): void {
    let sum = 0;
    for (let i = 0x10; i <= 0x2d; i++) sum += this.cmos[i];
    this.cmos[0x2e] = (sum >> 8) & 0xff;
    this.cmos[0x2f] = sum & 0xff;
  }

  // ---------------------------------------------------------------- time

  private get running(): boolean {
    // DV2–0 of 000, 001 and 010 let the divider run; 11x holds it in reset. SET stops updates.
    return !(this.cmos[REG_B] & B_SET) && (this.cmos[REG_A] & 0x70) <= 0x20;
  }

  private get dividerRunning(): boolean {
    return (this.cmos[REG_A] & 0x70) <= 0x20;
  }

  /** Guest epoch seconds at `now`. While stopped, the time last set or shown. */
  secondsAt(now: number): number {
    return this.baseSec + Math.floor((now - this.baseNs) / SEC_NS);
  }

  private periodNs(): number {
    let rs = this.cmos[REG_A] & 0x0f;
    if (rs === 0) return 0;
    if (rs <= 2) rs += 7; // rates 1 and 2 repeat rates 8 and 9
    return (SEC_NS * (1 << (rs - 1))) / 32768;
  }

  private periodAt(now: number): number {
    const p = this.periodNs();
    return p === 0 ? 0 : Math.floor((now - this.baseNs) / p);
  }

  private toReg(v: number): number {
    return this.cmos[REG_B] & B_DM_BINARY ? v : ((Math.floor(v / 10) % 10) << 4) | (v % 10);
  }

  private fromReg(v: number): number {
    return this.cmos[REG_B] & B_DM_BINARY ? v : (v >> 4) * 10 + (v & 0xf);
  }

  private hourToReg(h: number): number {
    if (this.cmos[REG_B] & B_24H) return this.toReg(h);
    const pm = h >= 12 ? 0x80 : 0;
    const h12 = h % 12 === 0 ? 12 : h % 12;
    return this.toReg(h12) | pm;
  }

  private hourFromReg(v: number): number {
    if (this.cmos[REG_B] & B_24H) return this.fromReg(v & 0x7f);
    const h12 = this.fromReg(v & 0x7f) % 12;
    return v & 0x80 ? h12 + 12 : h12;
  }

  /** Puts the time at `now` into CMOS bytes 0–9 and the century byte (only when the second changed). */
  private refreshTime(now: number, force = false): void {
    const t = this.secondsAt(now);
    if (t === this.shownSec && !force) return;
    this.showTime(t);
  }

  /** Writes guest epoch second `t` into the time bytes in the current data format. */
  private showTime(t: number): void {
    this.shownSec = t;
    const c = this.cmos;
    const days = Math.floor(t / 86400);
    const sod = t - days * 86400;
    civilFromDays(days, this.ymd);
    c[0x00] = this.toReg(sod % 60);
    c[0x02] = this.toReg(Math.floor(sod / 60) % 60);
    c[0x04] = this.hourToReg(Math.floor(sod / 3600));
    c[0x06] = this.toReg((((days + 4) % 7) + 7) % 7 + 1); // 1970-01-01 was a Thursday; Sunday = 1
    c[0x07] = this.toReg(this.ymd[2]);
    c[0x08] = this.toReg(this.ymd[1]);
    c[0x09] = this.toReg(this.ymd[0] % 100);
    c[CMOS_CENTURY] = this.toReg(Math.floor(this.ymd[0] / 100));
  }

  /** Reads the time out of CMOS bytes 0–9 and the century byte (after the guest set it). */
  private timeFromRegs(): number {
    const c = this.cmos;
    const year = this.fromReg(c[CMOS_CENTURY]) * 100 + this.fromReg(c[0x09]);
    const days = daysFromCivil(year, this.fromReg(c[0x08]), this.fromReg(c[0x07]));
    return days * 86400 + this.hourFromReg(c[0x04]) * 3600 + this.fromReg(c[0x02]) * 60 + this.fromReg(c[0x00]);
  }

  // ---------------------------------------------------------------- register access

  readData(): number {
    const i = this.index;
    const now = this.now();
    switch (i) {
      case REG_A: {
        const phase = (now - this.baseNs) % SEC_NS;
        const uip = this.running && phase >= SEC_NS - UIP_NS ? A_UIP : 0;
        return (this.cmos[REG_A] & ~A_UIP) | uip;
      }
      case REG_C: {
        this.sync(now);
        const v = this.cmos[REG_C];
        this.cmos[REG_C] = 0;
        this.updateIrq(now);
        return v;
      }
      case REG_D:
        return D_VRT;
      default:
        if ((i <= 9 || i === CMOS_CENTURY) && this.running) this.refreshTime(now);
        return this.cmos[i];
    }
  }

  writeData(v: number): void {
    const i = this.index;
    const now = this.now();
    switch (i) {
      case REG_A: {
        this.sync(now);
        const wasRunning = this.running;
        const wasDividing = this.dividerRunning;
        if (wasRunning) this.refreshTime(now, true); // the bytes hold the time while stopped
        this.cmos[REG_A] = v & ~A_UIP;
        // Leaving divider reset: the first update comes half a second later.
        if (!wasDividing && this.running) this.startFromRegs(now, SEC_NS / 2);
        this.flaggedPeriod = this.periodAt(now);
        break;
      }
      case REG_B: {
        this.sync(now);
        const wasRunning = this.running;
        if (wasRunning && (v & B_SET)) this.refreshTime(now, true);
        // A new data format: re-present the stored time in it.
        const formatChanged = ((this.cmos[REG_B] ^ v) & (B_DM_BINARY | B_24H)) !== 0;
        const time = formatChanged ? (wasRunning ? this.secondsAt(now) : this.timeFromRegs()) : 0;
        this.cmos[REG_B] = v & B_SET ? v & ~B_UIE : v; // setting SET clears UIE
        if (formatChanged) this.showTime(time);
        // Clearing SET: the clock starts from the bytes, the next update one second later.
        if (!wasRunning && this.running) this.startFromRegs(now, 0);
        break;
      }
      case REG_C:
      case REG_D:
        return; // read-only
      default: {
        const timeByte = (i <= 9 && i !== 1 && i !== 3 && i !== 5) || i === CMOS_CENTURY;
        if (timeByte && this.running) {
          // Setting one field of a running clock: the others keep the current time, and so
          // does the divider phase.
          this.refreshTime(now);
          this.cmos[i] = v;
          this.baseSec = this.timeFromRegs() - Math.floor((now - this.baseNs) / SEC_NS);
          this.shownSec = this.secondsAt(now);
          this.flaggedSec = this.shownSec;
        } else {
          this.cmos[i] = v;
        }
        break;
      }
    }
    this.updateIrq(now);
  }

  /** Starts the clock from the time in CMOS bytes 0–9, `phaseNs` into the current second. */
  private startFromRegs(now: number, phaseNs: number): void {
    this.baseNs = now - phaseNs;
    this.baseSec = this.timeFromRegs();
    this.shownSec = -1;
    this.flaggedSec = this.baseSec;
    this.flaggedPeriod = this.periodAt(now);
  }

  // ---------------------------------------------------------------- interrupts

  private alarmMatches(t: number): boolean {
    const c = this.cmos;
    const sod = ((t % 86400) + 86400) % 86400;
    if (!dontCare(c[0x01]) && this.fromReg(c[0x01]) !== sod % 60) return false;
    if (!dontCare(c[0x03]) && this.fromReg(c[0x03]) !== Math.floor(sod / 60) % 60) return false;
    if (!dontCare(c[0x05]) && this.hourFromReg(c[0x05]) !== Math.floor(sod / 3600)) return false;
    return true;
  }

  /** Sets the register C flags for everything that happened up to `now`. */
  private sync(now: number): void {
    if (this.running) {
      const t = this.secondsAt(now);
      if (t > this.flaggedSec) {
        this.cmos[REG_C] |= C_UF;
        // An alarm second passed? (At most a day needs checking: the alarm repeats daily.)
        const last = Math.min(t, this.flaggedSec + 86400);
        for (let s = this.flaggedSec + 1; s <= last; s++) {
          if (this.alarmMatches(s)) {
            this.cmos[REG_C] |= C_AF;
            break;
          }
        }
        this.flaggedSec = t;
      }
    }
    if (this.dividerRunning && this.periodNs() !== 0) {
      const k = this.periodAt(now);
      if (k > this.flaggedPeriod) {
        this.cmos[REG_C] |= C_PF;
        this.flaggedPeriod = k;
      }
    }
  }

  private updateIrq(now: number): void {
    const c = this.cmos;
    if (c[REG_C] & c[REG_B] & (C_PF | C_AF | C_UF)) c[REG_C] |= C_IRQF;
    const level = (c[REG_C] & C_IRQF) !== 0;
    if (level !== this.irqLevel) {
      this.irqLevel = level;
      this.irqs.setIrq(this.irq, level);
    }
    this.armTimer(now);
  }

  /** Arms the timer for the next event that would raise IRQ8, if any can. */
  private armTimer(now: number): void {
    const b = this.cmos[REG_B];
    let at = Infinity;
    if (!(this.cmos[REG_C] & C_IRQF)) {
      if ((b & B_PIE) && this.dividerRunning) {
        const p = this.periodNs();
        if (p) at = this.baseNs + (this.periodAt(now) + 1) * p;
      }
      if (this.running && (b & (B_UIE | B_AIE))) {
        const t = this.secondsAt(now);
        if (b & B_UIE) at = Math.min(at, this.baseNs + (t + 1 - this.baseSec) * SEC_NS);
        if (b & B_AIE) {
          for (let s = t + 1; s <= t + 86400; s++) {
            if (this.alarmMatches(s)) {
              at = Math.min(at, this.baseNs + (s - this.baseSec) * SEC_NS);
              break;
            }
          }
        }
      }
    }
    this.timer.deadline = at === Infinity ? Infinity : Math.max(Math.ceil(at), now + 1);
  }

  private onTimer(now: number): void {
    this.sync(now);
    this.updateIrq(now);
  }
}
