// Runs ts86 in this Node process for the side-by-side benchmarks.
import { Pc } from '../../src/machine/pc.ts';
import { RunLoop } from '../../src/machine/run-loop.ts';
import { multibootBootProgram } from '../../src/machine/boot/multiboot.ts';
import { linuxBootProgram } from '../../src/machine/boot/linux.ts';
import { textSession, type SerialSession, type V86Guest } from './v86-node.ts';

export interface Ts86Session extends SerialSession {
  pc: Pc;
  instructions(): number;
}

export function startTs86(guest: V86Guest): Ts86Session {
  const pc = new Pc({ memoryMiB: guest.memoryMiB });
  if (guest.multiboot) pc.machine.setBootProgram(multibootBootProgram(guest.multiboot, guest.cmdline ?? '', 'bench kernel'));
  else pc.machine.setBootProgram(linuxBootProgram(pc, guest.bzimage!, guest.initrd, guest.cmdline ?? ''));
  const loop = new RunLoop(pc.machine);
  const session = textSession(
    (onByte) => { pc.com1.onTransmit = onByte; },
    (s) => { pc.com1.receive(Array.from(s, (c) => c.charCodeAt(0))); loop.wake(); },
    async () => { loop.stop(); await running; },
  );
  const running = loop.run();
  return { ...session, pc, instructions: () => pc.machine.cpu.instructionCount };
}
