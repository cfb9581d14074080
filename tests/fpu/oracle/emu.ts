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
const PAGE_IMAGE = 0x4000; // where the guarded page is kept in the fake memory

/** The fault an access to a PROT_NONE page raises (the harness's SIGSEGV). */
export class GuardFault extends Error {}

/**
 * Memory as the harness process has it: the operand buffer, and the guarded
 * page between two inaccessible pages, at their real addresses; state images
 * low. There is no probeWrite: the FPU's own fallback is what gets tested.
 */
class TestHost implements FpuHost {
  readonly bytes = new Uint8Array(0x10000);
  constructor(private readonly memAddr: number, private readonly pageAddr: number) {}
  private idx(lin: number, n: number): number {
    lin >>>= 0;
    let off = lin;
    if (lin >= this.memAddr && lin < this.memAddr + 0x1000) off = 0x1000 + (lin - this.memAddr);
    else if (this.pageAddr && lin >= this.pageAddr - 0x1000 && lin < this.pageAddr + 0x2000) {
      if (lin < this.pageAddr || lin >= this.pageAddr + 0x1000) throw new GuardFault(`guard page access at ${lin.toString(16)}`);
      off = PAGE_IMAGE + (lin - this.pageAddr);
    }
    if (off < 0 || off + n > this.bytes.length) throw new Error(`test host: access outside memory at ${lin.toString(16)}`);
    return off;
  }
  read8(lin: number): number {
    return this.bytes[this.idx(lin, 1)];
  }
  read16(lin: number): number {
    return this.read8(lin) | (this.read8(lin + 1) << 8);
  }
  read32(lin: number): number {
    return (this.read16(lin) | (this.read16(lin + 2) << 16)) >>> 0;
  }
  write8(lin: number, v: number): void {
    this.bytes[this.idx(lin, 1)] = v;
  }
  // Like the CPU core, one 16/32-bit write checks both ends before writing
  // anything (FpuHost contract); a store made of several writes is the FPU's
  // to make atomic.
  write16(lin: number, v: number): void {
    this.idx(lin + 1, 1);
    this.write8(lin, v);
    this.write8(lin + 1, v >>> 8);
  }
  write32(lin: number, v: number): void {
    this.idx(lin + 3, 1);
    this.write16(lin, v);
    this.write16(lin + 2, v >>> 16);
  }
}

export class Emulator {
  readonly host: TestHost;
  readonly fpu: Fpu;
  constructor(readonly codeAddr: number, readonly memAddr: number, readonly pageAddr = 0) {
    this.host = new TestHost(memAddr, pageAddr);
    const state = new DataView(new ArrayBuffer(1024));
    this.fpu = new Fpu(state, 256, this.host);
    this.fpu.reset();
  }

  run(c: OracleCase): OracleResult {
    const h = this.host, fpu = this.fpu;
    h.bytes.set(c.state, STATE_IMAGE);
    frstor(fpu, STATE_IMAGE, ENV_PROT32);
    h.bytes.set(c.mem, 0x1000);
    // The operand, and the part of it that is accessible ([lo, hi)), as the harness places it.
    const cross = c.cross ?? 0;
    let ea = this.memAddr;
    let lo = 0, hi = c.mem.length;
    if (cross > 0) {
      ea = this.pageAddr + 0x1000 - cross;
      hi = Math.min(cross, c.mem.length);
    } else if (cross < 0) {
      ea = this.pageAddr + cross;
      lo = Math.min(-cross, c.mem.length);
    }
    if (cross && hi > lo) h.bytes.set(c.mem.subarray(lo, hi), PAGE_IMAGE + (ea + lo - this.pageAddr));
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
    // Memory operands are always [eax] = ea.
    this.eflags = eflags;
    try {
      signal = this.exec(c, b, modrm, p, ea, env);
      eflags = this.eflags;
    } catch (x) {
      if (!(x instanceof GuardFault)) throw x;
      signal = 11; // SIGSEGV: the FPU state is compared as the fault left it
    }
    fnsave(fpu, STATE_IMAGE, ENV_PROT32);
    const mem = h.bytes.slice(0x1000, 0x1000 + c.mem.length);
    if (cross && hi > lo) mem.set(h.bytes.subarray(PAGE_IMAGE + (ea + lo - this.pageAddr), PAGE_IMAGE + (ea + hi - this.pageAddr)), lo);
    return { signal, eflags, state: h.bytes.slice(STATE_IMAGE, STATE_IMAGE + FSAVE_SIZE), mem };
  }

  /** EFLAGS in and out of exec. */
  private eflags = 0;

  /** Runs the instruction; returns the signal (0 = none). */
  private exec(c: OracleCase, b: number, modrm: number, p: number, ea: number, env: number): number {
    const fpu = this.fpu;
    let signal = 0;
    if (b >= 0xd8 && b <= 0xdf && decodeFpu(b, modrm) === OP_UD) {
      signal = 4; // SIGILL, as the CPU core raises #UD
    } else if (b >= 0xd8 && b <= 0xdf && !(opFlags[decodeFpu(b, modrm)] & F_NOWAIT) && fpu.pendingUnmaskedException()) {
      signal = 8; // the CPU core's job: #MF / SIGFPE before a waiting instruction
    } else if (b >= 0xd8 && b <= 0xdf) {
      fpu.setContext(USER_CS, this.codeAddr, USER_DS, ea, env);
      const r = fpu.exec(b, modrm, ea, this.eflags);
      if (modrm === 0xe0 && b === 0xdf) {
        /* FNSTSW AX: harness does not report EAX */
      } else this.eflags = r;
    } else if (b === 0x0f && c.code[p + 1] === 0xae) {
      const reg = (c.code[p + 2] >>> 3) & 7;
      if (reg === 0) fpu.fxsave(ea);
      else fpu.fxrstor(ea);
    } else if (b === 0x9b) {
      if (fpu.pendingUnmaskedException()) signal = 8;
    } else {
      throw new Error(`emulator: unsupported test instruction ${b.toString(16)}`);
    }
    return signal;
  }
}
