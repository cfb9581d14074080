// The machine: shared memory, bus, CPU, clock and timers, and the devices a
// board attaches. It runs in time slices (runSlice) driven by a RunLoop, and
// reports power-off, exit requests, resets and emulator errors as events.
import { createMachineMemory } from './memory.ts';
import { DeterministicClock, WallClock, type Clock } from './clock.ts';
import { TimerQueue } from './timers.ts';
import { Bus } from '../devices/bus.ts';
import { Cpu } from '../x86/cpu.ts';
import { runInstructions } from '../x86/interpreter.ts';
import { S } from '../x86/state.ts';
import type { MachineViews } from '../x86/state.ts';

export interface MachineOptions {
  memoryMiB: number;
  /** 'wall' (default) for people, 'deterministic' for repeatable tests and benchmarks. */
  clock?: 'wall' | 'deterministic';
  /** Guest ns per instruction in deterministic mode. */
  nsPerInstruction?: number;
  /** On a guest reset request (triple fault, 0xCF9, keyboard controller): exit instead of rebooting. */
  noReboot?: boolean;
}

export type MachineEvent =
  | { type: 'poweroff' }
  | { type: 'exit'; status: number }
  | { type: 'reset'; reason: string }
  | { type: 'error'; error: Error };

/** Something that sets the machine up for booting (loads images, sets CPU state); run again on every reset. */
export type BootProgram = (machine: Machine) => void;

export class Machine {
  readonly views: MachineViews;
  readonly bus = new Bus();
  readonly cpu: Cpu;
  readonly clock: Clock;
  readonly timers: TimerQueue;
  /** Devices with state to reset when the machine resets. */
  private readonly resettables: { reset(): void }[] = [];
  private bootProgram: BootProgram | null = null;
  private readonly listeners: ((e: MachineEvent) => void)[] = [];
  private pendingReset: string | null = null;
  /** Set once the machine has powered off or asked to exit; the run loop stops. */
  finished: MachineEvent | null = null;
  /** TSC rate: one tick per guest nanosecond. */
  readonly tscHz = 1_000_000_000;

  constructor(readonly options: MachineOptions) {
    this.views = createMachineMemory(options.memoryMiB);
    this.cpu = new Cpu(this.views, this.bus, {
      onReset: (reason) => this.requestReset(reason),
      readTsc: () => BigInt(Math.floor(this.clock.nowNs() * (this.tscHz / 1e9))),
    });
    this.clock = options.clock === 'deterministic'
      ? new DeterministicClock(() => this.cpu.instructionCount, options.nsPerInstruction ?? 1)
      : new WallClock();
    this.timers = new TimerQueue(this.clock);
  }

  get memoryBytes(): number {
    return this.views.ramBytes;
  }

  onEvent(listener: (e: MachineEvent) => void): void {
    this.listeners.push(listener);
  }

  emit(e: MachineEvent): void {
    for (const l of this.listeners) l(e);
  }

  addResettable(device: { reset(): void }): void {
    this.resettables.push(device);
  }

  setBootProgram(program: BootProgram): void {
    this.bootProgram = program;
    program(this);
  }

  /** Asks the machine to reset at the next slice boundary (safe to call from inside an instruction). */
  requestReset(reason: string): void {
    this.pendingReset = reason;
    this.cpu.stopRequested = true;
  }

  powerOff(): void {
    this.finish({ type: 'poweroff' });
  }

  exit(status: number): void {
    this.finish({ type: 'exit', status });
  }

  private finish(e: MachineEvent): void {
    if (this.finished) return;
    this.finished = e;
    this.cpu.stopRequested = true;
    this.emit(e);
  }

  /** Hardware reset: CPU, devices and RAM contents the boot program provides. */
  reset(): void {
    this.cpu.reset();
    for (const d of this.resettables) d.reset();
    if (this.bootProgram) this.bootProgram(this);
  }

  /**
   * Runs up to `budget` instructions, then fires due timers. Returns the
   * number executed. Guest faults are handled inside; anything thrown out of
   * here is an emulator error.
   */
  runSlice(budget: number): number {
    if (this.finished) return 0;
    const clock = this.clock;
    if (clock instanceof DeterministicClock) {
      const next = this.timers.nextDeadline();
      if (next !== Infinity) budget = Math.max(1, Math.min(budget, clock.instructionsUntil(next)));
    }
    this.cpu.stopRequested = false;
    const n = runInstructions(this.cpu, budget);
    if (this.pendingReset !== null && !this.finished) {
      const reason = this.pendingReset;
      this.pendingReset = null;
      this.emit({ type: 'reset', reason });
      if (this.options.noReboot) {
        this.finish({ type: 'exit', status: 0 });
        return n;
      }
      this.reset();
    }
    this.timers.fireDue();
    return n;
  }

  get halted(): boolean {
    return this.cpu.st[S.HALTED] !== 0;
  }
}
