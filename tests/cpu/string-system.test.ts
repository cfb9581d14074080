// String-instruction behaviour the host differential cannot reach from a
// Linux process: 16-bit addressing, faults part-way through a REP (segment
// limits and page faults), the bounded work per execution and its resume,
// single-step traps per iteration, self-modifying stores into decoded code,
// MMIO pages, and INS/OUTS against a port device. Each test runs ts86 on a
// bare machine and checks the architectural result the SDM defines.
import { describe, expect, it } from 'vitest';
import { Machine } from '../../src/machine/machine.ts';
import { S, Seg, FLAG_DF, FLAG_TF, CR0_PG } from '../../src/x86/state.ts';
import { runInstructions } from '../../src/x86/interpreter.ts';
import type { Cpu } from '../../src/x86/cpu.ts';
import { getZF } from '../../src/x86/flags.ts';
import { loadFlat32Segments } from '../support/flat32.ts';

const CODE = 0x1000;

/** A CPL-0 machine: flat 32-bit protected mode (default) or real mode. */
function machine(mode: 'flat32' | 'real' = 'flat32'): { m: Machine; cpu: Cpu; st: Int32Array; ram: Uint8Array } {
  const m = new Machine({ memoryMiB: 16, clock: 'deterministic' });
  const cpu = m.cpu;
  const st = cpu.st;
  if (mode === 'flat32') {
    loadFlat32Segments(st);
  } else {
    for (let s = 0; s < 6; s++) {
      st[S.SEG_SEL + s] = 0;
      st[S.SEG_BASE + s] = 0;
    }
  }
  st[S.EIP] = CODE;
  st[S.ESP] = 0x8000;
  cpu.updateMode();
  cpu.flushTlb(true);
  return { m, cpu, st, ram: m.views.ram8 };
}

/** Loads code at CODE followed by HLT and runs until HLT or an exception (returned, -1 for none). */
function run(cpu: Cpu, code: number[], maxExec = 100_000): { vector: number; executions: number } {
  cpu.views.ram8.set([...code, 0xf4], CODE);
  let vector = -1;
  cpu.exceptionTrap = (v) => { vector = v; return true; };
  let executions = 0;
  while (cpu.st[S.HALTED] === 0 && vector < 0 && executions < maxExec) {
    cpu.stopRequested = false;
    executions += runInstructions(cpu, 1);
  }
  cpu.exceptionTrap = null;
  return { vector, executions };
}

function fillRandom(ram: Uint8Array, at: number, len: number, seed: number): void {
  let s = seed;
  for (let k = 0; k < len; k++) {
    s = (s * 1103515245 + 12345) >>> 0;
    ram[at + k] = s >>> 24;
  }
}

describe('string instructions: addressing and faults', () => {
  it('16-bit addressing wraps SI within 64 KiB and keeps the high halves', () => {
    const { cpu, st, ram } = machine('real');
    st[S.SEG_BASE + Seg.DS] = 0x10000;
    st[S.SEG_SEL + Seg.DS] = 0x1000;
    ram.set([1, 2], 0x1fffe);
    ram.set([3, 4], 0x10000);
    st[S.ESI] = 0x1234fffe;
    st[S.EDI] = 0x56780100;
    st[S.ECX] = 0xabcd0004 | 0;
    expect(run(cpu, [0xf3, 0xa4]).vector).toBe(-1); // rep movsb
    expect([...ram.subarray(0x100, 0x104)]).toEqual([1, 2, 3, 4]);
    expect(st[S.ESI] >>> 0).toBe(0x12340002);
    expect(st[S.EDI] >>> 0).toBe(0x56780104);
    expect(st[S.ECX] >>> 0).toBe(0xabcd0000);
  });

  it('REP with CX = 0 does nothing, whatever the high half of ECX', () => {
    const { cpu, st, ram } = machine('real');
    st[S.ECX] = 0x00050000;
    st[S.EDI] = 0x200;
    st[S.EAX] = 0x77;
    expect(run(cpu, [0xf3, 0xaa]).vector).toBe(-1); // rep stosb (16-bit addressing)
    expect(ram[0x200]).toBe(0);
    expect(st[S.ECX]).toBe(0x00050000);
  });

  it('a segment-limit fault part-way leaves the registers after the completed elements', () => {
    for (const size of [1, 4]) {
      const { cpu, st, ram } = machine();
      st[S.SEG_LIMIT + Seg.ES] = 0x2fff;
      fillRandom(ram, 0x5000, 64, 1);
      st[S.ESI] = 0x5000;
      st[S.EDI] = 0x3000 - 3 * size; // three elements fit below the limit
      st[S.ECX] = 10;
      const op = size === 1 ? 0xa4 : 0xa5;
      expect(run(cpu, [0xf3, op]).vector).toBe(13);
      expect(st[S.ECX]).toBe(7);
      expect(st[S.ESI]).toBe(0x5000 + 3 * size);
      expect(st[S.EDI]).toBe(0x3000);
      expect(st[S.EIP]).toBe(CODE);
      expect([...ram.subarray(0x3000 - 3 * size, 0x3000)]).toEqual([...ram.subarray(0x5000, 0x5000 + 3 * size)]);
    }
  });

  it('a page fault part-way (bulk path) reports CR2 and leaves the completed elements done', () => {
    const { cpu, st, ram } = machine();
    // Identity-map the first 4 MiB with 4 KiB pages, page 0x21 not present.
    const pd = 0x10000, pt = 0x11000;
    const dv = new DataView(ram.buffer, ram.byteOffset);
    dv.setUint32(pd, pt | 3, true);
    for (let p = 0; p < 1024; p++) dv.setUint32(pt + 4 * p, p === 0x21 ? 0 : (p << 12) | 3, true);
    st[S.CR + 3] = pd;
    st[S.CR] |= CR0_PG;
    cpu.updateMode();
    cpu.flushTlb(true);
    fillRandom(ram, 0x30000, 0x2000, 2);
    st[S.ESI] = 0x30000;
    st[S.EDI] = 0x20000 + 0x100; // 0xf00 bytes fit before the missing page
    st[S.ECX] = 0x1000;
    expect(run(cpu, [0xf3, 0xa4]).vector).toBe(14);
    expect(st[S.CR + 2]).toBe(0x21000);
    expect(st[S.ECX]).toBe(0x100);
    expect(st[S.EDI]).toBe(0x21000);
    expect(st[S.ESI]).toBe(0x30f00);
    expect([...ram.subarray(0x20100, 0x21000)]).toEqual([...ram.subarray(0x30000, 0x30f00)]);
  });
});

describe('string instructions: long repeats', () => {
  it('a large REP MOVSD takes the bulk path: few executions, same result as per element', () => {
    const { cpu, st, ram } = machine();
    fillRandom(ram, 0x100000, 0x100000, 3);
    st[S.ESI] = 0x100000;
    st[S.EDI] = 0x300002; // misaligned destination
    st[S.ECX] = 0x40000;
    const { vector, executions } = run(cpu, [0xf3, 0xa5]);
    expect(vector).toBe(-1);
    expect(st[S.ECX]).toBe(0);
    expect(st[S.EDI]).toBe(0x400002);
    expect(Buffer.compare(ram.subarray(0x300002, 0x400002), ram.subarray(0x100000, 0x200000))).toBe(0);
    // 1 MiB in a few bounded slices (plus the HLT), not 256 per-element slices.
    expect(executions).toBeGreaterThan(2);
    expect(executions).toBeLessThan(16);
  });

  it('REP STOSD downward, unaligned, also takes the bulk path', () => {
    const { cpu, st, ram } = machine();
    st[S.EFLAGS] |= FLAG_DF;
    st[S.EDI] = 0x2ffffd;
    st[S.ECX] = 100_000;
    st[S.EAX] = 0x01020304;
    const { vector, executions } = run(cpu, [0xf3, 0xab]);
    expect(vector).toBe(-1);
    expect(executions).toBeLessThan(6);
    expect(st[S.EDI]).toBe(0x2ffffd - 400_000);
    expect([...ram.subarray(0x2ffffd, 0x300001)]).toEqual([4, 3, 2, 1]);
    expect([...ram.subarray(0x2ffffd - 4 * 99_999, 0x2ffffd - 4 * 99_998)]).toEqual([4, 3, 2, 1]);
    expect(ram[0x2ffffd - 4 * 99_999 - 1]).toBe(0);
  });

  it('a long per-element REP is split into bounded executions that resume exactly', () => {
    const { cpu, st, ram } = machine();
    // 100 000 equal dwords, then a different one: REPE SCASD stops just after it.
    new Uint32Array(ram.buffer, ram.byteOffset + 0x100000, 100_001).fill(0xcafe);
    new DataView(ram.buffer, ram.byteOffset).setUint32(0x100000 + 4 * 100_000, 0xbeef, true);
    st[S.EDI] = 0x100000;
    st[S.ECX] = 150_000;
    st[S.EAX] = 0xcafe;
    const { vector, executions } = run(cpu, [0xf3, 0xaf]);
    expect(vector).toBe(-1);
    expect(executions).toBeGreaterThan(20);
    expect(st[S.ECX]).toBe(150_000 - 100_001);
    expect(st[S.EDI]).toBe(0x100000 + 4 * 100_001);
    expect(getZF(st)).toBe(0);
  });

  it('under TF every iteration traps with the return address at the instruction', () => {
    const { cpu, st } = machine();
    st[S.EFLAGS] |= FLAG_TF;
    st[S.EDI] = 0x3000;
    st[S.ECX] = 50;
    const { vector } = run(cpu, [0xf3, 0xaa]);
    // The single-step #DB is a trap after one iteration; the REP is not finished,
    // so the return address is the instruction itself.
    expect(vector).toBe(1);
    expect(st[S.EIP]).toBe(CODE);
    expect(st[S.ECX]).toBe(49);
    expect(st[S.EDI]).toBe(0x3001);
  });

  it('REPE CMPSB stops at the first difference; REPNE SCASB at the first match', () => {
    const { cpu, st, ram } = machine();
    ram.set([5, 6, 7, 8, 9], 0x20000);
    ram.set([5, 6, 7, 0, 9], 0x21000);
    st[S.ESI] = 0x20000;
    st[S.EDI] = 0x21000;
    st[S.ECX] = 5;
    run(cpu, [0xf3, 0xa6, 0xbf, 0x00, 0x00, 0x02, 0x00, 0xb9, 0x05, 0x00, 0x00, 0x00, 0xb0, 0x07, 0xf2, 0xae]);
    // After REPE CMPSB: 4 compared (stopped at 8 vs 0); then EDI=0x20000, ECX=5, AL=7, REPNE SCASB.
    expect(st[S.ESI]).toBe(0x20004);
    expect(st[S.ECX]).toBe(2);
    expect(st[S.EDI]).toBe(0x20003);
  });
});

describe('string instructions: code pages, MMIO and ports', () => {
  for (const [name, code] of [['rep stosb', [0xf3, 0xaa]], ['rep movsb', [0xf3, 0xa4]], ['rep stosb std', [0xfd, 0xf3, 0xaa, 0xfc]]] as const) {
    it(`${name} over decoded code is seen by the next instruction`, () => {
      const { cpu, st, ram } = machine();
      const down = name.endsWith('std');
      const after = CODE + code.length; // the MOV below, which the store turns into NOPs
      ram.fill(0x90, 0x20000, 0x20010);
      st[S.ESI] = 0x20000;
      st[S.EDI] = down ? after + 4 : after;
      st[S.ECX] = 5;
      st[S.EAX] = 0x90;
      // mov eax, 0x11111111 after the store; decoded in the same block before it runs.
      run(cpu, [...code, 0xb8, 0x11, 0x11, 0x11, 0x11]);
      expect(st[S.EAX]).toBe(0x90);
    });
  }

  it('REP MOVSD and REP STOSD to and from an MMIO page go through the device, element by element', () => {
    const { m, cpu, st, ram } = machine();
    const writes: [number, number, number][] = [];
    m.bus.registerMmio(0x500000, 0x1000, 'probe', {
      read: (off) => 0x1000 + off,
      write: (off, size, v) => { writes.push([off, size, v >>> 0]); },
    });
    ram.set([1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0], 0x20000);
    st[S.ESI] = 0x20000;
    st[S.EDI] = 0x500010;
    st[S.ECX] = 3;
    run(cpu, [0xf3, 0xa5, 0xbe, 0x00, 0x00, 0x50, 0x00, 0xbf, 0x00, 0x00, 0x03, 0x00, 0xb9, 0x02, 0x00, 0x00, 0x00, 0xf3, 0xa5]);
    expect(writes).toEqual([[0x10, 4, 1], [0x14, 4, 2], [0x18, 4, 3]]);
    // mov esi, 0x500000; mov edi, 0x30000; mov ecx, 2; rep movsd: reads through the device.
    expect([...ram.subarray(0x30000, 0x30008)]).toEqual([0x00, 0x10, 0, 0, 0x04, 0x10, 0, 0]);
  });

  it('REP INSW and REP OUTSB move data through the port, DX fixed', () => {
    const { m, cpu, st, ram } = machine();
    let next = 0x1234;
    const out: number[] = [];
    m.bus.registerPorts(0x300, 2, 'probe', {
      read16: () => next++,
      write8: (_p, v) => { out.push(v); },
    });
    st[S.EDX] = 0x300;
    st[S.EDI] = 0x20000;
    st[S.ECX] = 3;
    ram.set([9, 8, 7], 0x21000);
    // rep insw; mov esi, 0x21000; mov ecx, 3; rep outsb
    run(cpu, [0x66, 0xf3, 0x6d, 0xbe, 0x00, 0x10, 0x02, 0x00, 0xb9, 0x03, 0x00, 0x00, 0x00, 0xf3, 0x6e]);
    expect([...ram.subarray(0x20000, 0x20006)]).toEqual([0x34, 0x12, 0x35, 0x12, 0x36, 0x12]);
    expect(st[S.EDI]).toBe(0x20006);
    expect(out).toEqual([9, 8, 7]);
  });
});
