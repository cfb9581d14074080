// Focused checks of system instructions whose effects are hard to observe
// from a guest transcript: the LSS interrupt shadow, CPUID's APIC bit
// following IA32_APIC_BASE.EN, INVLPG on a large page, SYSENTER outside
// protected mode, and what RDMSR/WRMSR keep.
import { describe, it, expect } from 'vitest';
import { Rig } from './rig.ts';
import { S } from '../../src/x86/state.ts';
import { runInstructions } from '../../src/x86/interpreter.ts';

describe('system instructions', () => {
  it('LSS holds off interrupts for one instruction, like MOV SS', () => {
    const rig = new Rig();
    rig.ram.setUint32(0x3000, 0x8000, true);
    rig.ram.setUint16(0x3004, 0x10, true);
    rig.code('lss esp, [0x3000]\nnop\nhlt');
    runInstructions(rig.cpu, 1);
    expect(rig.st[S.INT_SHADOW]).toBe(1);
    expect(rig.reg(S.ESP)).toBe(0x8000);
  });

  it('CPUID.1:EDX.APIC follows IA32_APIC_BASE.EN', () => {
    const rig = new Rig();
    rig.code(`
      mov eax, 1
      cpuid
      mov esi, edx
      mov ecx, 0x1b
      rdmsr
      and eax, ~0x800
      wrmsr
      mov eax, 1
      cpuid
      hlt`);
    expect(rig.run()).toBeNull();
    expect(rig.reg(S.ESI) & 0x200).toBe(0x200);
    expect(rig.reg(S.EDX) & 0x200).toBe(0);
  });

  it('INVLPG anywhere in a 4 MiB page drops every cached part of it', () => {
    const rig = new Rig();
    const PD = 0x20000;
    rig.ram.setUint32(PD, 0x83, true); // 0-4 MiB identity, PS
    rig.ram.setUint32(PD + 4, 0x400083, true); // 4-8 MiB -> 4 MiB
    rig.ram.setUint32(0x400000, 0x11111111, true);
    rig.ram.setUint32(0x401000, 0x22222222, true);
    rig.ram.setUint32(0x800000, 0x33333333, true);
    rig.ram.setUint32(0x801000, 0x44444444, true);
    rig.code(`
      mov eax, cr4
      or eax, 0x10
      mov cr4, eax
      mov eax, ${PD}
      mov cr3, eax
      mov eax, cr0
      or eax, 0x80000000
      mov cr0, eax
      mov eax, [0x400000]
      mov eax, [0x401000]
      mov dword [${PD + 4}], 0x800083
      invlpg [0x400000]
      mov esi, [0x401000]
      hlt`);
    expect(rig.run()).toBeNull();
    expect(rig.reg(S.ESI)).toBe(0x44444444);
  });

  it('a global page survives a CR3 reload with CR4.PGE; INVLPG drops it', () => {
    const rig = new Rig();
    const PD = 0x20000;
    rig.ram.setUint32(PD, 0x83, true); // 0-4 MiB identity, PS
    rig.ram.setUint32(PD + 4, 0x400183, true); // 4-8 MiB -> 4 MiB, global
    rig.ram.setUint32(0x400000, 0x11111111, true);
    rig.ram.setUint32(0x800000, 0x33333333, true);
    rig.code(`
      mov eax, cr4
      or eax, 0x90                      ; PSE, PGE
      mov cr4, eax
      mov eax, ${PD}
      mov cr3, eax
      mov eax, cr0
      or eax, 0x80000000
      mov cr0, eax
      mov eax, [0x400000]
      mov dword [${PD + 4}], 0x800183
      mov eax, ${PD}
      mov cr3, eax
      mov esi, [0x400000]               ; still the cached global translation
      invlpg [0x400000]
      mov edi, [0x400000]               ; now the new one
      hlt`);
    expect(rig.run()).toBeNull();
    expect(rig.reg(S.ESI)).toBe(0x11111111);
    expect(rig.reg(S.EDI)).toBe(0x33333333);
  });

  it('SYSENTER outside protected mode is #GP(0)', () => {
    const rig = new Rig();
    rig.code(`
      mov ecx, 0x174
      mov eax, 8
      xor edx, edx
      wrmsr
      mov eax, cr0
      and eax, ~1
      mov cr0, eax
      sysenter`);
    expect(rig.run()).toEqual({ vector: 13, errorCode: 0 });
  });

  it('WRMSR to the TSC sets the counter RDTSC reads', () => {
    const rig = new Rig();
    rig.code(`
      mov ecx, 0x10
      mov eax, 0x1000
      mov edx, 0x12
      wrmsr
      rdtsc
      hlt`);
    expect(rig.run()).toBeNull();
    expect(rig.reg(S.EDX)).toBe(0x12);
    expect(rig.reg(S.EAX)).toBeGreaterThanOrEqual(0x1000);
    expect(rig.reg(S.EAX)).toBeLessThan(0x1000 + 1_000_000);
  });
});
