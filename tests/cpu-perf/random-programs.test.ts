// The JS tier against the interpreter on random loop programs: every word
// of CPU state, the memory the program can reach, the instruction count and
// the exception (if any) must be identical with the tier on and off.
import { describe, it, expect } from 'vitest';
import { assemble, run, diff, WINDOW, type RunOptions } from './rig.ts';
import { ProgramGen, Rng } from './gen.ts';

const SEED = Number(process.env.CPU_PERF_SEED ?? 0x5eed);
const PROGRAMS = Number(process.env.CPU_PERF_PROGRAMS ?? 120);
const GS_BASE = 0x1000;

function randomWindow(rng: Rng): Uint8Array {
  const w = new Uint8Array(0x4000);
  for (let i = 0; i < w.length; i++) w[i] = rng.next() & 0xff;
  return w;
}

interface Variant { name: string; user: boolean; slice: number; fsLimit?: number }
const VARIANTS: Variant[] = [
  { name: 'ring 0', user: false, slice: 1000 },
  { name: 'ring 3, odd slices', user: true, slice: 333 },
  { name: 'ring 0, tiny slices', user: false, slice: 37 },
  // FS with a limit inside the window: FS accesses take the generic path and some fault (#GP).
  { name: 'ring 0, limited FS', user: false, slice: 1000, fsLimit: WINDOW + 0x1810 },
];

describe('compiled regions behave exactly like the interpreter', () => {
  for (const v of VARIANTS) {
    it(`random loop programs (${v.name})`, () => {
      const rng = new Rng(SEED ^ (v.slice * 2654435761));
      let compiled = 0, faulted = 0;
      const failures: string[] = [];
      for (let p = 0; p < PROGRAMS; p++) {
        const gen = new ProgramGen(rng, { gsBase: GS_BASE, user: v.user });
        const faultAt = rng.chance(0.3) ? 1 + rng.int(20) : 0;
        const src = gen.program(40 + rng.int(60), 6 + rng.int(30), faultAt);
        let code: Uint8Array;
        try {
          code = assemble(src);
        } catch (e) {
          throw new Error(`nasm rejected program ${p}: ${(e as Error).message}\n${src}`);
        }
        const regs = [rng.next(), rng.next(), rng.next(), rng.next(), 0, 0, WINDOW + 0x800 + rng.int(0x800), WINDOW + 0x1800 + rng.int(0x800)];
        const o: Omit<RunOptions, 'jit'> = {
          regs, eflags: rng.next(), window: randomWindow(rng), user: v.user, fsBase: 0, gsBase: GS_BASE, fsLimit: v.fsLimit, slice: v.slice,
          maxInstructions: 100_000,
        };
        const a = run(code, { ...o, jit: false });
        const b = run(code, { ...o, jit: true });
        if (b.regionsCompiled > 0) compiled++;
        if (a.stop) faulted++;
        const d = diff(a, b);
        if (d.length) failures.push(`program ${p} (seed ${SEED}):\n  ${d.slice(0, 12).join('\n  ')}\n${src}`);
        if (failures.length >= 3) break;
      }
      expect(failures.join('\n\n')).toBe('');
      // The comparison means something only if most programs ran compiled code.
      expect(compiled).toBeGreaterThan(PROGRAMS * (v.fsLimit === undefined ? 0.8 : 0.4));
      expect(faulted).toBeGreaterThan(0);
    });
  }
});
