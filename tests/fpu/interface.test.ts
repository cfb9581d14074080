// The FPU's contract with the CPU core: exceptions surfaced through ES and
// pendingUnmaskedException(), EFLAGS/AX results, image formats that the host
// CPU cannot show us (real-mode environments), m80 round trips, and the
// "all state lives in the 512-byte block" rule.

import { describe, expect, it } from 'vitest';
import { Fpu } from '../../src/x86/fpu/fpu.ts';
import type { FpuHost } from '../../src/x86/fpu/host.ts';
import { ENV_PROT32, ENV_REAL16, ENV_REAL32 } from '../../src/x86/fpu/host.ts';
import { FPU_STATE_SIZE } from '../../src/x86/fpu/layout.ts';
import { F_CONTROL, F_NOWAIT, F_WRITES_AX, F_WRITES_EFLAGS, decodeFpu, opFlags } from '../../src/x86/fpu/decode.ts';
import { Rng, anyValue, x80Bytes } from './gen.ts';

class Ram implements FpuHost {
  readonly b = new Uint8Array(0x10000);
  private readonly dv = new DataView(this.b.buffer);
  read8(a: number) { return this.b[a]; }
  read16(a: number) { return this.dv.getUint16(a, true); }
  read32(a: number) { return this.dv.getUint32(a, true); }
  write8(a: number, v: number) { this.b[a] = v; }
  write16(a: number, v: number) { this.dv.setUint16(a, v, true); }
  write32(a: number, v: number) { this.dv.setUint32(a, v >>> 0, true); }
}

function machine() {
  const ram = new Ram();
  const state = new DataView(new ArrayBuffer(4096));
  const fpu = new Fpu(state, 1024, ram);
  fpu.reset();
  return { ram, fpu, state };
}

const M = 0x100; // a memory operand address

describe('x87 interface', () => {
  it('surfaces an unmasked exception as ES + pendingUnmaskedException(), leaving the destination', () => {
    const { ram, fpu } = machine();
    ram.write16(M, 0x037b); // ZE unmasked
    fpu.exec(0xd9, 0x28, M); // fldcw
    fpu.exec(0xd9, 0xe8, 0); // fld1
    fpu.exec(0xd9, 0xee, 0); // fldz
    expect(fpu.pendingUnmaskedException()).toBe(false);
    fpu.exec(0xde, 0xf9, 0); // fdivp st1, st0: 1 / 0
    expect(fpu.pendingUnmaskedException()).toBe(true);
    const sw = fpu.exec(0xdf, 0xe0, 0); // fnstsw ax (no-wait)
    expect(sw & 0x80ff).toBe(0x8084); // B, ES, ZE
    expect(fpu.top).toBe(6); // not popped
    expect(fpu.se(1)).toBe(0x3fff); // ST1 still 1.0
    fpu.exec(0xdb, 0xe2, 0); // fnclex
    expect(fpu.pendingUnmaskedException()).toBe(false);
    // Unmasking a raised flag makes it pending, as the host does.
    ram.write16(M, 0x037f);
    fpu.exec(0xd9, 0x28, M);
    fpu.exec(0xde, 0xf9, 0); // masked now: ST1 = +inf, pop
    expect(fpu.pendingUnmaskedException()).toBe(false);
    ram.write16(M, 0x037b);
    fpu.exec(0xd9, 0x28, M);
    expect(fpu.pendingUnmaskedException()).toBe(true);
  });

  it('marks waiting, control and result-carrying ops', () => {
    expect(opFlags[decodeFpu(0xdb, 0xe3)] & F_NOWAIT).toBeTruthy(); // fninit
    expect(opFlags[decodeFpu(0xd9, 0x28)] & F_NOWAIT).toBeFalsy(); // fldcw waits
    expect(opFlags[decodeFpu(0xd9, 0x28)] & F_CONTROL).toBeTruthy();
    expect(opFlags[decodeFpu(0xdf, 0xe0)] & F_WRITES_AX).toBeTruthy();
    expect(opFlags[decodeFpu(0xdb, 0xf1)] & F_WRITES_EFLAGS).toBeTruthy();
  });

  it('returns EFLAGS for FCOMI and reads them for FCMOVcc', () => {
    const { fpu } = machine();
    fpu.exec(0xd9, 0xe8, 0); // fld1
    fpu.exec(0xd9, 0xee, 0); // fldz: ST0 = 0, ST1 = 1
    expect(fpu.exec(0xdb, 0xf1, 0, 0x8d5 | 0x200) & 0x8d5).toBe(0x01); // fcomi: 0 < 1 -> CF
    expect(fpu.exec(0xdb, 0xf1, 0, 0x200) & 0x200).toBe(0x200); // other flags kept
    fpu.exec(0xda, 0xc1, 0, 0x000); // fcmovb st0, st1 with CF = 0: no move
    expect(fpu.se(0)).toBe(0);
    fpu.exec(0xda, 0xc1, 0, 0x001); // CF = 1: move
    expect(fpu.se(0)).toBe(0x3fff);
    fpu.exec(0xd9, 0xe8, 0);
    fpu.exec(0xd8, 0xf6, 0); // fdiv st0, st6 (empty): masked underflow -> indefinite
    expect(fpu.exec(0xdf, 0xf0, 0, 0) & 0x45).toBe(0x45); // fcomip with a NaN: unordered
  });

  it('round-trips every 80-bit pattern through FLD m80 / FSTP m80', () => {
    const { ram, fpu } = machine();
    const r = new Rng(80);
    for (let k = 0; k < 20000; k++) {
      const v = k & 1 ? anyValue(r) : { se: r.u32() & 0xffff, hi: r.u32(), lo: r.u32() };
      const b = x80Bytes(v);
      ram.b.set(b, M);
      fpu.exec(0xdb, 0x28, M); // fld tword
      ram.b.fill(0, M + 16, M + 26);
      fpu.exec(0xdb, 0x38, M + 16); // fstp tword
      expect(Array.from(ram.b.slice(M + 16, M + 26))).toEqual(Array.from(b));
    }
    expect(fpu.sw & 0x3f).toBe(0);
  });

  it('writes and reads the real-mode environment formats (linear pointers)', () => {
    const { ram, fpu } = machine();
    ram.write32(M, 0x3f800000);
    fpu.setContext(0x1234, 0x5678, 0x2000, 0x0010, ENV_REAL16);
    fpu.exec(0xd9, 0x00, M); // fld dword [..]: FOP = 0x100
    fpu.exec(0xd9, 0x30, 0x200); // fnstenv (16-bit real)
    const w = (o: number) => ram.read16(0x200 + o);
    expect(w(0)).toBe(0x037f);
    expect(w(6)).toBe(0x79b8); // FIP = 0x12340 + 0x5678 = 0x179b8
    expect(w(8)).toBe((0x1 << 12) | 0x100); // FIP[19:16] << 12 | FOP
    expect(w(10)).toBe(0x0010); // FDP = 0x20000 + 0x10
    expect(w(12)).toBe(0x2 << 12);
    // Reload and store again in the 32-bit real format: same linear pointers.
    fpu.setContext(0, 0, 0, 0, ENV_REAL16);
    fpu.exec(0xd9, 0x20, 0x200); // fldenv
    fpu.setContext(0, 0, 0, 0, ENV_REAL32);
    fpu.exec(0xd9, 0x30, 0x300);
    const d = (o: number) => ram.read32(0x300 + o);
    expect(d(12) & 0xffff).toBe(0x79b8);
    expect(d(16)).toBe((0x1 << 12) | 0x100);
    expect(d(20) & 0xffff).toBe(0x0010);
    expect(d(24)).toBe(0x2 << 12);
    // FSAVE/FRSTOR in the real format round-trip the registers too.
    fpu.setContext(0, 0, 0, 0, ENV_REAL32);
    fpu.exec(0xdd, 0x30, 0x400); // fnsave
    expect(fpu.tw).toBe(0xffff);
    fpu.exec(0xdd, 0x20, 0x400); // frstor
    expect(fpu.se(0)).toBe(0x3fff);
    expect(fpu.hi(0)).toBe(0x80000000);
  });

  it('keeps all state in its 512-byte block (a copy behaves identically)', () => {
    const a = machine();
    const r = new Rng(7);
    for (let k = 0; k < 6; k++) {
      a.ram.b.set(x80Bytes(anyValue(r)), M);
      a.fpu.exec(0xdb, 0x28, M);
    }
    a.fpu.exec(0xd8, 0xc1, 0);
    const b = machine();
    for (let i = 0; i < FPU_STATE_SIZE; i++) b.state.setUint8(1024 + i, a.state.getUint8(1024 + i));
    for (const [esc, m] of [[0xde, 0xc9], [0xd9, 0xfa], [0xd9, 0xfe], [0xde, 0xf9], [0xd9, 0xf8], [0xdd, 0xd9]]) {
      a.fpu.exec(esc, m, 0);
      b.fpu.exec(esc, m, 0);
    }
    for (let i = 0; i < FPU_STATE_SIZE; i++) expect(b.state.getUint8(1024 + i)).toBe(a.state.getUint8(1024 + i));
  });

  it('stores the FXSAVE x87 image with abridged tags and ST(i) slots', () => {
    const { ram, fpu } = machine();
    fpu.setContext(0x08, 0x1000, 0x10, 0x2000, ENV_PROT32);
    fpu.exec(0xd9, 0xe8, 0); // fld1
    fpu.exec(0xd9, 0xeb, 0); // fldpi
    fpu.fxsave(0x800);
    expect(ram.read16(0x800)).toBe(0x037f);
    expect(ram.read8(0x804)).toBe(0xc0); // physical R6, R7 non-empty
    expect(ram.read16(0x806)).toBe(0x1eb); // FOP of fldpi
    expect(ram.read32(0x808)).toBe(0x1000);
    expect(ram.read16(0x800 + 32 + 8)).toBe(0x4000); // ST0 = pi
    expect(ram.read16(0x800 + 48 + 8)).toBe(0x3fff); // ST1 = 1
    fpu.exec(0xdb, 0xe3, 0); // fninit
    fpu.fxrstor(0x800);
    expect(fpu.tw).toBe(0x0fff); // full tags recomputed: both valid
    expect(fpu.se(0)).toBe(0x4000);
  });

  it('probes a page-crossing store before writing any part of it (host probeWrite, or read + write-back)', () => {
    // Page 1 (0x1000..0x1fff) faults on any access; a store ending there must
    // leave memory and the FPU as they were, even with the masked stack
    // underflow of FSTP m80 from an empty ST0.
    class Fault extends Error {}
    const ok = (a: number) => (a & 0xf000) !== 0x1000 || (() => { throw new Fault(); })();
    for (const withProbe of [false, true]) {
      const ram = new Ram();
      const probes: number[][] = [];
      const host: FpuHost = {
        read8: (a) => (ok(a), ram.read8(a)),
        read16: (a) => (ok(a), ok(a + 1), ram.read16(a)),
        read32: (a) => (ok(a), ok(a + 3), ram.read32(a)),
        write8: (a, v) => (ok(a), ram.write8(a, v)),
        write16: (a, v) => (ok(a), ok(a + 1), ram.write16(a, v)),
        write32: (a, v) => (ok(a), ok(a + 3), ram.write32(a, v)),
        ...(withProbe ? { probeWrite: (a: number, n: number) => (probes.push([a, n]), ok(a), ok(a + n - 1), undefined) } : {}),
      };
      const state = new DataView(new ArrayBuffer(4096));
      const fpu = new Fpu(state, 1024, host);
      fpu.reset();
      fpu.setContext(0x23, 0, 0x2b, 0, ENV_PROT32);
      fpu.exec(0xd9, 0xe8, 0); // fld1
      const before = new Uint8Array(state.buffer.slice(0));
      ram.b.fill(0xaa, 0xff0, 0x1000);
      expect(() => fpu.exec(0xdb, 0x38, 0xffa)).toThrow(Fault); // fstp tword [0xffa]: 6 bytes, then the bad page
      expect(() => fpu.exec(0xdd, 0x30, 0xfd0)).toThrow(Fault); // fnsave: 108 bytes from 0xfd0
      expect(() => fpu.exec(0xdf, 0x30, 0xff8)).toThrow(Fault); // fbstp
      expect(() => fpu.exec(0xdd, 0x18, 0xffc)).toThrow(Fault); // fstp qword
      expect([...ram.b.subarray(0xff0, 0x1000)].every((v) => v === 0xaa)).toBe(true);
      expect(new Uint8Array(state.buffer)).toEqual(before);
      fpu.exec(0xdb, 0x38, 0xff6); // the same store just below the page: fine
      expect(ram.read16(0xffe)).toBe(0x3fff);
      if (withProbe) expect(probes).toEqual([[0xffa, 10], [0xfd0, 108], [0xff8, 10], [0xffc, 8]]);
    }
  });
});
