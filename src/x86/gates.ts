// Far transfers through system descriptors: call gates (with the stack switch
// and parameter copy for calls to inner privilege levels), task gates and
// TSS descriptors (hardware task switch, tasks.ts).
import { Vec } from './faults.ts';
import type { Cpu } from './cpu.ts';
import type { FarKind } from './transfer.ts';

/**
 * JMP/CALL whose selector names a system descriptor (in segments.desc).
 * Call gates and task switching are implemented by the system-level work;
 * until then such a transfer is refused as hardware refuses a bad gate.
 */
export function farGateTransfer(cpu: Cpu, _kind: FarKind, sel: number, _o32: boolean): void {
  cpu.raise(Vec.GP, sel & 0xfffc);
}
