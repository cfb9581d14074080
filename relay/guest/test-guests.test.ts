// The generated guests: encodings of the mini assembler, the ELF/multiboot
// layout QEMU's loader relies on, and (with real QEMU under TCG) that the
// probe guest reaches its exit port. The echo guest is exercised end to end
// in qemu-process.test.ts.

import { describe, expect, it } from 'vitest';
import { CODE_OFFSET, LOAD_ADDRESS } from './multiboot-elf.ts';
import { echoGuestElf, probeGuestElf } from './test-guests.ts';
import { Asm } from './x86-asm.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('Asm', () => {
  it('encodes the instructions the guests use', () => {
    const a = new Asm(0x1000);
    a.movDx(0x3f8).movAl(0x4b).outDxAl().movEax(0x2a).outDxEax().inAlDx().testAl(0x20).lodsb();
    a.cli().sti().hlt().iret().int(0x30).ret().pushEax().popEax().movBlAl().movAlBl().outImmAl(0x21);
    a.movSregAx('ds').movSregAx('ss');
    expect(hex(a.build().image)).toBe(
      '66baf803' + 'b04b' + 'ee' + 'b82a000000' + 'ef' + 'ec' + 'a820' + 'ac' +
        'fa' + 'fb' + 'f4' + 'cf' + 'cd30' + 'c3' + '50' + '58' + '88c3' + '88d8' + 'e621' + '8ed8' + '8ed0',
    );
  });

  it('resolves relative and absolute label references', () => {
    const a = new Asm(0x1000);
    a.label('top').jz('end').jmp('top').call('end').movEsi('data').label('end').ret().label('data').dd('top');
    // Offsets: jz@0 (2 bytes), jmp@2 (5), call@7 (5), mov@12 (5), end@17, data@18.
    // jz +15 to end; jmp -7 back to top; call +5 to end; mov esi, 0x1012; ret; dd 0x1000
    expect(hex(a.build().image)).toBe('740f' + 'e9f9ffffff' + 'e805000000' + 'be12100000' + 'c3' + '00100000');
  });

  it('refuses out-of-range short jumps and unknown labels', () => {
    const far = new Asm(0);
    far.jz('x');
    for (let i = 0; i < 200; i++) far.hlt();
    far.label('x');
    expect(() => far.build()).toThrow(/rel8 to x out of range/);
    expect(() => new Asm(0).jmp('nowhere').build()).toThrow(/undefined label nowhere/);
  });
});

describe('multiboot ELF', () => {
  for (const [name, build] of [['probe', probeGuestElf], ['echo', echoGuestElf]] as const) {
    it(`${name} guest has the layout QEMU's multiboot loader needs`, () => {
      const elf = build();
      const dv = new DataView(elf.buffer, elf.byteOffset, elf.byteLength);
      expect(hex(elf.subarray(0, 4))).toBe('7f454c46');
      expect(elf[4]).toBe(1); // 32-bit: QEMU refuses 64-bit multiboot ELFs
      expect(dv.getUint16(18, true)).toBe(3); // EM_386
      expect(dv.getUint32(24, true)).toBe(LOAD_ADDRESS + CODE_OFFSET); // entry = first code byte
      const mb = CODE_OFFSET - 12;
      expect(mb % 4).toBe(0);
      expect(dv.getUint32(mb, true)).toBe(0x1badb002);
      expect((dv.getUint32(mb, true) + dv.getUint32(mb + 4, true) + dv.getUint32(mb + 8, true)) >>> 0).toBe(0);
      const ph = 52;
      expect(dv.getUint32(ph, true)).toBe(1); // PT_LOAD
      expect(dv.getUint32(ph + 12, true)).toBe(LOAD_ADDRESS); // p_paddr
      expect(dv.getUint32(ph + 16, true)).toBe(elf.length); // p_filesz
      expect(dv.getUint32(ph + 20, true)).toBeGreaterThanOrEqual(elf.length); // p_memsz includes the stack
    });
  }

  it('is generated identically every time (no hidden state)', () => {
    expect(hex(echoGuestElf())).toBe(hex(echoGuestElf()));
  });
});
