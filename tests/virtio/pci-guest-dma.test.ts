// Device DMA into guest RAM must drop the CPU's decoded code for the bytes it
// writes: a disk read over code the CPU already ran is seen the next time the
// code runs, whether the device copies the data in or is handed a view.
import { describe, expect, it, vi } from 'vitest';
import { Pc } from '../../src/machine/pc.ts';
import { GuestDmaSpace } from '../../src/machine/guest-dma.ts';
import { IdentityDmaSpace, DmaFault } from '../../src/devices/dma-space.ts';
import { MemoryBlockDevice } from '../../src/storage/backends/memory.ts';
import { BLK_S_OK, BLK_T_GET_ID, BLK_T_IN, STATUS_DRIVER_OK } from '../../src/devices/virtio/constants.ts';
import { runInstructions } from '../../src/x86/interpreter.ts';
import { S } from '../../src/x86/state.ts';
import { loadFlat32Segments } from '../support/flat32.ts';
import type { Cpu } from '../../src/x86/cpu.ts';
import { PciVirtioDriver } from './pci-driver.ts';

const CODE = 0x30_0000;

function flat32(cpu: Cpu): void {
  const st = cpu.st;
  loadFlat32Segments(st);
  st[S.ESP] = 0x8000;
  cpu.updateMode();
  cpu.flushTlb(true);
}

/** Runs from CODE until HLT; returns EAX. */
function runCode(cpu: Cpu): number {
  cpu.st[S.EIP] = CODE;
  cpu.st[S.HALTED] = 0;
  for (let i = 0; i < 100 && cpu.st[S.HALTED] === 0; i++) {
    cpu.stopRequested = false;
    runInstructions(cpu, 10);
  }
  return cpu.st[S.EAX];
}

function header(type: number, sector: number): Uint8Array {
  const h = new Uint8Array(16);
  new DataView(h.buffer).setUint32(0, type, true);
  new DataView(h.buffer).setUint32(8, sector, true);
  return h;
}

const MOV_EAX_HLT = (v: number) => [0xb8, v & 0xff, 0, 0, 0, 0xf4];

describe('guest DMA and decoded code', () => {
  it('a virtio-blk read over code the CPU ran replaces that code', async () => {
    const image = new Uint8Array(8 * 512);
    image.set(MOV_EAX_HLT(2), 0);
    const pc = new Pc({ memoryMiB: 16, clock: 'deterministic' });
    pc.attachDisk(MemoryBlockDevice.fromImage(image), { log: () => {} });
    const drv = new PciVirtioDriver(pc, 3);
    expect(drv.init() & STATUS_DRIVER_OK).toBeTruthy();
    const cpu = pc.machine.cpu;
    flat32(cpu);
    pc.machine.views.ram8.set(MOV_EAX_HLT(1), CODE);
    expect(runCode(cpu)).toBe(1);
    expect(cpu.codePages[CODE >>> 12]).toBe(1);

    const r = drv.submit(0, [{ out: header(BLK_T_IN, 0) }, { in: 512, at: CODE }, { in: 1 }]);
    await pc.disksIdle();
    expect(drv.ram[r.lastByte]).toBe(BLK_S_OK);
    expect(pc.dma.counters.viewsRefusedForCode).toBe(1); // bounced, copied in with write()
    expect(runCode(cpu)).toBe(2);
  });

  it('a small device write (GET_ID) over decoded code is seen too', async () => {
    const pc = new Pc({ memoryMiB: 16, clock: 'deterministic' });
    // "@" is INC EAX in 32-bit code: the serial number is the new code.
    pc.attachDisk(MemoryBlockDevice.create(8), { log: () => {}, serial: '@@@@@' });
    const drv = new PciVirtioDriver(pc, 3);
    drv.init();
    const cpu = pc.machine.cpu;
    flat32(cpu);
    pc.machine.views.ram8.set(MOV_EAX_HLT(1), CODE);
    expect(runCode(cpu)).toBe(1);
    // A 5-byte buffer over MOV EAX, 1 (GET_ID writes with dma.write, no view); HLT stays.
    const r = drv.submit(0, [{ out: header(BLK_T_GET_ID, 0) }, { in: 5, at: CODE }, { in: 1 }]);
    await pc.disksIdle();
    expect(drv.ram[r.lastByte]).toBe(BLK_S_OK);
    expect(runCode(cpu)).toBe(6);
  });

  it('hands out zero-copy views for pages without decoded code', () => {
    const ram = new Uint8Array(1 << 20);
    const codePages = new Uint8Array(256);
    const invalidateRange = vi.fn();
    const dma = new GuestDmaSpace(new IdentityDmaSpace(ram), { codePages, blocks: { invalidateRange } });
    expect(dma.view(0x3000, 0x2000, true)).not.toBeNull();
    codePages[4] = 1;
    expect(dma.view(0x3000, 0x2000, true)).toBeNull(); // touches page 4
    expect(dma.view(0x3000, 0x2000, false)).not.toBeNull(); // reads are fine
    expect(dma.view(0x5000, 0x1000, true)).not.toBeNull();
    expect(() => dma.view(0xff000, 0x2000, true)).toThrow(DmaFault);
    codePages[0xff] = 1;
    expect(() => dma.view(0xff000, 0x2000, true)).toThrow(DmaFault); // refused views still check bounds
    dma.write(0x4ffe, new Uint8Array(4));
    expect(invalidateRange).toHaveBeenLastCalledWith(0x4ffe, 4);
    dma.write16(0x10, 1);
    expect(invalidateRange).toHaveBeenLastCalledWith(0x10, 2);
    dma.write32(0x20, 1);
    expect(invalidateRange).toHaveBeenLastCalledWith(0x20, 4);
    expect(() => dma.write(ram.length - 2, new Uint8Array(4))).toThrow(DmaFault);
    expect(invalidateRange).toHaveBeenCalledTimes(3);
  });
});
