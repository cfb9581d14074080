// Runs oracle cases (see harness.c) through the ts86 FPU instead of the host
// CPU: same inputs, same outputs, so results compare byte for byte.

import { Fpu } from '../../../src/x86/fpu/fpu.ts';
import type { FpuHost } from '../../../src/x86/fpu/host.ts';
import { ENV_PROT16, ENV_PROT32 } from '../../../src/x86/fpu/host.ts';
import { frstor, fnsave } from '../../../src/x86/fpu/env.ts';
import { F_NOWAIT, OP_UD, decodeFpu, opFlags } from '../../../src/x86/fpu/decode.ts';
import type { OracleCase, OracleResult } from './native.ts';
import { FSAVE_SIZE } from './native.ts';

/** Selectors the harness process runs with (Linux i386 user CS/DS). */
export const USER_CS = 0x23;
export const USER_DS = 0x2b;

const STATE_IMAGE = 0x100; // where the FSAVE image is staged in the fake memory

class TestHost implements FpuHost {
  readonly bytes = new Uint8Array(0x10000);
  constructor(private readonly memAddr: number) {}
  private idx(lin: number, n: number): number {
    // The operand buffer lives at the harness's real address; state images low.
    const off = lin >= this.memAddr && lin < this.memAddr + 0x1000 ? 0x1000 + (lin - this.memAddr) : lin;
    if (off < 0 || off + n > this.bytes.length) throw new Error(`test host: access outside memory at ${lin.toString(16)}`);
    return off;
  }
  read8(lin: number): number {
    return this.bytes[this.idx(lin, 1)];
  }
  read16(lin: number): number {
    const o = this.idx(lin, 2);
    return this.bytes[o] | (this.bytes[o + 1] << 8);
  }
  read32(lin: number): number {
    const o = this.idx(lin, 4);
    return (this.bytes[o] | (this.bytes[o + 1] << 8) | (this.bytes[o + 2] << 16) | (this.bytes[o + 3] << 24)) >>> 0;
  }
  write8(lin: number, v: number): void {
    this.bytes[this.idx(lin, 1)] = v;
  }
  write16(lin: number, v: number): void {
    const o = this.idx(lin, 2);
    this.bytes[o] = v;
    this.bytes[o + 1] = v >>> 8;
  }
  write32(lin: number, v: number): void {
    const o = this.idx(lin, 4);
    this.bytes[o] = v;
    this.bytes[o + 1] = v >>> 8;
    this.bytes[o + 2] = v >>> 16;
    this.bytes[o + 3] = v >>> 24;
  }
}

export class Emulator {
  readonly host: TestHost;
  readonly fpu: Fpu;
  constructor(readonly codeAddr: number, readonly memAddr: number) {
    this.host = new TestHost(memAddr);
    const state = new DataView(new ArrayBuffer(1024));
    this.fpu = new Fpu(state, 256, this.host);
    this.fpu.reset();
  }

  run(c: OracleCase): OracleResult {
    const h = this.host, fpu = this.fpu;
    h.bytes.set(c.state, STATE_IMAGE);
    frstor(fpu, STATE_IMAGE, ENV_PROT32);
    h.bytes.set(c.mem, 0x1000);
    let eflags = c.eflags;
    let signal = 0;
    let p = 0;
    let env = ENV_PROT32;
    if (c.code[p] === 0x66) {
      env = ENV_PROT16;
      p++;
    }
    const b = c.code[p];
    const modrm = c.code[p + 1];
    // Memory operands are always [eax] = the buffer.
    const ea = this.memAddr;
    if (b >= 0xd8 && b <= 0xdf && decodeFpu(b, modrm) === OP_UD) {
      signal = 4; // SIGILL, as the CPU core raises #UD
    } else if (b >= 0xd8 && b <= 0xdf && !(opFlags[decodeFpu(b, modrm)] & F_NOWAIT) && fpu.pendingUnmaskedException()) {
      signal = 8; // the CPU core's job: #MF / SIGFPE before a waiting instruction
    } else if (b >= 0xd8 && b <= 0xdf) {
      fpu.setContext(USER_CS, this.codeAddr, USER_DS, ea, env);
      const r = fpu.exec(b, modrm, ea, eflags);
      if (modrm === 0xe0 && b === 0xdf) {
        /* FNSTSW AX: harness does not report EAX */
      } else eflags = r;
    } else if (b === 0x0f && c.code[p + 1] === 0xae) {
      const reg = (c.code[p + 2] >>> 3) & 7;
      if (reg === 0) fpu.fxsave(ea);
      else fpu.fxrstor(ea);
    } else if (b === 0x9b) {
      if (fpu.pendingUnmaskedException()) signal = 8;
    } else {
      throw new Error(`emulator: unsupported test instruction ${b.toString(16)}`);
    }
    fnsave(fpu, STATE_IMAGE, ENV_PROT32);
    return {
      signal,
      eflags,
      state: h.bytes.slice(STATE_IMAGE, STATE_IMAGE + FSAVE_SIZE),
      mem: h.bytes.slice(0x1000, 0x1000 + c.mem.length),
    };
  }
}
