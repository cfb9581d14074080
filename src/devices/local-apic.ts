// The processor's local APIC (xAPIC, memory-mapped at IA32_APIC_BASE,
// 0xFEE00000 by default), as a P6/Pentium 4 class part: version 0x14 with
// six LVT entries (timer, thermal, performance counters, LINT0, LINT1, error).
//
// It is the CPU's interrupt controller (`cpu.intc`): it merges its own fixed
// interrupts (IRR/ISR/TMR with TPR/PPR priority) with the 8259's INTR, which
// reaches the CPU through LINT0 in ExtINT mode ("virtual wire"), or directly
// when the APIC is globally disabled in IA32_APIC_BASE. It keeps
// `cpu.st[S.IRQ_PENDING]` equal to "an interrupt would be delivered now".
//
// Messages from the IOAPIC and PCI MSI arrive through `deliver()`/`deliverMsi()`;
// EOI of a level-triggered vector is broadcast back (`onEoi`) so the IOAPIC can
// clear remote IRR. The timer counts at the 1 GHz bus clock through the divide
// configuration, derived from the machine clock and armed only for its next
// expiry; one-shot, periodic and TSC-deadline modes are supported. ICR IPIs to
// self work; INIT and STARTUP are accepted and ignored (uniprocessor), as are
// IPIs to absent APICs. NMIs (LINT1, ICR) are counted and reported through
// `onNmi`, since the CPU core has no NMI input yet.
import type { Bus, MmioHandler } from './bus.ts';
import type { Cpu, InterruptController } from '../x86/cpu.ts';
import type { Timer, TimerQueue } from '../machine/timers.ts';
import { S } from '../x86/state.ts';

/** What the APIC needs of the 8259 pair: its INT output and the INTA cycle. */
export interface ExtIntSource {
  readonly output: boolean;
  acknowledge(): number;
}

export const enum DeliveryMode { FIXED = 0, LOWEST = 1, SMI = 2, NMI = 4, INIT = 5, STARTUP = 6, EXTINT = 7 }

export const APIC_DEFAULT_BASE = 0xfee00000;
const APIC_BASE_ENABLE = 0x800;
const APIC_VERSION = 0x0005_0014; // version 0x14, max LVT index 5
/** Bus clock period: the timer counts at 1 GHz before the divider (as QEMU's APIC does). */
const BUS_NS = 1;

const enum Lvt { TIMER = 0, THERMAL = 1, PERF = 2, LINT0 = 3, LINT1 = 4, ERROR = 5 }
const LVT_MASKED = 0x1_0000;
const LVT_LEVEL = 0x8000;
const LVT_REMOTE_IRR = 0x4000;
/** Writable bits of each LVT entry (delivery status and remote IRR are read-only). */
const LVT_WRITABLE = [0x7_00ff, 0x1_07ff, 0x1_07ff, 0x1_a7ff, 0x1_a7ff, 0x1_00ff];
const TIMER_ONESHOT = 0, TIMER_PERIODIC = 1, TIMER_TSC_DEADLINE = 2;
const SVR_ENABLE = 0x100;

/** ESR bits. */
const ESR_SEND_ILLEGAL_VECTOR = 0x20, ESR_RECEIVE_ILLEGAL_VECTOR = 0x40, ESR_ILLEGAL_REGISTER = 0x80;

/** Highest set bit index in a 256-bit vector of eight words, or -1. */
function highestBit(v: Uint32Array): number {
  for (let w = 7; w >= 0; w--) {
    if (v[w] !== 0) return (w << 5) | (31 - Math.clz32(v[w]));
  }
  return -1;
}

function testBit(v: Uint32Array, n: number): boolean {
  return (v[n >>> 5] & (1 << (n & 31))) !== 0;
}

function setBit(v: Uint32Array, n: number, on: boolean): void {
  if (on) v[n >>> 5] |= 1 << (n & 31);
  else v[n >>> 5] &= ~(1 << (n & 31));
}

export class LocalApic implements InterruptController, MmioHandler {
  id = 0;
  tpr = 0;
  ldr = 0;
  dfr = -1;
  svr = 0xff;
  readonly irr = new Uint32Array(8);
  readonly isr = new Uint32Array(8);
  readonly tmr = new Uint32Array(8);
  /** ESR as last latched by a write, and errors collected since. */
  esr = 0;
  esrPending = 0;
  icrLo = 0;
  icrHi = 0;
  readonly lvt = new Uint32Array(6);
  initialCount = 0;
  divideConfig = 0;
  /** Clock ns when the current count was last loaded with initialCount (× divisor), and the divisor then. */
  timerStartNs = 0;
  timerDivisor = 2;
  /** TSC-deadline mode: the deadline in clock ns, or 0 when disarmed. */
  tscDeadlineNs = 0;
  /** An ExtINT message (IOAPIC or LVT) is waiting for its INTA cycle on the 8259. */
  extIntPending = false;
  /** LINT0 input level as last seen (edge detection for fixed and NMI modes). */
  private lint0Level = false;
  /** Where the MMIO window is registered now, or -1. */
  private mappedBase = -1;
  /** IA32_APIC_BASE as last acted on (see update()). */
  private seenBase = 0;
  private readonly timer: Timer;
  readonly counters = { nmis: 0, spurious: 0, ipis: 0, timerInterrupts: 0 };

  /** EOI of a level-triggered vector (the IOAPIC clears remote IRR for it). */
  onEoi: (vector: number) => void = () => {};
  /** An NMI was accepted (the CPU core has no NMI pin yet; the board may log it). */
  onNmi: () => void = () => {};

  constructor(private readonly cpu: Cpu, private readonly bus: Bus, private readonly timers: TimerQueue, private readonly pic: ExtIntSource) {
    this.timer = timers.create('lapic-timer', (now) => this.onTimer(now));
  }

  private now(): number {
    return this.timers.clock.nowNs();
  }

  // ---------------------------------------------------------------- reset and IA32_APIC_BASE

  /**
   * Machine reset: the power-on register state, then the virtual-wire set-up a
   * PC BIOS does (software enabled, LINT0 ExtINT for the 8259, LINT1 NMI), so
   * 8259 interrupts reach the CPU for guests that never touch the APIC.
   */
  reset(): void {
    this.powerOnState();
    this.svr = SVR_ENABLE | 0xff;
    this.lvt[Lvt.LINT0] = DeliveryMode.EXTINT << 8;
    this.lvt[Lvt.LINT1] = DeliveryMode.NMI << 8;
    this.refreshBase();
    this.update();
  }

  private powerOnState(): void {
    this.id = 0;
    this.tpr = 0;
    this.ldr = 0;
    this.dfr = -1;
    this.svr = 0xff;
    this.irr.fill(0);
    this.isr.fill(0);
    this.tmr.fill(0);
    this.esr = this.esrPending = 0;
    this.icrLo = this.icrHi = 0;
    this.lvt.fill(LVT_MASKED);
    this.initialCount = 0;
    this.divideConfig = 0;
    this.timerDivisor = 2;
    this.tscDeadlineNs = 0;
    this.extIntPending = false;
    this.timer.deadline = Infinity;
  }

  /** Whether IA32_APIC_BASE enables the APIC. */
  get hardwareEnabled(): boolean {
    return (this.cpu.st[S.APIC_BASE_LO] & APIC_BASE_ENABLE) !== 0;
  }

  get softwareEnabled(): boolean {
    return (this.svr & SVR_ENABLE) !== 0;
  }

  /**
   * Call after IA32_APIC_BASE changes (WRMSR 0x1B): moves the MMIO window, and
   * a global disable returns the APIC to its power-on state, as the SDM says.
   */
  refreshBase(): void {
    const lo = this.cpu.st[S.APIC_BASE_LO];
    this.seenBase = lo;
    const base = this.hardwareEnabled ? (lo & ~0xfff) >>> 0 : -1;
    if (base === this.mappedBase) return;
    if (this.mappedBase >= 0) this.bus.unregisterMmio(this.mappedBase);
    this.mappedBase = base;
    if (base >= 0) this.bus.registerMmio(base, 0x1000, 'local-apic', this);
    else this.powerOnState();
    this.update();
  }

  // ---------------------------------------------------------------- priority and the INTR line

  /** Processor priority: the higher of TPR and the in-service class. */
  get ppr(): number {
    const isrv = highestBit(this.isr);
    const isrClass = isrv < 0 ? 0 : isrv & 0xf0;
    return (this.tpr & 0xf0) >= isrClass ? this.tpr & 0xff : isrClass;
  }

  /** The fixed vector that would be delivered now, or -1. */
  private deliverable(): number {
    if (!this.softwareEnabled) return -1;
    const v = highestBit(this.irr);
    if (v < 0 || (v & 0xf0) <= (this.ppr & 0xf0)) return -1;
    return v;
  }

  /** Whether the 8259's INT output reaches the CPU (virtual wire through LINT0, or no APIC). */
  private extIntRouted(): boolean {
    if (!this.hardwareEnabled) return true;
    const l = this.lvt[Lvt.LINT0];
    return !(l & LVT_MASKED) && ((l >> 8) & 7) === DeliveryMode.EXTINT;
  }

  /** Recomputes the CPU's INTR input. */
  update(): void {
    // WRMSR to IA32_APIC_BASE only stores the MSR; pick the change up at the next interrupt event.
    if (this.cpu.st[S.APIC_BASE_LO] !== this.seenBase) this.refreshBase();
    const pending = (this.hardwareEnabled && this.deliverable() >= 0) || this.extIntPending || (this.pic.output && this.extIntRouted());
    this.cpu.st[S.IRQ_PENDING] = pending ? 1 : 0;
  }

  /** The 8259's INT output changed (it is wired to LINT0). */
  picOutputChanged(level: boolean): void {
    const rising = level && !this.lint0Level;
    this.lint0Level = level;
    if (rising && this.hardwareEnabled) {
      const l = this.lvt[Lvt.LINT0];
      const mode = (l >> 8) & 7;
      // LINT0 programmed for something other than ExtINT takes the 8259 output as an edge.
      if (!(l & LVT_MASKED) && mode !== DeliveryMode.EXTINT) this.localInterrupt(Lvt.LINT0);
    }
    this.update();
  }

  /** INTA: the vector the CPU takes now, or -1. */
  acknowledge(): number {
    if (!this.hardwareEnabled) return this.pic.acknowledge();
    const v = this.deliverable();
    if (v >= 0) {
      setBit(this.irr, v, false);
      setBit(this.isr, v, true);
      this.update();
      return v;
    }
    if (this.extIntPending || (this.pic.output && this.extIntRouted())) {
      this.extIntPending = false;
      const vector = this.pic.acknowledge();
      this.update();
      return vector;
    }
    this.update();
    if (this.softwareEnabled && highestBit(this.irr) >= 0) {
      // The request was masked by a TPR raise between INTR and INTA: a spurious interrupt.
      this.counters.spurious++;
      return this.svr & 0xff;
    }
    return -1;
  }

  // ---------------------------------------------------------------- accepting interrupts

  /** Accepts a fixed-mode vector into IRR. */
  private acceptFixed(vector: number, level: boolean): void {
    if (vector < 16) {
      this.error(ESR_RECEIVE_ILLEGAL_VECTOR);
      return;
    }
    setBit(this.irr, vector, true);
    setBit(this.tmr, vector, level);
    this.update();
  }

  private receive(mode: number, vector: number, level: boolean): void {
    switch (mode) {
      case DeliveryMode.FIXED:
      case DeliveryMode.LOWEST:
        this.acceptFixed(vector, level);
        break;
      case DeliveryMode.NMI:
        this.counters.nmis++;
        this.onNmi();
        break;
      case DeliveryMode.EXTINT:
        this.extIntPending = true;
        this.update();
        break;
      default:
        // SMI, INIT and STARTUP: no SMM, and the boot processor ignores INIT/SIPI meant for APs.
        break;
    }
  }

  /** Whether a message for `dest` in physical (0) or logical (1) destination mode addresses this APIC. */
  matchesDestination(dest: number, logical: boolean): boolean {
    dest &= 0xff;
    if (!logical) return dest === 0xff || dest === this.id;
    if (dest === 0xff) return true;
    const mine = this.ldr >>> 24;
    if ((this.dfr >>> 28) === 0xf) return (dest & mine) !== 0; // flat model
    // Cluster model: cluster in the high nibble, members in the low nibble.
    return (dest >> 4 === mine >> 4 || dest >> 4 === 0xf) && (dest & mine & 0xf) !== 0;
  }

  /** An interrupt message on the APIC bus (from the IOAPIC or an MSI). */
  deliver(dest: number, logical: boolean, mode: number, vector: number, level: boolean): void {
    if (!this.hardwareEnabled || !this.matchesDestination(dest, logical)) return;
    this.receive(mode, vector, level);
  }

  /** A PCI MSI/MSI-X write of `data` to `address` (0xFEExxxxx). */
  deliverMsi(address: number, data: number): void {
    if ((address >>> 20) !== 0xfee) return;
    this.deliver((address >>> 12) & 0xff, (address & 4) !== 0, (data >> 8) & 7, data & 0xff, (data & 0x8000) !== 0);
  }

  /** Delivers a local vector table entry's interrupt. */
  private localInterrupt(index: Lvt): void {
    const l = this.lvt[index];
    if (l & LVT_MASKED) return;
    const mode = index === Lvt.TIMER || index === Lvt.ERROR ? DeliveryMode.FIXED : (l >> 8) & 7;
    if (mode === DeliveryMode.FIXED && (l & 0xff) < 16) {
      if (index !== Lvt.ERROR) this.error(ESR_RECEIVE_ILLEGAL_VECTOR);
      return;
    }
    this.receive(mode, l & 0xff, (index === Lvt.LINT0 || index === Lvt.LINT1) && (l & LVT_LEVEL) !== 0);
  }

  private error(bits: number): void {
    this.esrPending |= bits;
    this.localInterrupt(Lvt.ERROR);
  }

  private eoi(): void {
    const v = highestBit(this.isr);
    if (v < 0) return;
    setBit(this.isr, v, false);
    if (testBit(this.tmr, v)) {
      setBit(this.tmr, v, false);
      this.onEoi(v);
    }
    this.update();
  }

  // ---------------------------------------------------------------- IPIs

  private sendIpi(): void {
    this.counters.ipis++;
    const lo = this.icrLo;
    const mode = (lo >> 8) & 7;
    const vector = lo & 0xff;
    const shorthand = (lo >> 18) & 3;
    if ((mode === DeliveryMode.FIXED || mode === DeliveryMode.LOWEST) && vector < 16) {
      this.error(ESR_SEND_ILLEGAL_VECTOR);
      return;
    }
    // INIT level de-assert is a bus-wide arbitration-ID sync with no effect here.
    if (mode === DeliveryMode.INIT && !(lo & 0x4000) && (lo & LVT_LEVEL)) return;
    let toSelf: boolean;
    switch (shorthand) {
      case 1: toSelf = true; break; // self
      case 2: toSelf = true; break; // all including self
      case 3: toSelf = false; break; // all excluding self: nobody else is here
      default: toSelf = this.matchesDestination(this.icrHi >>> 24, (lo & 0x800) !== 0); break;
    }
    if (toSelf) this.receive(mode, vector, false);
  }

  // ---------------------------------------------------------------- timer

  private get timerMode(): number {
    return (this.lvt[Lvt.TIMER] >> 17) & 3;
  }

  private static divisorOf(config: number): number {
    const v = ((config >> 1) & 4) | (config & 3);
    return v === 7 ? 1 : 2 << v;
  }

  /** Bus ticks (after the divider) since the count was loaded. */
  private timerTicks(now: number): number {
    return Math.floor((now - this.timerStartNs) / (this.timerDivisor * BUS_NS));
  }

  currentCount(now = this.now()): number {
    if (this.initialCount === 0 || this.timerMode === TIMER_TSC_DEADLINE) return 0;
    const d = this.timerTicks(now);
    if (this.timerMode === TIMER_PERIODIC) return this.initialCount - (d % this.initialCount);
    return d >= this.initialCount ? 0 : this.initialCount - d;
  }

  /** TSC-deadline mode (IA32_TSC_DEADLINE, MSR 0x6E0), as a machine clock time in ns; 0 disarms. */
  setTscDeadline(clockNs: number): void {
    this.tscDeadlineNs = clockNs;
    this.armTimer(this.now());
  }

  private armTimer(now: number): void {
    let at = Infinity;
    const mode = this.timerMode;
    if (mode === TIMER_TSC_DEADLINE) {
      if (this.tscDeadlineNs > 0) at = Math.max(this.tscDeadlineNs, now);
    } else if (this.initialCount !== 0) {
      const period = this.initialCount * this.timerDivisor * BUS_NS;
      const d = now - this.timerStartNs;
      if (mode === TIMER_PERIODIC) at = this.timerStartNs + (Math.floor(d / period) + 1) * period;
      else if (d < period) at = this.timerStartNs + period;
    }
    // A masked timer keeps counting (the count stays readable) but needs no callback.
    this.timer.deadline = this.lvt[Lvt.TIMER] & LVT_MASKED ? Infinity : at;
  }

  private onTimer(now: number): void {
    if (this.timerMode === TIMER_TSC_DEADLINE) {
      if (this.tscDeadlineNs === 0 || now < this.tscDeadlineNs) {
        this.armTimer(now);
        return;
      }
      this.tscDeadlineNs = 0;
    }
    this.counters.timerInterrupts++;
    this.localInterrupt(Lvt.TIMER);
    // Periodic: the next expiry after now (expiries missed while the host lagged coalesce, as in IRR).
    this.armTimer(now);
  }

  // ---------------------------------------------------------------- registers

  read(offset: number, size: 1 | 2 | 4): number {
    const v = this.readRegister(offset >> 4);
    if (size === 4 && (offset & 0xf) === 0) return v;
    // Narrow reads see the bytes of the register (architecturally undefined; harmless).
    const shift = (offset & 3) * 8;
    return (offset & 0xc) === 0 ? (v >>> shift) & (size === 1 ? 0xff : 0xffff) : 0;
  }

  write(offset: number, size: 1 | 2 | 4, value: number): void {
    // Registers are 32 bits wide on 16-byte boundaries; other writes are ignored.
    if (size !== 4 || (offset & 0xf) !== 0) return;
    this.writeRegister(offset >> 4, value);
  }

  readRegister(r: number): number {
    switch (r) {
      case 0x02: return this.id << 24;
      case 0x03: return APIC_VERSION;
      case 0x08: return this.tpr;
      case 0x09: return 0; // arbitration priority (no arbitration with one APIC)
      case 0x0a: return this.ppr;
      case 0x0b: return 0; // EOI is write-only
      case 0x0d: return this.ldr;
      case 0x0e: return this.dfr;
      case 0x0f: return this.svr;
      case 0x28: return this.esr;
      case 0x30: return this.icrLo & ~0x1000; // delivery status: idle
      case 0x31: return this.icrHi;
      case 0x38: return this.initialCount >>> 0;
      case 0x39: return this.currentCount() >>> 0;
      case 0x3e: return this.divideConfig;
      default:
        if (r >= 0x10 && r < 0x18) return this.isr[r - 0x10] | 0;
        if (r >= 0x18 && r < 0x20) return this.tmr[r - 0x18] | 0;
        if (r >= 0x20 && r < 0x28) return this.irr[r - 0x20] | 0;
        if (r >= 0x32 && r < 0x38) return this.lvt[r - 0x32] | 0;
        return 0;
    }
  }

  writeRegister(r: number, v: number): void {
    const now = this.now();
    switch (r) {
      case 0x02: this.id = v >>> 24; return;
      case 0x08: this.tpr = v & 0xff; break;
      case 0x0b: this.eoi(); return;
      case 0x0d: this.ldr = v & 0xff00_0000; return;
      case 0x0e: this.dfr = v | 0x0fff_ffff; return;
      case 0x0f:
        this.svr = v & 0x13ff;
        // Software disable masks every LVT entry (and they stay masked until re-enabled).
        if (!this.softwareEnabled) for (let i = 0; i < 6; i++) this.lvt[i] |= LVT_MASKED;
        this.armTimer(now);
        break;
      case 0x28:
        // A write latches the errors collected since the last write, and clears them.
        this.esr = this.esrPending;
        this.esrPending = 0;
        return;
      case 0x30:
        this.icrLo = v & 0x000c_cfff;
        this.sendIpi();
        return;
      case 0x31: this.icrHi = v & 0xff00_0000; return;
      case 0x38:
        if (this.timerMode === TIMER_TSC_DEADLINE) return; // ignored in TSC-deadline mode
        this.initialCount = v >>> 0;
        this.timerStartNs = now;
        this.timerDivisor = LocalApic.divisorOf(this.divideConfig);
        this.armTimer(now);
        return;
      case 0x3e: {
        // Keep the current count continuous across a divider change.
        const current = this.currentCount(now);
        this.divideConfig = v & 0xb;
        const div = LocalApic.divisorOf(this.divideConfig);
        if (this.initialCount !== 0 && this.timerMode !== TIMER_TSC_DEADLINE) {
          const done = this.initialCount - current;
          this.timerStartNs = now - done * div * BUS_NS;
        }
        this.timerDivisor = div;
        this.armTimer(now);
        return;
      }
      default:
        if (r >= 0x32 && r < 0x38) {
          this.writeLvt(r - 0x32, v, now);
          break;
        }
        // Read-only registers (version, APR, PPR, RRD, ISR/TMR/IRR, current count) ignore
        // writes; reserved offsets are an illegal register address.
        if (!(r === 0x03 || r === 0x09 || r === 0x0a || r === 0x0c || (r >= 0x10 && r < 0x28) || r === 0x39)) {
          this.error(ESR_ILLEGAL_REGISTER);
        }
        return;
    }
    this.update();
  }

  private writeLvt(index: Lvt, v: number, now: number): void {
    const old = this.lvt[index];
    let nv = (v & LVT_WRITABLE[index]) | (old & LVT_REMOTE_IRR);
    if (!this.softwareEnabled) nv |= LVT_MASKED;
    this.lvt[index] = nv;
    if (index === Lvt.TIMER) {
      const oldMode = (old >> 17) & 3;
      const newMode = (nv >> 17) & 3;
      if (oldMode !== newMode) {
        // Switching to or from TSC-deadline mode disarms the timer.
        if (oldMode === TIMER_TSC_DEADLINE || newMode === TIMER_TSC_DEADLINE) {
          this.initialCount = 0;
          this.tscDeadlineNs = 0;
        }
      }
      this.armTimer(now);
    }
  }
}
