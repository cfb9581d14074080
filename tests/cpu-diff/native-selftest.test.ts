// Proves the oracle: hand-written snippets run through the native harness must give the
// results the SDM says they give. If these fail, every cpu-diff verdict is meaningless.
import { beforeAll, describe, expect, it } from 'vitest';
import { assembleAll } from './lib/assemble.ts';
import type { MachineInput, NativeResult, WindowPatch } from './lib/batch-format.ts';
import { AF, CF, CODE_BASE, DF, OF, PF, SF, VEC, VECTOR_NONE, VECTOR_TIMEOUT, WINDOW_BASE, WINDOW_SIZE, ZF } from './lib/layout.ts';
import { runNative } from './lib/native.ts';
import { windowBytes } from './lib/rng.ts';
import { FSAVE, fsaveDefault, readExtended, writeExtended } from './lib/x87-image.ts';

interface Probe {
  name: string;
  lines: string[];
  regs?: Partial<Record<'eax' | 'ecx' | 'edx' | 'ebx' | 'esp' | 'ebp' | 'esi' | 'edi', number>>;
  eflags?: number;
  patches?: WindowPatch[];
  fpu?: Uint8Array;
}

const STACK = WINDOW_BASE + 0x800;
const SEED = 0x1234567;

const probes: Probe[] = [
  { name: 'add', lines: ['add eax, ebx'], regs: { eax: 0x7fffffff, ebx: 1 } },
  { name: 'add-carry', lines: ['add eax, ebx'], regs: { eax: 0xffffffff, ebx: 1 }, eflags: SF | OF },
  { name: 'div0', lines: ['inc eax', 'div ecx'], regs: { eax: 5, ecx: 0 } },
  { name: 'div-overflow', lines: ['div ecx'], regs: { eax: 0, edx: 2, ecx: 2 } },
  { name: 'ud2', lines: ['nop', 'ud2'] },
  { name: 'lock-reg', lines: ['lock add ebx, eax'] },
  { name: 'unmapped-write', lines: ['mov dword [0x300000], 1'] },
  { name: 'unmapped-read', lines: ['mov eax, [ebx]'], regs: { ebx: WINDOW_BASE + WINDOW_SIZE } },
  { name: 'window-read', lines: ['mov eax, [ebx+4]'], regs: { ebx: WINDOW_BASE } },
  { name: 'patched-read', lines: ['mov eax, [ebx]'], regs: { ebx: WINDOW_BASE + 16 }, patches: [{ offset: 16, bytes: new Uint8Array([1, 2, 3, 4]) }] },
  { name: 'push', lines: ['push eax'], regs: { eax: 0xdeadbeef } },
  { name: 'rep-stosb-fault', lines: ['rep stosb'], regs: { eax: 0xab, ecx: 10, edi: WINDOW_BASE + WINDOW_SIZE - 6 } },
  { name: 'std', lines: ['std'] },
  { name: 'into', lines: ['into', 'nop'], eflags: OF },
  { name: 'bound', lines: ['bound eax, [ebx]'], regs: { eax: 100, ebx: WINDOW_BASE }, patches: [{ offset: 0, bytes: new Uint8Array([0, 0, 0, 0, 10, 0, 0, 0]) }] },
  { name: 'jcc-both-paths', lines: ['jz .t', 'lea eax, [eax+1]', '.t:'], regs: { eax: 7 }, eflags: ZF },
  { name: 'ret-to-end', lines: ['ret'] },
  { name: 'fpu', lines: ['fld1', 'fadd st0, st0'] },
  { name: 'fpu-image-in', lines: ['fadd st0, st0'], fpu: fpuWithSt0(1.5) },
  { name: 'fpu-mf', lines: ['fldz', 'fld1', 'fdiv st0, st1', 'fwait'], fpu: fpuWithControl(0x037f & ~0x4) },
  { name: 'timeout', lines: ['jmp $'] },
  { name: 'after-timeout', lines: ['mov eax, 42'] },
];

function fpuWithSt0(v: number): Uint8Array {
  const img = fsaveDefault();
  const view = new DataView(img.buffer);
  view.setUint16(FSAVE.FSW, 7 << 11, true); // TOP = 7
  view.setUint16(FSAVE.FTW, 0x3fff, true); // physical register 7 valid, the rest empty
  writeExtended(img, FSAVE.ST0, v);
  return img;
}

function fpuWithControl(fcw: number): Uint8Array {
  const img = fsaveDefault();
  new DataView(img.buffer).setUint16(FSAVE.FCW, fcw, true);
  return img;
}

function input(p: Probe, code: Uint8Array): MachineInput {
  const r = { eax: 0, ecx: 0, edx: 0, ebx: 0, esp: STACK, ebp: 0, esi: 0, edi: 0, ...p.regs };
  return {
    code,
    regs: Uint32Array.of(r.eax, r.ecx, r.edx, r.ebx, r.esp, r.ebp, r.esi, r.edi),
    eflags: 0x2 | (p.eflags ?? 0),
    windowSeed: SEED,
    patches: p.patches ?? [],
    fpu: p.fpu,
  };
}

describe('native oracle self-test', () => {
  const res = new Map<string, { code: Uint8Array; out: NativeResult; in: MachineInput }>();
  const get = (name: string) => {
    const r = res.get(name);
    if (!r) throw new Error(`no result for ${name}`);
    return r;
  };

  beforeAll(() => {
    const asm = assembleAll(probes.map((p) => p.lines));
    const inputs = probes.map((p, i) => {
      const a = asm[i]!;
      if (!a.ok) throw new Error(`${p.name}: ${a.error}`);
      return input(p, a.bytes);
    });
    // ret-to-end needs the end address on the stack.
    const retIdx = probes.findIndex((p) => p.name === 'ret-to-end');
    const retIn = inputs[retIdx]!;
    const end = new Uint8Array(4);
    new DataView(end.buffer).setUint32(0, CODE_BASE + retIn.code.length, true);
    inputs[retIdx] = { ...retIn, patches: [{ offset: STACK - WINDOW_BASE, bytes: end }] };
    // All probes run in ONE process, so recovery after faults and timeouts is exercised too.
    const outs = runNative(inputs);
    probes.forEach((p, i) => res.set(p.name, { code: inputs[i]!.code, out: outs[i]!, in: inputs[i]! }));
  });

  it('add eax, ebx: result and all six arithmetic flags', () => {
    const { out, code } = get('add');
    expect(out.vector).toBe(VECTOR_NONE);
    expect(out.regs[0]).toBe(0x80000000);
    expect(out.eflags & (CF | PF | AF | ZF | SF | OF)).toBe(PF | AF | SF | OF);
    expect(out.eip).toBe(CODE_BASE + code.length);
    const c = get('add-carry').out;
    expect(c.regs[0]).toBe(0);
    expect(c.eflags & (CF | PF | AF | ZF | SF | OF)).toBe(CF | PF | AF | ZF);
  });

  it('div by zero and quotient overflow are #DE at the div, after earlier instructions retired', () => {
    const { out } = get('div0');
    expect(out.vector).toBe(VEC.DE);
    expect(out.eip).toBe(CODE_BASE + 1);
    expect(out.regs[0]).toBe(6);
    expect(get('div-overflow').out.vector).toBe(VEC.DE);
    expect(get('div-overflow').out.eip).toBe(CODE_BASE);
  });

  it('ud2 and LOCK on a register operand are #UD', () => {
    expect(get('ud2').out.vector).toBe(VEC.UD);
    expect(get('ud2').out.eip).toBe(CODE_BASE + 1);
    expect(get('lock-reg').out.vector).toBe(VEC.UD);
    expect(get('lock-reg').out.eip).toBe(CODE_BASE);
  });

  it('unmapped accesses are #PF with the page-fault error code', () => {
    const w = get('unmapped-write').out;
    expect(w.vector).toBe(VEC.PF);
    expect(w.errorCode & 7).toBe(6); // not present, write, user
    expect(w.faultAddress).toBe(0x300000);
    const r = get('unmapped-read').out;
    expect(r.vector).toBe(VEC.PF);
    expect(r.errorCode & 7).toBe(4); // not present, read, user
    expect(r.faultAddress).toBe(WINDOW_BASE + WINDOW_SIZE);
  });

  it('the window starts as the seeded fill plus patches', () => {
    const fill = new DataView(windowBytes(SEED, WINDOW_SIZE).buffer);
    expect(get('window-read').out.regs[0]).toBe(fill.getUint32(4, true));
    expect(get('patched-read').out.regs[0]).toBe(0x04030201);
  });

  it('push writes the window through ESP', () => {
    const { out } = get('push');
    expect(out.regs[4]).toBe(STACK - 4);
    expect(new DataView(out.window.buffer).getUint32(STACK - 4 - WINDOW_BASE, true)).toBe(0xdeadbeef);
    const before = windowBytes(SEED, WINDOW_SIZE);
    let changed = 0;
    for (let i = 0; i < WINDOW_SIZE; i++) if (before[i] !== out.window[i]) changed++;
    expect(changed).toBeLessThanOrEqual(4);
  });

  it('rep stosb faulting at the window end leaves the completed iterations', () => {
    const { out } = get('rep-stosb-fault');
    expect(out.vector).toBe(VEC.PF);
    expect(out.eip).toBe(CODE_BASE);
    expect(out.regs[1]).toBe(4);
    expect(out.regs[7]).toBe(WINDOW_BASE + WINDOW_SIZE);
    expect(Array.from(out.window.subarray(WINDOW_SIZE - 6))).toEqual([0xab, 0xab, 0xab, 0xab, 0xab, 0xab]);
  });

  it('EFLAGS round-trip: DF set by the snippet is reported', () => {
    expect(get('std').out.eflags & DF).toBe(DF);
  });

  it('into (trap) reports the next EIP, bound (fault) the instruction', () => {
    expect(get('into').out.vector).toBe(VEC.OF);
    expect(get('into').out.eip).toBe(CODE_BASE + 1);
    expect(get('bound').out.vector).toBe(VEC.BR);
    expect(get('bound').out.eip).toBe(CODE_BASE);
  });

  it('a conditional branch inside the snippet reaches the end on the taken path', () => {
    const { out, code } = get('jcc-both-paths');
    expect(out.regs[0]).toBe(7);
    expect(out.eip).toBe(CODE_BASE + code.length);
  });

  it('ret to the end address stops normally with ESP popped', () => {
    expect(get('ret-to-end').out.vector).toBe(VECTOR_NONE);
    expect(get('ret-to-end').out.regs[4]).toBe(STACK + 4);
  });

  it('x87: FSAVE image out, and FRSTOR of a given image in', () => {
    const a = get('fpu').out.fpu;
    const view = new DataView(a.buffer);
    expect((view.getUint16(FSAVE.FSW, true) >> 11) & 7).toBe(7);
    expect(readExtended(a, FSAVE.ST0)).toBe(2);
    expect(view.getUint16(FSAVE.FTW, true)).toBe(0x3fff);
    expect(readExtended(get('fpu-image-in').out.fpu, FSAVE.ST0)).toBe(3);
  });

  it('an unmasked x87 exception is #MF at the next waiting instruction', () => {
    const { out } = get('fpu-mf');
    expect(out.vector).toBe(VEC.MF);
    expect(out.eip).toBe(CODE_BASE + get('fpu-mf').code.length - 1);
    expect(new DataView(out.fpu.buffer).getUint16(FSAVE.FSW, true) & 0x84).toBe(0x84); // ES and ZE
  });

  it('a snippet that never ends is stopped by the watchdog and the next case still runs', () => {
    expect(get('timeout').out.vector).toBe(VECTOR_TIMEOUT);
    expect(get('after-timeout').out.regs[0]).toBe(42);
  });
});
