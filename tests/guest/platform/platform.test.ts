// Bare-metal platform kernels (tests/guest/asm/platform) run under `ts86 run`
// and under qemu-system-i386 -kernel: each has an expected transcript, and the
// two machines must print the same and exit the same.
//
// QEMU runs with -vga none -nic none, so its PCI bus holds only the chipset;
// it still has the PIIX3 IDE function 00:01.1, which this board does not, so
// that one line is removed from QEMU's PCI transcript before comparing.
import { describe, it, expect } from 'vitest';
import { buildPlatformKernel, runPlatformTs86, runPlatformQemu } from './kernels.ts';

interface Case {
  kernel: string;
  status: number;
  expected: string;
  ts86Args?: string[];
  qemuArgs?: string[];
  /** Lines of QEMU's transcript that describe hardware this board does not have. */
  qemuOnly?: RegExp;
}

const CASES: Case[] = [
  {
    kernel: 'pic-pit',
    status: (0x10 << 1) | 1,
    expected: [
      'pit status 34',
      'ticks 10',
      'isr in handler 01',
      'irr masked 01',
      'delivered on unmask 01',
      'ch0 count in range 01',
      'pic-pit done',
    ].join('\n') + '\n',
  },
  {
    kernel: 'pic-rtc',
    status: (0x11 << 1) | 1,
    expected: [
      'reg a 26 reg b 02 reg d 80',
      'date bcd valid 01 century 20',
      'periodic irqs 64, reg c c0',
      'update irqs one second apart 01',
      'pic-rtc done',
    ].join('\n') + '\n',
  },
  {
    kernel: 'apic',
    status: (0x12 << 1) | 1,
    expected: [
      'lapic version 14 max lvt >= 5 01',
      'one-shot counting 01',
      'one-shot ticks 01 ccr 00000000',
      'periodic ticks 10',
      'held by tpr 00 ppr 70',
      'ipi order 00005060',
      'ioapic max entry 17',
      'pit via ioapic pin 2 ticks 10',
      'level irq1: remote irr in handler 01 byte 5a remote irr after eoi 00',
      'apic done',
    ].join('\n') + '\n',
  },
  {
    kernel: 'pci',
    status: (0x13 << 1) | 1,
    qemuOnly: /^00:01\.1 8086:7010 .*\n/m,
    expected: [
      'config address 80000000',
      '00:00.0 8086:1237 class 00060000 header 00 pin 00',
      '00:01.0 8086:7000 class 00060100 header 80 pin 00',
      '00:01.3 8086:7113 class 00068000 header 00 pin 01',
      'pirq 0b0b0a0a elcr 000c',
      'pm base 0601 enabled 01 sci line 09',
      'word at 01.0+2 7000 byte at +1 80',
      'bus 1 ffffffff',
      'pci done',
    ].join('\n') + '\n',
  },
  {
    kernel: 'acpi',
    status: 0,
    expected: [
      'rsdp found, checksum ok',
      'fadt ok, pm1a_cnt 0604 sci 0009 pm timer 0608',
      's5 slp_typ 00',
      'acpi enabled, powering off',
    ].join('\n') + '\n',
  },
  {
    kernel: 'reset',
    status: 0,
    ts86Args: ['--append', 'reset cf9'],
    qemuArgs: ['-append', 'reset cf9'],
    expected: 'reset via 0xcf9\n',
  },
  {
    kernel: 'reset',
    status: 0,
    ts86Args: ['--append', 'reset kbc'],
    qemuArgs: ['-append', 'reset kbc'],
    expected: 'reset via the keyboard controller\n',
  },
];

describe('platform kernels under ts86 and QEMU', () => {
  for (const c of CASES) {
    const label = c.ts86Args ? `${c.kernel} (${c.ts86Args.join(' ')})` : c.kernel;
    it(`${label}: expected transcript under ts86, same as qemu-system-i386`, async () => {
      const elf = buildPlatformKernel(c.kernel);
      const [ours, qemu] = await Promise.all([runPlatformTs86(elf, c.ts86Args), runPlatformQemu(elf, c.qemuArgs)]);
      expect(ours.stdout).toBe(c.expected);
      expect(ours.status).toBe(c.status);
      const qemuOut = c.qemuOnly ? qemu.stdout.replace(c.qemuOnly, '') : qemu.stdout;
      expect(ours.stdout).toBe(qemuOut);
      expect(ours.status).toBe(qemu.status);
    });
  }
});
