// Puts the CPU in 32-bit flat protected mode (paging off, ring 0), the state
// both the multiboot and the Linux 32-bit boot protocols hand over in.
import { S, Seg, CR0_PE, CR0_ET } from '../../x86/state.ts';
import type { Cpu } from '../../x86/cpu.ts';

const FLAT_CODE_ACCESS = 0xc09b; // G, D, present, code execute/read, accessed
const FLAT_DATA_ACCESS = 0xc093; // G, B, present, data read/write, accessed

export function enterFlatProtectedMode(cpu: Cpu, codeSel: number, dataSel: number, eip: number): void {
  const st = cpu.st;
  st[S.CR] = CR0_PE | CR0_ET;
  for (let seg = 0; seg < 6; seg++) {
    const code = seg === Seg.CS;
    st[S.SEG_SEL + seg] = code ? codeSel : dataSel;
    st[S.SEG_BASE + seg] = 0;
    st[S.SEG_LIMIT + seg] = -1;
    st[S.SEG_ACCESS + seg] = code ? FLAT_CODE_ACCESS : FLAT_DATA_ACCESS;
  }
  st[S.CPL] = 0;
  st[S.EIP] = eip;
  st[S.EFLAGS] = 2;
  st[S.LAZY_MASK] = 0;
  st[S.A20_MASK] = -1;
  cpu.updateMode();
  cpu.flushTlb(true);
}
