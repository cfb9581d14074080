// VGA registers as Linux's vgacon and a BIOS use them, and the state block
// the page's renderer reads from shared memory.
import { describe, it, expect } from 'vitest';
import { Vga, VgaWord, VGA_STATE_OFFSET, VGA_MODE_BLINK, VGA_MODE_CURSOR_ON, VGA_MODE_SCREEN_ON, VGA_MODE_TEXT } from '../../src/devices/vga.ts';
import { Bus } from '../../src/devices/bus.ts';
import { RAM_OFFSET } from '../../src/x86/state.ts';
import type { Clock } from '../../src/machine/clock.ts';

function setup() {
  const memory = new WebAssembly.Memory({ initial: (RAM_OFFSET + (1 << 20)) >> 16, maximum: (RAM_OFFSET + (1 << 20)) >> 16, shared: true });
  const ram = new Uint8Array(memory.buffer, RAM_OFFSET, 1 << 20);
  let now = 0;
  const clock: Clock = { mode: 'deterministic', nowNs: () => now, pause() {}, resume() {}, idleUntil: () => 0 };
  const vga = new Vga(memory, ram, clock);
  const bus = new Bus();
  vga.attach(bus);
  const words = new Int32Array(memory.buffer, VGA_STATE_OFFSET, VgaWord.WORDS);
  return { vga, bus, ram, words, setNow: (ns: number) => { now = ns; } };
}

describe('VGA', () => {
  it('starts in BIOS mode 3: 80x25 colour text, 9x16 cells, blink on, blank screen, CGA colours', () => {
    const { words, ram } = setup();
    expect(words[VgaWord.MODE] & (VGA_MODE_TEXT | VGA_MODE_BLINK | VGA_MODE_SCREEN_ON | VGA_MODE_CURSOR_ON))
      .toBe(VGA_MODE_TEXT | VGA_MODE_BLINK | VGA_MODE_SCREEN_ON | VGA_MODE_CURSOR_ON);
    expect([words[VgaWord.COLUMNS], words[VgaWord.ROWS], words[VgaWord.PITCH], words[VgaWord.CHAR_WIDTH], words[VgaWord.CHAR_HEIGHT]]).toEqual([80, 25, 80, 9, 16]);
    expect([words[VgaWord.TEXT_BASE], words[VgaWord.TEXT_SIZE]]).toEqual([0xb8000, 0x8000]);
    expect([words[VgaWord.CURSOR_START], words[VgaWord.CURSOR_END]]).toEqual([13, 14]);
    const pal = Array.from(words.subarray(VgaWord.PALETTE, VgaWord.PALETTE + 16), (v) => v.toString(16).padStart(6, '0'));
    expect(pal).toEqual(['000000', '0000aa', '00aa00', '00aaaa', 'aa0000', 'aa00aa', 'aa5500', 'aaaaaa',
      '555555', '5555ff', '55ff55', '55ffff', 'ff5555', 'ff55ff', 'ffff55', 'ffffff']);
    expect([ram[0xb8000], ram[0xb8001], ram[0xbfffe], ram[0xbffff]]).toEqual([0x20, 0x07, 0x20, 0x07]);
  });

  it('mirrors the CRTC cursor location, shape and start address as vgacon writes them', () => {
    const { bus, words } = setup();
    const gen = words[VgaWord.GENERATION];
    const crtc = (i: number, v: number): void => { bus.out8(0x3d4, i); bus.out8(0x3d5, v); };
    crtc(0x0e, 0x01); crtc(0x0f, 0x90);
    crtc(0x0c, 0x00); bus.out16(0x3d4, 0x500d); // index + data in one 16-bit write, as outw does
    crtc(0x0a, 0x2e); // cursor off, start line 14
    expect(words[VgaWord.CURSOR]).toBe(0x190);
    expect(words[VgaWord.START]).toBe(0x50);
    expect(words[VgaWord.CURSOR_START]).toBe(14);
    expect(words[VgaWord.MODE] & VGA_MODE_CURSOR_ON).toBe(0);
    expect(words[VgaWord.GENERATION]).toBeGreaterThan(gen);
    bus.out8(0x3d4, 0x0f);
    expect(bus.in8(0x3d5)).toBe(0x90);
  });

  it('write-protects CRTC timing registers 0-7 while register 0x11 bit 7 is set', () => {
    const { bus, words } = setup();
    bus.out8(0x3d4, 0x01); bus.out8(0x3d5, 0x27);
    expect(words[VgaWord.COLUMNS]).toBe(80);
    bus.out8(0x3d4, 0x11); bus.out8(0x3d5, 0x0e); // clear protect
    bus.out8(0x3d4, 0x01); bus.out8(0x3d5, 0x27);
    expect(words[VgaWord.COLUMNS]).toBe(40);
  });

  it('the attribute controller alternates index and data, and reading 0x3DA resets the flip-flop', () => {
    const { bus, words } = setup();
    bus.out8(0x3c0, 0x10); // index: mode control (and PAS clear: the screen goes dark)
    expect(words[VgaWord.MODE] & VGA_MODE_SCREEN_ON).toBe(0);
    bus.in8(0x3da);         // reset: the next write is an index again
    bus.out8(0x3c0, 0x30); // mode control with PAS set
    bus.out8(0x3c0, 0x04); // data: blink off, line graphics on
    expect(words[VgaWord.MODE] & VGA_MODE_BLINK).toBe(0);
    expect(words[VgaWord.MODE] & VGA_MODE_SCREEN_ON).toBe(VGA_MODE_SCREEN_ON);
    bus.out8(0x3c0, 0x21);
    expect(bus.in8(0x3c1)).toBe(0x01);
    bus.out8(0x3c0, 0x3f); // palette 1 → DAC 0x3f
    expect(words[VgaWord.PALETTE + 1]).toBe(0xffffff);
  });

  it('reads and writes the DAC with auto-increment and publishes the resolved colours', () => {
    const { bus, words } = setup();
    bus.out8(0x3c8, 1);      // DAC entry 1 = attribute colour 1 (blue)
    for (const v of [0x3f, 0x20, 0x00, 0x01, 0x02, 0x03]) bus.out8(0x3c9, v);
    expect(words[VgaWord.PALETTE + 1]).toBe(0xff8200);
    expect(bus.in8(0x3c8)).toBe(3);
    bus.out8(0x3c7, 2);
    expect([bus.in8(0x3c9), bus.in8(0x3c9), bus.in8(0x3c9)]).toEqual([1, 2, 3]);
    expect(bus.in8(0x3c7)).toBe(3);
  });

  it('toggles vertical retrace (bit 3) from the machine clock, once per 70 Hz frame', () => {
    const { bus, setNow } = setup();
    const line = 31_778;
    setNow(100 * line);
    expect(bus.in8(0x3da) & 8).toBe(0);
    expect(bus.in8(0x3da) & 1).toBe(0); // in the active part of a visible line
    setNow(412 * line + 10);
    expect(bus.in8(0x3da) & 9).toBe(9);
    setNow((449 + 412) * line + 10);
    expect(bus.in8(0x3da) & 8).toBe(8);
    setNow(449 * line + 10);
    expect(bus.in8(0x3da) & 8).toBe(0);
  });

  it('answers on the monochrome-compatible ports only as the misc output register selects', () => {
    const { bus } = setup();
    bus.out8(0x3c2, 0x66); // I/O address select: 0x3Bx
    expect(bus.in8(0x3d5)).toBe(0xff);
    expect(bus.in8(0x3cc)).toBe(0x66);
  });

  it('reset restores mode 3 and blanks the text buffer', () => {
    const { vga, bus, ram, words } = setup();
    bus.out8(0x3d4, 0x0f); bus.out8(0x3d5, 0x42);
    ram[0xb8000] = 0x41;
    vga.reset();
    expect(words[VgaWord.CURSOR]).toBe(0);
    expect(ram[0xb8000]).toBe(0x20);
    const s = vga.snapshot();
    bus.out8(0x3d4, 0x0f); bus.out8(0x3d5, 0x42);
    vga.restore(s);
    expect(words[VgaWord.CURSOR]).toBe(0);
  });
});
