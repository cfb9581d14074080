// Whole programs through the JS tier and through the interpreter: the
// system-level test kernels (paging, faults, privilege rings, task switches,
// V86 mode, SYSENTER...) and the CPU benchmark loops, on the full PC with a
// deterministic clock. The serial transcript, the exit status, every word of
// CPU state and the instruction count must be identical. The tier compiles
// after two interpretations here, so nearly everything runs compiled.
import { describe, it, expect } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Pc } from '../../src/machine/pc.ts';
import { multibootBootProgram } from '../../src/machine/boot/multiboot.ts';
import { materializeFlags } from '../../src/x86/flags.ts';
import { S } from '../../src/x86/state.ts';
import { buildSystemKernel } from '../guest/system/kernel.ts';

interface Outcome { serial: string; event: string; state: Int32Array; instructions: number; regions: number }

function runKernel(image: Uint8Array, jit: boolean, maxInstructions: number, until?: RegExp): Outcome {
  const pc = new Pc({ memoryMiB: 64, clock: 'deterministic', noReboot: true });
  const cpu = pc.machine.cpu;
  cpu.jit.enabled = jit;
  cpu.jit.hotThreshold = 2;
  cpu.jit.warmThreshold = 1;
  let serial = '';
  pc.com1.onTransmit = (b) => { serial += String.fromCharCode(b); };
  let event = '';
  pc.machine.onEvent((e) => { event = JSON.stringify(e); });
  pc.machine.setBootProgram(multibootBootProgram(image, '', 'kernel'));
  while (!pc.machine.finished && cpu.instructionCount < maxInstructions && !(until && until.test(serial))) {
    pc.machine.runSlice(10_000);
    if (pc.machine.halted) {
      // Deterministic time: jump to the next timer, as the run loop does.
      const next = pc.machine.timers.nextDeadline();
      if (next === Infinity) break;
      pc.machine.clock.idleUntil(next);
      pc.machine.timers.fireDue();
    }
  }
  materializeFlags(cpu.st);
  return { serial, event, state: cpu.st.slice(0, S.WORDS), instructions: cpu.instructionCount, regions: cpu.jit.counters.regionsCompiled };
}

function expectSame(a: Outcome, b: Outcome): void {
  expect(b.serial).toBe(a.serial);
  expect(b.event).toBe(a.event);
  expect(b.instructions).toBe(a.instructions);
  const diffs: string[] = [];
  for (let w = 0; w < a.state.length; w++) if (a.state[w] !== b.state[w]) diffs.push(`word ${w}: ${(a.state[w] >>> 0).toString(16)} vs ${(b.state[w] >>> 0).toString(16)}`);
  expect(diffs).toEqual([]);
}

const SYSTEM_KERNELS = ['paging', 'rings', 'tasks', 'descriptors', 'sysenter', 'v86', 'vme', 'realmode', 'cpuid', 'strict', 'doublefault', 'triplefault'];

describe('system kernels: compiled tier against the interpreter', () => {
  for (const name of SYSTEM_KERNELS) {
    it(name, () => {
      const image = new Uint8Array(readFileSync(buildSystemKernel(name)));
      const off = runKernel(image, false, 50_000_000);
      const on = runKernel(image, true, 50_000_000);
      expect(off.serial.length).toBeGreaterThan(0);
      if (process.env.CPU_PERF_VERBOSE) console.log(name, 'instructions', on.instructions, 'regions', on.regions, on.event);
      expectSame(off, on);
    });
  }
});

describe('CPU benchmark loops: compiled tier against the interpreter', () => {
  const out = join(import.meta.dirname, '..', '..', '.cache', 'bench');
  mkdirSync(out, { recursive: true });
  for (const [n, name] of [[1, 'alu'], [2, 'memory'], [3, 'string'], [4, 'calls'], [5, 'x87']] as const) {
    it(name, () => {
      const bin = join(out, `cpu-loops-${n}.bin`);
      execFileSync('nasm', ['-f', 'bin', `-DWORKLOAD=${n}`, join(import.meta.dirname, '..', '..', 'bench', 'guest', 'cpu-loops.asm'), '-o', bin]);
      const image = new Uint8Array(readFileSync(bin));
      const end = /end [0-9A-F]{8}\n/;
      const off = runKernel(image, false, 200_000_000, end);
      const on = runKernel(image, true, 200_000_000, end);
      expect(off.serial).toMatch(end);
      expect(on.regions).toBeGreaterThan(0);
      expectSame(off, on);
    });
  }
});
