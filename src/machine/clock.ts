// The one clock every timer reads. Wall-clock mode follows real time (and
// stops while the machine is paused); deterministic mode derives time from
// the number of instructions executed, plus idle time skipped while halted,
// so that runs are repeatable.

export interface Clock {
  readonly mode: 'wall' | 'deterministic';
  /** Guest time in nanoseconds since power-on. */
  nowNs(): number;
  /** Called when the machine pauses/resumes, so guest time does not run while paused. */
  pause(): void;
  resume(): void;
  /**
   * The CPU is halted until `deadlineNs`: a deterministic clock jumps there;
   * a wall clock reports how long the host should sleep (ns, ≥ 0).
   */
  idleUntil(deadlineNs: number): number;
}

/** Nanoseconds from a host monotonic source; injectable for tests. */
export type HostTimeNs = () => number;

const defaultHostNs: HostTimeNs = () => performance.now() * 1e6;

export class WallClock implements Clock {
  readonly mode = 'wall' as const;
  private base: number;
  private pausedAt = -1;

  constructor(private readonly hostNs: HostTimeNs = defaultHostNs) {
    this.base = hostNs();
  }

  nowNs(): number {
    return (this.pausedAt >= 0 ? this.pausedAt : this.hostNs()) - this.base;
  }

  pause(): void {
    if (this.pausedAt < 0) this.pausedAt = this.hostNs();
  }

  resume(): void {
    if (this.pausedAt >= 0) {
      this.base += this.hostNs() - this.pausedAt;
      this.pausedAt = -1;
    }
  }

  idleUntil(deadlineNs: number): number {
    return Math.max(0, deadlineNs - this.nowNs());
  }
}

export class DeterministicClock implements Clock {
  readonly mode = 'deterministic' as const;
  private idleNs = 0;

  /**
   * @param instructions the CPU's executed-instruction count
   * @param nsPerInstruction guest time per instruction (1 ns ≈ a 1000 MIPS guest)
   */
  constructor(private readonly instructions: () => number, private readonly nsPerInstruction = 1) {
    if (!(nsPerInstruction > 0)) throw new RangeError(`nsPerInstruction must be positive, got ${nsPerInstruction}`);
  }

  nowNs(): number {
    return this.instructions() * this.nsPerInstruction + this.idleNs;
  }

  pause(): void {}
  resume(): void {}

  idleUntil(deadlineNs: number): number {
    const now = this.nowNs();
    if (deadlineNs > now) this.idleNs += deadlineNs - now;
    return 0;
  }

  /** Instructions that fit before `deadlineNs` (for sizing a time slice exactly). */
  instructionsUntil(deadlineNs: number): number {
    return Math.max(0, Math.ceil((deadlineNs - this.nowNs()) / this.nsPerInstruction));
  }
}
