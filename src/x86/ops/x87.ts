// The x87 escape opcodes D8–DF, WAIT, and FXSAVE/FXRSTOR, wired to the FPU
// unit (src/x86/fpu). Table entries are generated from the FPU's own decode
// table, so the encodings, #UD set and nasm spellings are stated once there.
import type { InsnDef } from '../table/types.ts';
import type { Cpu } from '../cpu.ts';
import { S, MODE_PROT, MODE_V86, CR0_EM, CR0_TS, CR0_MP, CR0_NE } from '../state.ts';
import { Vec } from '../faults.ts';
import { A_O32, A_REG } from '../decoded.ts';
import { effectiveAddress } from '../operands.ts';
import { materializeFlags, setFlagBits } from '../flags.ts';
import {
  decodeFpu, disassembleFpu, opFlags, OP_UD, F_NOWAIT, F_WRITES_EFLAGS, F_WRITES_AX, F_READS_EFLAGS, F_SSE3,
  ENV_PROT16, ENV_PROT32, ENV_REAL16, ENV_REAL32, EFLAGS_FCOMI_MASK,
} from '../fpu/index.ts';

/** #NM checks shared by every x87 instruction (CR0.EM, CR0.TS). */
function checkDeviceAvailable(cpu: Cpu): void {
  if (cpu.st[S.CR] & (CR0_EM | CR0_TS)) cpu.raise(Vec.NM);
}

/**
 * A pending unmasked x87 exception is reported at the next waiting
 * instruction: #MF with CR0.NE, otherwise FERR# (IRQ13) — the instruction
 * then waits, so it is restarted after the interrupt handler clears the error.
 * Returns true if the instruction must not execute now.
 */
function reportPendingException(cpu: Cpu): boolean {
  if (!cpu.fpu.pendingUnmaskedException()) return false;
  if (cpu.st[S.CR] & CR0_NE) cpu.raise(Vec.MF);
  cpu.hooks.onFerr?.();
  cpu.st[S.EIP] = cpu.st[S.EIP_START];
  cpu.st[S.BLOCK_EXIT] = 1;
  return true;
}

function envFormat(cpu: Cpu, o32: boolean): number {
  const mode = cpu.st[S.MODE];
  const real = !(mode & MODE_PROT) || (mode & MODE_V86) !== 0;
  return real ? (o32 ? ENV_REAL32 : ENV_REAL16) : (o32 ? ENV_PROT32 : ENV_PROT16);
}

function execX87(cpu: Cpu, i: number): void {
  checkDeviceAvailable(cpu);
  const p = cpu.pool;
  const st = cpu.st;
  const esc = p.opcode[i] & 7;
  const modrm = p.modrm[i];
  const op = decodeFpu(esc, modrm);
  const flags = opFlags[op];
  if (op === OP_UD || (flags & F_SSE3)) cpu.ud();
  if (!(flags & F_NOWAIT) && reportPendingException(cpu)) return;
  let lin = 0, seg = 0, ea = 0;
  if (!(p.attrs[i] & A_REG)) {
    seg = p.seg[i];
    ea = effectiveAddress(cpu, i);
    lin = cpu.lin(seg, ea, 1);
  }
  cpu.fpu.setContext(st[S.SEG_SEL + 1] & 0xffff, st[S.EIP_START], st[S.SEG_SEL + seg] & 0xffff, ea, envFormat(cpu, (p.attrs[i] & A_O32) !== 0));
  const eflags = flags & F_READS_EFLAGS ? materializeFlags(st) : 0;
  const r = cpu.fpu.exec(esc, modrm, lin, eflags);
  if (flags & F_WRITES_EFLAGS) setFlagBits(st, EFLAGS_FCOMI_MASK, r);
  else if (flags & F_WRITES_AX) cpu.st16[0] = r;
}

const SIZE_FORMS: Record<string, string> = { word: 'Mw', dword: 'Md', qword: 'Mq', tword: 'Mt' };

/** Table entries for one escape byte: per ModRM.reg for memory forms, per (reg, rm) for register forms. */
function escapeEntries(esc: number): InsnDef[] {
  const out: InsnDef[] = [];
  for (let reg = 0; reg < 8; reg++) {
    const memModrm = (reg << 3) | 0;
    if (decodeFpu(esc, memModrm) !== OP_UD) {
      const text = disassembleFpu(esc, memModrm, '[mem]');
      const [mnemonic, ...rest] = text.split(' ');
      const size = rest.length > 1 ? SIZE_FORMS[rest[0]] ?? 'M' : 'M';
      out.push({ opcode: 0xd8 + esc, ext: reg, mod: 'mem', mnemonic, operands: size, readsEip: true, exec: execX87 });
    }
    for (let rm = 0; rm < 8; rm++) {
      const modrm = 0xc0 | (reg << 3) | rm;
      if (decodeFpu(esc, modrm) === OP_UD) continue;
      const text = disassembleFpu(esc, modrm);
      const space = text.indexOf(' ');
      const mnemonic = space < 0 ? text : text.slice(0, space);
      const operands = space < 0 ? '' : text.slice(space + 1).replace(/\s+/g, '');
      out.push({ opcode: 0xd8 + esc, ext: reg, rm, mod: 'reg', mnemonic, operands, readsEip: true, exec: execX87 });
    }
  }
  return out;
}

function fwait(cpu: Cpu): void {
  const cr0 = cpu.st[S.CR];
  if ((cr0 & CR0_MP) && (cr0 & CR0_TS)) cpu.raise(Vec.NM);
  reportPendingException(cpu);
}

function fxsave(cpu: Cpu, i: number, restore: boolean): void {
  checkDeviceAvailable(cpu);
  const lin = cpu.lin(cpu.pool.seg[i], effectiveAddress(cpu, i), 512);
  if (lin & 15) cpu.gp(0);
  if (restore) cpu.fpu.fxrstor(lin); else cpu.fpu.fxsave(lin);
}

export const x87Ops: InsnDef[] = [
  ...[0, 1, 2, 3, 4, 5, 6, 7].flatMap(escapeEntries),
  { opcode: 0x9b, mnemonic: 'wait', operands: '', readsEip: true, exec: fwait },
  { opcode: 0x0fae, ext: 0, mod: 'mem', mnemonic: 'fxsave', operands: 'M', exec: (cpu, i) => fxsave(cpu, i, false) },
  { opcode: 0x0fae, ext: 1, mod: 'mem', mnemonic: 'fxrstor', operands: 'M', exec: (cpu, i) => fxsave(cpu, i, true) },
];
