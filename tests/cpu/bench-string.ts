// Micro-benchmark for the REP string paths (not part of the test suite):
//   npx tsx tests/cpu/bench-string.ts
// Copies/fills 1 MiB repeatedly in flat 32-bit mode and reports MB/s for the
// bulk RAM path (DF=0) against the per-element path (DF=1, same work).
import { Machine } from '../../src/machine/machine.ts';
import { S, FLAG_DF } from '../../src/x86/state.ts';
import { loadFlat32Segments } from '../support/flat32.ts';
import { runInstructions } from '../../src/x86/interpreter.ts';

const m = new Machine({ memoryMiB: 32, clock: 'deterministic' });
const cpu = m.cpu;
const st = cpu.st;
loadFlat32Segments(st);
cpu.updateMode();

const MIB = 1 << 20;
const CODE = 0x1000;

/** Runs `op` over 1 MiB `reps` times; `dst` defaults to a separate buffer. Returns MiB/s. */
function bench(op: number[], elem: number, down: boolean, reps: number, dst?: number): number {
  m.views.ram8.set([...op, 0xf4], CODE);
  cpu.blocks.clear(); // the code was written behind the CPU's back
  const src = down ? 0x200000 - elem : 0x100000;
  const t0 = performance.now();
  for (let r = 0; r < reps; r++) {
    st[S.EIP] = CODE;
    st[S.HALTED] = 0;
    st[S.ESI] = src;
    st[S.EDI] = dst ?? (down ? 0x400000 - elem : 0x300000);
    st[S.ECX] = MIB / elem;
    st[S.EAX] = 0x5a5a5a5a;
    st[S.EFLAGS] = down ? st[S.EFLAGS] | FLAG_DF : st[S.EFLAGS] & ~FLAG_DF;
    while (st[S.HALTED] === 0) runInstructions(cpu, 1000);
  }
  return reps / ((performance.now() - t0) / 1000);
}

const cases: [string, number[], number, boolean, number?][] = [];
for (const down of [false, true]) {
  const dir = down ? ' (DF=1)' : ' (DF=0)';
  cases.push(['rep movsb' + dir, [0xf3, 0xa4], 1, down], ['rep movsd' + dir, [0xf3, 0xa5], 4, down],
    ['rep stosb' + dir, [0xf3, 0xaa], 1, down], ['rep stosd' + dir, [0xf3, 0xab], 4, down]);
}
// Baseline: a MOVSD whose elements overlap themselves cannot take the bulk path.
cases.push(['rep movsd, per element', [0xf3, 0xa5], 4, false, 0x100002]);

// One short untimed round first, so every path is compiled before it is measured.
for (const [, op, elem, down, dst] of cases) bench(op, elem, down, 2, dst);
for (const [name, op, elem, down, dst] of cases) {
  const reps = dst === undefined ? 40 : 2;
  console.log(`${name.padEnd(26)} ${bench(op, elem, down, reps, dst).toFixed(0).padStart(6)} MiB/s`);
}
