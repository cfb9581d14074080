// Intel 8254 programmable interval timer (ports 0x40–0x43), clocked at
// 1.193182 MHz from the machine clock. Channel 0 drives IRQ0, channel 2 the
// speaker and the OUT2 bit of port 0x61 (its gate comes from port 0x61 bit 0),
// channel 1 (DRAM refresh on old PCs) counts but is wired to nothing.
//
// Counters are not ticked: each channel remembers when counting started and
// derives its count and OUT level arithmetically from the clock. Channel 0
// arms one machine timer for the next OUT edge, so a periodic IRQ0 costs one
// timer callback per edge, and edges missed while the host lagged collapse
// into one interrupt (the guest sees a late tick, as with a busy real bus).
//
// Modes: 0 interrupt on terminal count, 1 hardware retriggerable one-shot,
// 2 rate generator, 3 square wave, 4 software and 5 hardware triggered strobe;
// counter latch and read-back commands (count and status), LSB/MSB/LSB-then-MSB
// access and BCD counting. The one-clock delay between writing a count and the
// counter loading it is not modelled (as in QEMU).
import type { Bus } from './bus.ts';
import type { IrqSink } from './irq.ts';
import type { Timer, TimerQueue } from '../machine/timers.ts';

export const PIT_HZ = 1_193_182;
const NS_PER_TICK = 1e9 / PIT_HZ;

const enum Access { LATCH = 0, LSB = 1, MSB = 2, WORD = 3 }

/** Counting element state: waiting for a count or trigger, counting, or held by a low gate (modes 0/4). */
export const enum Phase { IDLE = 0, RUNNING = 1, SUSPENDED = 2 }

export class PitChannel {
  mode = 3;
  access: Access = Access.WORD;
  bcd = false;
  /** Reload value as the counter sees it (1–0x10000; 0 written means 0x10000, or 10000 in BCD). */
  count = 0x10000;
  phase: Phase = Phase.IDLE;
  /** RUNNING: clock ns when counting started from `count` (tick 0). */
  loadNs = 0;
  /** SUSPENDED: ticks counted before the gate went low. */
  frozenTicks = 0;
  /** IDLE: what a read returns (the counting element keeps its last value). */
  heldCount = 0;
  /** A count has been written since the last control word (modes 1/5 need one before a trigger). */
  hasCount = false;
  /** Modes 2/3: a count written while running takes effect when the current period ends. */
  pendingCount = 0;
  pendingAtNs = Infinity;
  gate: boolean;
  /** Write state for LSB-then-MSB: the LSB has been written. */
  writeMsbNext = false;
  writeLatch = 0;
  /** Read state for LSB-then-MSB without a latch. */
  readMsbNext = false;
  /** Latched count (from a latch or read-back command), with the bytes still to be read. */
  latched = 0;
  latchedBytes = 0;
  latchedMsbNext = false;
  /** Latched status byte (read-back); read before any latched count. */
  status = 0;
  statusLatched = false;
  /** Status bit 6: a count was written and not yet loaded into the counting element. */
  nullCount = true;

  constructor(readonly index: number) {
    this.gate = index !== 2;
  }

  /** Takes a pending mode 2/3 reload once the period it waited for has ended. */
  sync(nowNs: number): boolean {
    if (nowNs < this.pendingAtNs) return false;
    this.loadNs = this.pendingAtNs;
    this.count = this.pendingCount;
    this.pendingAtNs = Infinity;
    this.nullCount = false;
    return true;
  }

  /** Clock ticks counted at `nowNs` (valid when not IDLE). */
  ticks(nowNs: number): number {
    if (this.phase === Phase.SUSPENDED) return this.frozenTicks;
    return Math.floor((nowNs - this.loadNs) / NS_PER_TICK);
  }

  /** The counting element's value at `nowNs` (binary, 0–0xFFFF; 0x10000 reads as 0). */
  value(nowNs: number): number {
    if (this.phase === Phase.IDLE) return this.heldCount & 0xffff;
    const d = this.ticks(nowNs);
    const n = this.count;
    switch (this.mode) {
      case 2:
        return (n - (d % n)) & 0xffff;
      case 3:
        // Decrements by two through each half period.
        return (n - ((2 * d) % n)) & 0xffff;
      default: {
        // Modes 0, 1, 4, 5: one pass that wraps (0xFFFF, 0xFFFE, ... or 9999 in BCD) after zero.
        const m = this.bcd ? 10000 : 0x10000;
        return ((((n - d) % m) + m) % m) & 0xffff;
      }
    }
  }

  /** OUT level at `nowNs`. */
  out(nowNs: number): boolean {
    if (this.phase === Phase.IDLE) return this.mode !== 0; // mode 0 waits with OUT low, the others high
    if (this.phase === Phase.SUSPENDED && this.mode !== 0 && this.mode !== 4) return true;
    const d = this.ticks(nowNs);
    const n = this.count;
    switch (this.mode) {
      case 0: return d >= n;
      case 1: return d >= n;
      case 2: return !(d !== 0 && d % n === 0);
      case 3: return d % n < ((n + 1) >> 1);
      default: return d !== n; // 4, 5: low for one clock at terminal count
    }
  }

  /** Tick of the next OUT change after tick `d`, or -1 if none comes without a new count or gate edge. */
  nextEdgeTick(d: number): number {
    const n = this.count;
    switch (this.mode) {
      case 0:
      case 1:
        return d < n ? n : -1;
      case 2: {
        const base = d - (d % n);
        return d !== 0 && d === base ? d + 1 : base + n;
      }
      case 3: {
        const base = d - (d % n);
        return d - base < ((n + 1) >> 1) ? base + ((n + 1) >> 1) : base + n;
      }
      default:
        if (d < n) return n;
        return d === n ? n + 1 : -1;
    }
  }

  /** Rising OUT edges in the tick interval (d0, d1]. */
  risingEdges(d0: number, d1: number): number {
    const n = this.count;
    switch (this.mode) {
      case 2: return periodicHits(n + 1, n, d0, d1); // OUT returns high one clock after each terminal count
      case 3: return periodicHits(n, n, d0, d1); // each period starts with OUT going high
      case 0:
      case 1: return d0 < n && n <= d1 ? 1 : 0;
      default: return d0 < n + 1 && n + 1 <= d1 ? 1 : 0;
    }
  }

  /** Starts counting from the reload value at `nowNs`. */
  start(nowNs: number): void {
    this.phase = Phase.RUNNING;
    this.loadNs = nowNs;
    this.pendingAtNs = Infinity;
    this.nullCount = false;
  }

  /** Stops counting, keeping the current value readable. */
  stop(nowNs: number): void {
    this.heldCount = this.value(nowNs);
    this.phase = Phase.IDLE;
    this.pendingAtNs = Infinity;
  }
}

/** How many of the ticks first, first + period, first + 2·period, ... lie in (d0, d1]. */
function periodicHits(first: number, period: number, d0: number, d1: number): number {
  if (d1 < first) return 0;
  const upTo1 = Math.floor((d1 - first) / period) + 1;
  const upTo0 = d0 < first ? 0 : Math.floor((d0 - first) / period) + 1;
  return upTo1 - upTo0;
}

/** The 8254 with its channel 0 → IRQ0 wiring. */
export class Pit8254 {
  readonly channels = [new PitChannel(0), new PitChannel(1), new PitChannel(2)];
  /** IRQ0 level as last driven. */
  private irqLevel = false;
  /** Channel 0 tick at which IRQ0 was last evaluated. */
  private lastTick = 0;
  private readonly timer: Timer;
  readonly counters = { irq0Edges: 0 };

  constructor(private readonly timers: TimerQueue, private readonly irqs: IrqSink, private readonly irq = 0) {
    this.timer = timers.create('pit-ch0', (now) => this.onTimer(now));
  }

  private now(): number {
    return this.timers.clock.nowNs();
  }

  /** The channel, with any pending reload applied as of `now`. */
  private channel(index: number, now: number): PitChannel {
    const c = this.channels[index];
    if (c.sync(now) && index === 0) this.periodEndedWithReload();
    return c;
  }

  attach(bus: Bus): void {
    bus.registerPorts(0x40, 4, 'pit', {
      read8: (port) => (port === 0x43 ? 0xff : this.readCounter(port - 0x40)),
      write8: (port, v) => (port === 0x43 ? this.writeControl(v) : this.writeCounter(port - 0x40, v)),
    });
  }

  /** Machine reset: the state a PC BIOS leaves — every channel in mode 3 with count 0 (65536), channel 0 running. */
  reset(): void {
    const now = this.now();
    for (const c of this.channels) {
      c.mode = 3;
      c.access = Access.WORD;
      c.bcd = false;
      c.count = 0x10000;
      c.hasCount = true;
      c.writeMsbNext = false;
      c.readMsbNext = false;
      c.latchedBytes = 0;
      c.latchedMsbNext = false;
      c.statusLatched = false;
      c.gate = c.index !== 2;
      c.phase = Phase.IDLE;
      c.heldCount = 0;
      c.pendingAtNs = Infinity;
      c.nullCount = false;
      if (c.gate) c.start(now);
    }
    this.irqLevel = false;
    this.irqs.setIrq(this.irq, false);
    this.channelChanged(this.channels[0], now);
  }

  // ---------------------------------------------------------------- port 0x43

  writeControl(v: number): void {
    const sel = v >> 6;
    if (sel === 3) {
      this.readBack(v);
      return;
    }
    const now = this.now();
    const c = this.channel(sel, now);
    const access = (v >> 4) & 3;
    if (access === Access.LATCH) {
      // Counter latch: further latches are ignored until the latched value has been read.
      if (c.latchedBytes === 0) this.latchCount(c, now);
      return;
    }
    let mode = (v >> 1) & 7;
    if (mode > 5) mode -= 4; // 6 and 7 alias 2 and 3
    // A control word stops the counter until a new count is written.
    c.stop(now);
    c.access = access;
    c.mode = mode;
    c.bcd = (v & 1) !== 0;
    c.hasCount = false;
    c.writeMsbNext = false;
    c.readMsbNext = false;
    c.latchedBytes = 0;
    c.latchedMsbNext = false;
    c.nullCount = true;
    this.channelChanged(c, now);
  }

  private latchCount(c: PitChannel, now: number): void {
    c.latched = this.toBcd(c, c.value(now));
    c.latchedMsbNext = false;
    c.latchedBytes = c.access === Access.WORD ? 2 : 1;
  }

  private readBack(v: number): void {
    const now = this.now();
    for (let i = 0; i < 3; i++) {
      if (!(v & (2 << i))) continue;
      const c = this.channel(i, now);
      if (!(v & 0x20) && c.latchedBytes === 0) this.latchCount(c, now);
      if (!(v & 0x10) && !c.statusLatched) {
        c.status = (c.out(now) ? 0x80 : 0) | (c.nullCount ? 0x40 : 0) | (c.access << 4) | (c.mode << 1) | (c.bcd ? 1 : 0);
        c.statusLatched = true;
      }
    }
  }

  // ---------------------------------------------------------------- counters

  readCounter(index: number): number {
    const now = this.now();
    const c = this.channel(index, now);
    if (c.statusLatched) {
      c.statusLatched = false;
      return c.status;
    }
    let v: number;
    let access = c.access;
    if (c.latchedBytes > 0) {
      v = c.latched;
      c.latchedBytes--;
      if (access === Access.WORD) {
        const b = c.latchedMsbNext ? v >> 8 : v & 0xff;
        c.latchedMsbNext = !c.latchedMsbNext;
        return b & 0xff;
      }
    } else {
      v = this.toBcd(c, c.value(now));
      if (access === Access.WORD) {
        access = c.readMsbNext ? Access.MSB : Access.LSB;
        c.readMsbNext = !c.readMsbNext;
      }
    }
    return (access === Access.MSB ? v >> 8 : v) & 0xff;
  }

  writeCounter(index: number, v: number): void {
    const now = this.now();
    const c = this.channel(index, now);
    let raw: number;
    switch (c.access) {
      case Access.LSB: raw = v; break;
      case Access.MSB: raw = v << 8; break;
      default:
        if (!c.writeMsbNext) {
          c.writeLatch = v;
          c.writeMsbNext = true;
          // Mode 0: writing the first byte stops the count; OUT stays low until the new count ends.
          if (c.mode === 0 && c.phase !== Phase.IDLE) {
            c.stop(now);
            this.channelChanged(c, now);
          }
          return;
        }
        c.writeMsbNext = false;
        raw = c.writeLatch | (v << 8);
    }
    this.loadCount(c, raw, now);
  }

  private loadCount(c: PitChannel, raw: number, now: number): void {
    let n = c.bcd ? fromBcd(raw) : raw;
    if (n === 0) n = c.bcd ? 10000 : 0x10000;
    c.hasCount = true;
    c.nullCount = true;
    switch (c.mode) {
      case 1:
      case 5:
        // Hardware triggered: the count is used at the next gate rising edge.
        c.count = n;
        return;
      case 2:
      case 3:
        if (c.phase === Phase.RUNNING) {
          // A running rate generator takes the new count when the current period ends.
          const d = c.ticks(now);
          c.pendingCount = n;
          c.pendingAtNs = c.loadNs + (d - (d % c.count) + c.count) * NS_PER_TICK;
          return;
        }
        c.count = n;
        if (c.gate) c.start(now);
        else {
          // Loaded on the next clock; counting waits for the gate.
          c.heldCount = n & 0xffff;
          c.nullCount = false;
        }
        break;
      default:
        // Modes 0 and 4 count from the new value at once; a low gate holds them at the start.
        c.count = n;
        if (c.gate) c.start(now);
        else {
          c.phase = Phase.SUSPENDED;
          c.frozenTicks = 0;
          c.nullCount = false;
        }
        break;
    }
    this.channelChanged(c, now);
  }

  // ---------------------------------------------------------------- gate (channel 2 via port 0x61)

  setGate(index: number, level: boolean): void {
    const now = this.now();
    const c = this.channel(index, now);
    if (c.gate === level) return;
    c.gate = level;
    switch (c.mode) {
      case 0:
      case 4:
        // A low gate suspends counting; high resumes where it stopped.
        if (!level && c.phase === Phase.RUNNING) {
          c.frozenTicks = c.ticks(now);
          c.phase = Phase.SUSPENDED;
        } else if (level && c.phase === Phase.SUSPENDED) {
          c.loadNs = now - c.frozenTicks * NS_PER_TICK;
          c.phase = Phase.RUNNING;
        }
        break;
      case 1:
      case 5:
        // The rising edge triggers (or retriggers) the one-shot.
        if (level && c.hasCount) c.start(now);
        break;
      default:
        // Modes 2/3: a low gate stops counting with OUT high; the rising edge reloads.
        if (level) {
          if (c.hasCount) c.start(now);
        } else if (c.phase === Phase.RUNNING) {
          c.stop(now);
        }
        break;
    }
    this.channelChanged(c, now);
  }

  getGate(index: number): boolean {
    return this.channels[index].gate;
  }

  out(index: number): boolean {
    const now = this.now();
    return this.channel(index, now).out(now);
  }

  // ---------------------------------------------------------------- IRQ0

  private channelChanged(c: PitChannel, now: number): void {
    if (c.index !== 0) return;
    this.lastTick = c.phase === Phase.RUNNING ? c.ticks(now) : 0;
    this.driveIrq(c.out(now));
    this.armNextEdge(c, now);
  }

  /** The period that a pending reload waited for ended with an OUT edge of its own. */
  private periodEndedWithReload(): void {
    this.driveIrq(false);
    this.driveIrq(true);
    this.lastTick = 0;
  }

  private driveIrq(level: boolean): void {
    if (level !== this.irqLevel) {
      this.irqLevel = level;
      if (level) this.counters.irq0Edges++;
      this.irqs.setIrq(this.irq, level);
    }
  }

  private armNextEdge(c: PitChannel, now: number): void {
    let at = Infinity;
    if (c.phase === Phase.RUNNING) {
      const next = c.nextEdgeTick(c.ticks(now));
      // Round up so that the callback runs at or after the tick boundary.
      if (next >= 0) at = Math.max(c.loadNs + Math.ceil(next * NS_PER_TICK), now + 1);
    }
    // A pending reload changes the period: look again when it takes effect.
    if (c.pendingAtNs < at) at = c.pendingAtNs;
    this.timer.deadline = at;
  }

  private onTimer(now: number): void {
    const c = this.channel(0, now);
    if (c.phase !== Phase.RUNNING) return;
    const d = c.ticks(now);
    const out = c.out(now);
    // Rising edges since the last look that the level now does not show (the host ran late)
    // are delivered as a pulse, so that no timer interrupt is silently lost.
    if (c.risingEdges(this.lastTick, d) > 0 && !(out && !this.irqLevel)) {
      if (this.irqLevel) this.driveIrq(false);
      this.driveIrq(true);
    }
    this.driveIrq(out);
    this.lastTick = d;
    this.armNextEdge(c, now);
  }

  private toBcd(c: PitChannel, v: number): number {
    if (!c.bcd) return v;
    v %= 10000;
    return (v % 10) | ((Math.floor(v / 10) % 10) << 4) | ((Math.floor(v / 100) % 10) << 8) | (Math.floor(v / 1000) << 12);
  }
}

function fromBcd(raw: number): number {
  return (raw & 0xf) + ((raw >> 4) & 0xf) * 10 + ((raw >> 8) & 0xf) * 100 + ((raw >> 12) & 0xf) * 1000;
}
