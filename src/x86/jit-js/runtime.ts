// Code every compiled region shares: the entry guard and the exit epilogue.
// Keeping them out of the generated functions keeps those small (the JS
// engine optimises a function after running it in proportion to its size)
// and lets the shared code be optimised once, early, for every region.
import { S, Seg, MODE_CS32, MODE_SS32, MODE_V86 } from '../state.ts';
import type { Cpu } from '../cpu.ts';

export interface RegionRuntime {
  /**
   * Whether a region may run: flat 32-bit code (CS base 0, 4 GiB limit,
   * 32-bit stack, not V86) at an EIP in linear page `linBase`, and each
   * segment in `flat` (bit per segment register) with base 0, and each in
   * `based` with any base, both with a 4 GiB expand-up limit.
   */
  guard(linBase: number, flat: number, based: number): boolean;
  /**
   * Stores a region's exit: EIP (unless a handler set it: keep), a lazy-flag
   * record left pending by a slow-path exit (fm !== 0; CF through fcm/fcv),
   * the exit kind and the instructions left in the block; returns `n`.
   */
  finish(nx: number, keep: number, fo: number, fa: number, fb: number, fr: number, fm: number, fcm: number, fcv: number, why: number, rest: number, n: number): number;
}

export function regionRuntime(cpu: Cpu): RegionRuntime {
  const st = cpu.st;
  return {
    guard(linBase: number, flat: number, based: number): boolean {
      if ((st[S.MODE] & (MODE_CS32 | MODE_SS32 | MODE_V86)) !== (MODE_CS32 | MODE_SS32) ||
          st[S.SEG_BASE + Seg.CS] !== 0 || st[S.SEG_LIMIT + Seg.CS] !== -1 || (st[S.EIP] & -4096) !== linBase) return false;
      const segs = flat | based;
      for (let s = 0; segs >> s !== 0; s++) {
        if ((segs & (1 << s)) === 0) continue;
        const acc = st[S.SEG_ACCESS + s];
        if (st[S.SEG_LIMIT + s] !== -1 || ((acc & 0x10004) !== 0 && (acc & 8) === 0)) return false;
        if ((flat & (1 << s)) !== 0 && st[S.SEG_BASE + s] !== 0) return false;
      }
      return true;
    },
    finish(nx, keep, fo, fa, fb, fr, fm, fcm, fcv, why, rest, n): number {
      if (keep === 0) st[S.EIP] = nx;
      if (fm !== 0) {
        st[S.LAZY_OP] = fo;
        st[S.LAZY_A] = fa;
        st[S.LAZY_B] = fb;
        st[S.LAZY_RES] = fr;
        st[S.LAZY_MASK] = fm;
        st[S.EFLAGS] = (st[S.EFLAGS] & fcm) | fcv;
      }
      st[S.BLOCK_EXIT] = 0;
      cpu.jitExit = why;
      cpu.jitRest = rest;
      return n;
    },
  };
}
