// The counters `ts86 --stats` prints and the page's status bar shows.
import type { Pc } from './pc.ts';
import type { RunLoop, RunResult } from './run-loop.ts';
import { interpreterCounters } from '../x86/interpreter.ts';

export function collectStats(pc: Pc, loop: RunLoop, seconds: number, result: RunResult): Record<string, unknown> {
  const m = pc.machine;
  const instructions = m.cpu.instructionCount;
  return {
    result: result.type,
    seconds: Number(seconds.toFixed(3)),
    instructions,
    mips: Number((loop.stats.hostMs > 0 ? instructions / loop.stats.hostMs / 1000 : 0).toFixed(2)),
    guestSeconds: Number((m.clock.nowNs() / 1e9).toFixed(3)),
    haltedSeconds: Number((loop.stats.haltedMs / 1000).toFixed(3)),
    slices: loop.stats.slices,
    cpu: { ...interpreterCounters, ...m.cpu.blocks.counters },
    bus: { ...m.bus.counters },
    com1: { ...pc.com1.counters },
  };
}
