import { describe, it, expect } from 'vitest';
import { createMachineMemory, checkRamSize, ConfigError, MIN_RAM_MIB, MAX_RAM_MIB } from '../../src/machine/memory.ts';
import { RAM_OFFSET, STATE_OFFSET } from '../../src/x86/state.ts';

describe('guest memory sizing', () => {
  it('refuses sizes outside 16 MiB – 2 GiB with a reason', () => {
    expect(() => checkRamSize(15)).toThrow(ConfigError);
    expect(() => checkRamSize(15)).toThrow(/15 MiB is outside the supported range 16–2048 MiB/);
    expect(() => checkRamSize(2049)).toThrow(/outside the supported range/);
    expect(() => checkRamSize(64.5)).toThrow(/whole number/);
    expect(() => checkRamSize(Number.NaN)).toThrow(ConfigError);
    expect(() => checkRamSize(MIN_RAM_MIB)).not.toThrow();
    expect(() => checkRamSize(MAX_RAM_MIB)).not.toThrow();
  });

  it('puts state and RAM in one shared wasm memory that views see without copies', () => {
    const v = createMachineMemory(16);
    expect(v.memory.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(v.ramBytes).toBe(16 << 20);
    expect(v.memory.buffer.byteLength).toBe(RAM_OFFSET + (16 << 20));
    expect(v.ram8.byteOffset).toBe(RAM_OFFSET);
    expect(v.state.byteOffset).toBe(STATE_OFFSET);
    // A write through one view is visible through another over the same buffer.
    v.ram8[0x1234] = 0x5a;
    expect(new Uint8Array(v.memory.buffer)[RAM_OFFSET + 0x1234]).toBe(0x5a);
    v.ram32[4] = 0x01020304;
    expect(v.ram8[16]).toBe(4);
  });
});
