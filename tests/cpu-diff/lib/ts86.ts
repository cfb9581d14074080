// The ts86 side: runFlatSnippet from src/x86/testing/flat-runner.ts (contract: see
// tests/cpu-diff/README.md), loaded only if the CPU core provides it, so that the native
// side, generator and comparator work and are tested on their own without it.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { initialWindow } from './batch-format.ts';
import type { Outcome } from './compare.ts';
import { VEC, VECTOR_NONE, WINDOW_SIZE } from './layout.ts';
import { REPO_ROOT } from './paths.ts';
import type { TestCase } from './test-case.ts';
import { fsaveDefault } from './x87-image.ts';

interface SnippetInput {
  code: Uint8Array;
  regs: Uint32Array;
  eflags: number;
  window: Uint8Array;
  fpu?: Uint8Array;
}
interface SnippetOutput {
  regs: Uint32Array;
  eflags: number;
  eip: number;
  window: Uint8Array;
  fpu: Uint8Array;
  exception: null | { vector: number; errorCode?: number };
}
type RunFlatSnippet = (input: SnippetInput) => SnippetOutput;

export const FLAT_RUNNER = 'src/x86/testing/flat-runner.ts';
export const TABLE_MODULE = 'src/x86/table/index.ts';

export function moduleExists(rel: string): boolean {
  return existsSync(join(REPO_ROOT, rel));
}

/** Runs a case in ts86; the host's vector lets it skip cases the runner cannot handle. */
export type Ts86Runner = (tc: TestCase, hostVector: number) => Outcome;

/**
 * Whether the flat runner maps only the code and window pages, as the host does: an access
 * elsewhere must be #PF. Without that, every host #PF case would run wild in ts86 (reading
 * whatever RAM is there, executing up to the runner's step limit), so those cases are then
 * reported as failing without being run.
 */
function faultsOutsideMappedPages(run: RunFlatSnippet): boolean {
  const code = Uint8Array.of(0xa1, 0x00, 0x00, 0x30, 0x00); // mov eax, [0x300000]
  try {
    const out = run({ code, regs: new Uint32Array(8), eflags: 2, window: new Uint8Array(WINDOW_SIZE) });
    return out.exception?.vector === VEC.PF;
  } catch {
    return false;
  }
}

export const UNMAPPED_NOT_FAULTING = `not run: ${FLAT_RUNNER} does not fault on unmapped addresses (it must map only the code page and the window, user read/write, so that other accesses are #PF as on the host)`;

/** The ts86 runner, or null if the CPU core does not provide flat-runner.ts yet. */
export async function loadTs86(): Promise<Ts86Runner | null> {
  if (!moduleExists(FLAT_RUNNER)) return null;
  const mod = (await import(/* @vite-ignore */ join(REPO_ROOT, FLAT_RUNNER))) as { runFlatSnippet?: RunFlatSnippet };
  const run = mod.runFlatSnippet;
  if (typeof run !== 'function') throw new Error(`${FLAT_RUNNER} does not export runFlatSnippet`);
  const pagesFault = faultsOutsideMappedPages(run);
  return (tc, hostVector) => {
    const window = initialWindow({ ...tc, code: tc.code!, patches: tc.patches }, WINDOW_SIZE);
    if (!pagesFault && hostVector === VEC.PF) return { regs: new Uint32Array(8), eflags: 0, eip: 0, vector: VECTOR_NONE, fpu: fsaveDefault(), window, crash: UNMAPPED_NOT_FAULTING };
    try {
      // Fresh copies: the runner may keep or mutate what it is given.
      const out = run({ code: tc.code!.slice(), regs: tc.regs.slice(), eflags: tc.eflags, window, fpu: tc.fpu?.slice() });
      return {
        regs: Uint32Array.from(out.regs),
        eflags: out.eflags >>> 0,
        eip: out.eip >>> 0,
        vector: out.exception ? out.exception.vector : VECTOR_NONE,
        errorCode: out.exception?.errorCode,
        fpu: out.fpu ?? fsaveDefault(),
        window: out.window,
      };
    } catch (e) {
      const err = e as Error;
      return { regs: new Uint32Array(8), eflags: 0, eip: 0, vector: VECTOR_NONE, fpu: fsaveDefault(), window, crash: `threw ${err.stack?.split('\n').slice(0, 3).join(' | ') ?? String(e)}` };
    }
  };
}
