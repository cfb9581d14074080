// The x87 decode table against the host CPU (which encodings are #UD) and
// against nasm (the disassembly reassembles to the same bytes).

import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { F_MEM, F_SSE3, OP_UD, decodeFpu, disassembleFpu, opFlags } from '../../src/x86/fpu/decode.ts';
import { runNative } from './oracle/native.ts';
import { stateImage } from './gen.ts';

/** Every (escape, ModRM) shape: 64 register forms and 8 memory forms per escape byte. */
function allEncodings(): [number, number][] {
  const out: [number, number][] = [];
  for (let esc = 0xd8; esc <= 0xdf; esc++) {
    for (let m = 0xc0; m <= 0xff; m++) out.push([esc, m]);
    for (let r = 0; r < 8; r++) out.push([esc, r << 3]);
  }
  return out;
}


describe('x87 decode table', () => {
  it('has the documented shape', () => {
    expect(disassembleFpu(0xd8, 0x00, '[eax]')).toBe('fadd dword [eax]');
    expect(disassembleFpu(0xd8, 0xc3)).toBe('fadd st0, st3');
    expect(disassembleFpu(0xde, 0xc3)).toBe('faddp st3, st0');
    expect(disassembleFpu(0xdc, 0xe3)).toBe('fsubr st3, st0');
    expect(disassembleFpu(0xdf, 0xe0)).toBe('fnstsw ax');
    expect(decodeFpu(0xd9, 0x08)).toBe(OP_UD);
    expect(opFlags[decodeFpu(0xdb, 0x08)] & F_SSE3).toBeTruthy();
  });

  it('#UD set matches the host CPU (FISTTP aside: SSE3, flagged)', () => {
    const encs = allEncodings();
    const st = stateImage(0x37f, [], 0);
    const res = runNative(encs.map(([e, m]) => ({ code: new Uint8Array([e, m]), state: st, mem: new Uint8Array(m < 0xc0 ? 512 : 0), eflags: 0x202 })));
    const mismatches: string[] = [];
    encs.forEach(([e, m], k) => {
      const hostUd = res.results[k].signal === 4;
      const op = decodeFpu(e, m);
      // The host has SSE3, so FISTTP runs there; a Pentium Pro raises #UD (F_SSE3 tells the CPU).
      const emuUd = op === OP_UD;
      if (hostUd !== emuUd) mismatches.push(`${e.toString(16)} ${m.toString(16)}: host ${hostUd ? '#UD' : 'ok'}, table ${emuUd ? '#UD' : 'ok'}`);
    });
    console.log(`[fpu] decode: ${encs.length - mismatches.length}/${encs.length} encodings agree with the host on #UD`);
    expect(mismatches).toEqual([]);
  });

  it('disassembly reassembles with nasm to the same bytes (aliases to their canonical form)', () => {
    const encs = allEncodings().filter(([e, m]) => decodeFpu(e, m) !== OP_UD);
    const dir = mkdtempSync(join(tmpdir(), 'ts86-fpu-nasm-'));
    try {
      const lines = encs.map(([e, m]) => disassembleFpu(e, m, '[eax]'));
      writeFileSync(join(dir, 'a.asm'), 'bits 32\n' + lines.join('\n') + '\n');
      // One instruction per line: assemble each into a listing to get its bytes.
      execFileSync('nasm', ['-f', 'bin', '-l', join(dir, 'a.lst'), '-o', join(dir, 'a.bin'), join(dir, 'a.asm')]);
      const lst = readFileSync(join(dir, 'a.lst'), 'utf8').split('\n').filter((l) => /^\s*\d+\s+[0-9A-F]{8}\s+[0-9A-F]+/.test(l));
      expect(lst.length).toBe(encs.length);
      const bad: string[] = [];
      let aliases = 0;
      encs.forEach(([e, m], k) => {
        const hex = lst[k].trim().split(/\s+/)[2];
        const bytes = hex.match(/../g)!.map((h) => parseInt(h, 16));
        const b = bytes[0] === 0x9b ? bytes.slice(1) : bytes;
        const same = b[0] === e && b[1] === m;
        if (same) return;
        // Alias encodings reassemble to their canonical twin: same op (or FSTPNCE -> FSTP) and same ST(i).
        const op = decodeFpu(e, m), op2 = decodeFpu(b[0], b[1]);
        // "fadd st0, st0" and friends: nasm picks the DC form, the same operation.
        const st0st0 = e === 0xd8 && (m & 7) === 0 && b[0] === 0xdc;
        const alias = st0st0 || ((b[1] & 7) === (m & 7) && (op === op2 || lines[k].startsWith('fstp st') || lines[k].startsWith('fcom')));
        if (alias && !(opFlags[op] & F_MEM)) aliases++;
        else bad.push(`${e.toString(16)} ${m.toString(16)} "${lines[k]}" -> ${hex}`);
      });
      console.log(`[fpu] nasm round trip: ${encs.length - aliases - bad.length} exact, ${aliases} aliases, ${bad.length} wrong`);
      expect(bad).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
