// A readable dump of the CPU for emulator faults: mode, registers, segment
// caches, control registers, and the most recently executed code
// disassembled.
import type { Cpu } from '../x86/cpu.ts';
import { S, MODE_PROT, MODE_V86, MODE_PAGING, MODE_CS32 } from '../x86/state.ts';
import { materializeFlags } from '../x86/flags.ts';
import { disassemble, type Disassembled } from '../x86/disasm.ts';
import type { ByteSource } from '../x86/decoder.ts';

const h8 = (v: number): string => (v >>> 0).toString(16).padStart(8, '0');
const SEGS = ['es', 'cs', 'ss', 'ds', 'fs', 'gs', 'ldtr', 'tr'];
const REGS = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'];

/** Reads guest code by linear address without raising guest faults. */
class PeekSource implements ByteSource {
  constructor(private readonly cpu: Cpu, private readonly lin: number) {}
  byteAt(offset: number): number {
    const saved = this.cpu.faultVector;
    try {
      return this.cpu.readLin8((this.lin + offset) | 0);
    } catch {
      this.cpu.faultVector = saved;
      throw new Error('unmapped');
    }
  }
}

export function describeMode(cpu: Cpu): string {
  const m = cpu.st[S.MODE];
  if (!(m & MODE_PROT)) return 'real mode';
  if (m & MODE_V86) return 'virtual-8086 mode';
  return `${m & MODE_CS32 ? '32' : '16'}-bit protected mode, CPL ${cpu.st[S.CPL]}${m & MODE_PAGING ? ', paging' : ''}`;
}

function tryDisassemble(cpu: Cpu, lin: number, cs32: boolean): Disassembled | null {
  try {
    return disassemble(new PeekSource(cpu, lin), cs32, lin);
  } catch {
    return null;
  }
}

export function crashDump(cpu: Cpu, error: Error): string {
  const st = cpu.st;
  const lines: string[] = [];
  lines.push(`ts86: emulator fault: ${error.message}`);
  lines.push(`mode: ${describeMode(cpu)}`);
  lines.push(REGS.slice(0, 4).map((r, k) => `${r}=${h8(st[k])}`).join(' '));
  lines.push(REGS.slice(4).map((r, k) => `${r}=${h8(st[k + 4])}`).join(' '));
  lines.push(`eip=${h8(st[S.EIP_START])} eflags=${h8(materializeFlags(st))}`);
  for (let s = 0; s < 8; s++) {
    lines.push(`${SEGS[s].padEnd(4)} sel=${(st[S.SEG_SEL + s] & 0xffff).toString(16).padStart(4, '0')} base=${h8(st[S.SEG_BASE + s])} limit=${h8(st[S.SEG_LIMIT + s])} access=${(st[S.SEG_ACCESS + s] >>> 0).toString(16)}`);
  }
  lines.push(`cr0=${h8(st[S.CR])} cr2=${h8(st[S.CR + 2])} cr3=${h8(st[S.CR + 3])} cr4=${h8(st[S.CR + 4])}`);
  lines.push(`gdtr=${h8(st[S.GDTR_BASE])}/${(st[S.GDTR_LIMIT] & 0xffff).toString(16)} idtr=${h8(st[S.IDTR_BASE])}/${(st[S.IDTR_LIMIT] & 0xffff).toString(16)}`);
  lines.push(`instructions executed: ${cpu.instructionCount}`);
  lines.push('recent code (oldest first):');
  for (let k = 1; k <= 16; k++) {
    const idx = (cpu.recentIndex + k) & 15;
    const lin = cpu.recentBlocks[idx];
    if (lin === 0 && k < 16) continue;
    const cs32 = cpu.recentCs32[idx] === 1;
    let at = lin;
    for (let n = 0; n < 12; n++) {
      const d = tryDisassemble(cpu, at, cs32);
      if (!d) { lines.push(`  ${h8(at)}  (unreadable)`); break; }
      lines.push(`  ${h8(at)}  ${d.text}`);
      at = (at + d.length) | 0;
      if (d.endsBlock) break;
    }
    lines.push('  --');
  }
  return lines.join('\n');
}

