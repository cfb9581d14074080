// Drives a Machine on the host's event loop: runs time slices, yields to the
// host between them (so console input, disk completions and UI messages get
// through), sleeps while the guest is halted, and supports pause, resume and
// stop. The same loop runs in Node (the CLI) and in a Web Worker.
import type { Machine, MachineEvent } from './machine.ts';
import { EmulatorError } from '../x86/faults.ts';

export interface RunLoopOptions {
  /** Instructions per slice; bounds the latency of timers and input. */
  sliceInstructions?: number;
  /** Stop after this many host seconds (a runaway guest). */
  maxSeconds?: number;
}

export type RunResult =
  | MachineEvent
  | { type: 'timeout' }
  | { type: 'stopped' }
  | { type: 'crash'; error: Error };

/** Host-side yield: macrotask so that I/O callbacks run between slices. */
function yieldToHost(): Promise<void> {
  if (typeof setImmediate === 'function') return new Promise((r) => setImmediate(r));
  return new Promise((r) => {
    const ch = new MessageChannel();
    ch.port1.onmessage = () => r();
    ch.port2.postMessage(0);
  });
}

export class RunLoop {
  private paused = false;
  private stopped = false;
  private wakeHalt: (() => void) | null = null;
  private resumeWaiter: (() => void) | null = null;
  readonly stats = { slices: 0, instructions: 0, hostMs: 0, haltedMs: 0 };
  private readonly sliceInstructions: number;

  constructor(readonly machine: Machine, private readonly options: RunLoopOptions = {}) {
    this.sliceInstructions = options.sliceInstructions ?? 200_000;
  }

  /** Wakes a halted guest early (new console input, a completed disk request). */
  wake(): void {
    this.wakeHalt?.();
  }

  pause(): void {
    if (!this.paused) {
      this.paused = true;
      this.machine.clock.pause();
      this.wake();
    }
  }

  resume(): void {
    if (this.paused) {
      this.paused = false;
      this.machine.clock.resume();
      this.resumeWaiter?.();
    }
  }

  get isPaused(): boolean {
    return this.paused;
  }

  stop(): void {
    this.stopped = true;
    this.machine.cpu.stopRequested = true;
    this.wake();
    this.resumeWaiter?.();
  }

  async run(): Promise<RunResult> {
    const m = this.machine;
    const start = performance.now();
    const deadline = this.options.maxSeconds !== undefined ? start + this.options.maxSeconds * 1000 : Infinity;
    try {
      for (;;) {
        if (m.finished) return m.finished;
        if (this.stopped) return { type: 'stopped' };
        if (performance.now() >= deadline) return { type: 'timeout' };
        if (this.paused) {
          // A paused machine still ends at its deadline (a CLI run paused by a failing disk must not hang a script).
          const left = deadline - performance.now();
          await new Promise<void>((r) => {
            const timer = left === Infinity ? null : setTimeout(r, left);
            this.resumeWaiter = () => { if (timer) clearTimeout(timer); r(); };
          });
          this.resumeWaiter = null;
          continue;
        }
        const t0 = performance.now();
        const n = m.runSlice(this.sliceInstructions);
        this.stats.slices++;
        this.stats.instructions += n;
        this.stats.hostMs += performance.now() - t0;
        if (m.finished) return m.finished;
        if (m.halted) {
          await this.sleepWhileHalted(deadline);
        } else {
          await yieldToHost();
        }
      }
    } catch (e) {
      const error = e instanceof Error ? e : new EmulatorError(String(e));
      return { type: 'crash', error };
    }
  }

  private async sleepWhileHalted(hostDeadline: number): Promise<void> {
    const m = this.machine;
    const next = m.timers.nextDeadline();
    const sleepNs = next === Infinity ? Infinity : m.clock.idleUntil(next);
    if (sleepNs <= 0) {
      // Deterministic clock: time jumped to the deadline; fire it without sleeping.
      m.timers.fireDue();
      await yieldToHost();
      return;
    }
    const hostLeft = hostDeadline - performance.now();
    const ms = Math.max(0, Math.min(sleepNs / 1e6, hostLeft, 1000));
    const t0 = performance.now();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => { this.wakeHalt = null; resolve(); }, ms);
      this.wakeHalt = () => { clearTimeout(timer); this.wakeHalt = null; resolve(); };
    });
    this.stats.haltedMs += performance.now() - t0;
    m.timers.fireDue();
  }
}
