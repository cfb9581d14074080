// Flat 32-bit protected mode at CPL 0 without descriptor tables, for bare
// CPU tests: CR0.PE+ET, code selector 0x08 and data selectors 0x10, every
// segment based at 0 with a 4 GiB limit. Callers set EIP/ESP and then call
// cpu.updateMode().
import { S, Seg } from '../../src/x86/state.ts';

export function loadFlat32Segments(st: Int32Array): void {
  st[S.CR] = 0x11;
  for (let s = 0; s < 6; s++) {
    st[S.SEG_SEL + s] = s === Seg.CS ? 0x08 : 0x10;
    st[S.SEG_BASE + s] = 0;
    st[S.SEG_LIMIT + s] = -1;
    st[S.SEG_ACCESS + s] = s === Seg.CS ? 0x409b : 0x4093;
  }
}
