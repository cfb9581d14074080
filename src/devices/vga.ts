// VGA registers for text mode (ports 0x3C0–0x3DF): the CRT controller
// (cursor shape and location, start address, display geometry), the
// attribute controller with its index/data flip-flop, sequencer, graphics
// controller, miscellaneous output, input status #1 with a vertical retrace
// bit that follows the machine clock, and the DAC palette. It starts in the
// state a PC BIOS leaves after setting mode 3 (80×25 colour text), because
// our machines boot without a BIOS and Linux's vgacon expects that state.
//
// Display memory: the text buffer at physical 0xB8000 is ordinary guest RAM
// in this machine (no MMIO trap), so guest writes to the screen cost nothing
// and the page's renderer reads the characters straight from the shared
// memory. What the renderer cannot see in RAM is this device's register
// state, so the device mirrors the part that matters for drawing (text
// window, geometry, cursor, blink mode, the 16 resolved colours) into a small
// block of Int32 words in the shared memory:
//
//   VGA_STATE_OFFSET = 0x7F_F000: the last 4 KiB page of the reserved region
//   [0x410000, 0x800000) documented in src/x86/state.ts, just below guest RAM.
//   Words are indexed by VgaWord; only this device writes them, the page reads.
import type { Bus } from './bus.ts';
import type { Clock } from '../machine/clock.ts';

/** Byte offset of the VGA state block in the machine's shared memory. */
export const VGA_STATE_OFFSET = 0x7f_f000;
/** Bytes reserved for it (only VgaWord.WORDS × 4 are used today). */
export const VGA_STATE_BYTES = 0x400;

/** Int32 word indexes of the VGA state block. */
export const enum VgaWord {
  /** Bumped after every change of the words below, so a renderer can tell that nothing moved. */
  GENERATION = 0,
  /** VGA_MODE_* bits. */
  MODE = 1,
  /** Physical address and size of the text window (graphics controller memory map select). */
  TEXT_BASE = 2,
  TEXT_SIZE = 3,
  /** First character cell displayed (CRTC start address), in cells from TEXT_BASE. */
  START = 4,
  COLUMNS = 5,
  ROWS = 6,
  /** Cells from one row to the next (CRTC offset × 2). */
  PITCH = 7,
  /** Scan lines per character row. */
  CHAR_HEIGHT = 8,
  /** Dots per character: 8 or 9. */
  CHAR_WIDTH = 9,
  /** Cursor cell (CRTC cursor location), and its first and last scan line. */
  CURSOR = 10,
  CURSOR_START = 11,
  CURSOR_END = 12,
  /** 16 words: attribute colour k as 0x00RRGGBB, through the attribute palette and the DAC. */
  PALETTE = 16,
  WORDS = 32,
}

export const VGA_MODE_TEXT = 1;
/** Attribute bit 7 blinks the character (set) or selects a bright background (clear). */
export const VGA_MODE_BLINK = 2;
/** Characters 0xC0–0xDF extend into the ninth dot column (box drawing lines join up). */
export const VGA_MODE_LINE_GRAPHICS = 4;
/** Video output on: the sequencer's screen-off bit clear and the attribute controller reading the palette. */
export const VGA_MODE_SCREEN_ON = 8;
export const VGA_MODE_CURSOR_ON = 16;

/** Register values a BIOS programs for mode 3 (80×25 text, 9×16 cells, 720×400 at 70 Hz). */
const MODE3 = {
  misc: 0x67,
  seq: [0x03, 0x00, 0x03, 0x00, 0x02],
  crtc: [
    0x5f, 0x4f, 0x50, 0x82, 0x55, 0x81, 0xbf, 0x1f, 0x00, 0x4f, 0x0d, 0x0e, 0x00, 0x00, 0x00, 0x00,
    0x9c, 0x8e, 0x8f, 0x28, 0x1f, 0x96, 0xb9, 0xa3, 0xff,
  ],
  gc: [0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x0e, 0x00, 0xff],
  ac: [
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x14, 0x07, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f,
    0x0c, 0x00, 0x0f, 0x08, 0x00,
  ],
};

const SEQ_COUNT = 5;
const GC_COUNT = 9;
const CRTC_COUNT = 25;
const AC_COUNT = 21;

/** Mode 3 timing: 449 lines of 31.778 µs per frame (70 Hz); retrace on lines 412–413. */
const LINE_NS = 31_778;
const LINES_PER_FRAME = 449;
const VISIBLE_LINES = 400;
const RETRACE_FIRST = 412, RETRACE_END = 414;
/** Fraction of a line that is active display (640 of 800 dots). */
const ACTIVE_FRACTION = 0.8;

/** The 64-colour EGA palette a BIOS loads into DAC entries 0–63 for text modes (6-bit values). */
function egaDacEntry(k: number): [number, number, number] {
  const c = (primary: number, secondary: number): number => ((k >> primary) & 1) * 0x2a + ((k >> secondary) & 1) * 0x15;
  return [c(2, 5), c(1, 4), c(0, 3)];
}

export interface VgaSnapshot {
  misc: number; seq: number[]; gc: number[]; crtc: number[]; ac: number[]; dac: number[];
  seqIndex: number; gcIndex: number; crtcIndex: number; acIndex: number; acFlipFlop: boolean;
  dacWriteIndex: number; dacReadIndex: number; dacComponent: number; dacReadComponent: number; dacReadMode: boolean; pelMask: number;
}

export class Vga {
  private misc = 0;
  private featureControl = 0;
  private subsystemEnable = 1;
  private readonly seq = new Uint8Array(8);
  private readonly gc = new Uint8Array(16);
  private readonly crtc = new Uint8Array(32);
  private readonly ac = new Uint8Array(32);
  private readonly dac = new Uint8Array(768);
  private seqIndex = 0;
  private gcIndex = 0;
  private crtcIndex = 0;
  /** Attribute controller index, including bit 5 (palette address source: 1 = display on). */
  private acIndex = 0x20;
  /** false: the next write to 0x3C0 is an index; true: it is data. */
  private acFlipFlop = false;
  private dacWriteIndex = 0;
  private dacReadIndex = 0;
  private dacComponent = 0;
  private dacReadComponent = 0;
  private dacReadMode = false;
  private pelMask = 0xff;
  /** The shared state block the page reads. */
  readonly words: Int32Array;

  /**
   * @param memory the machine's shared memory (the state block lives at VGA_STATE_OFFSET)
   * @param ram guest RAM, for clearing the text buffer on reset as a BIOS mode set does
   */
  constructor(memory: WebAssembly.Memory, private readonly ram: Uint8Array, private readonly clock: Clock) {
    this.words = new Int32Array(memory.buffer, VGA_STATE_OFFSET, VgaWord.WORDS);
    this.reset();
  }

  attach(bus: Bus): void {
    bus.registerPorts(0x3c0, 0x20, 'VGA', {
      read8: (port) => this.read(port),
      write8: (port, v) => this.write(port, v),
    });
  }

  /** Mode 3 as a BIOS leaves it, with a blank screen (grey on black spaces). */
  reset(): void {
    this.misc = MODE3.misc;
    this.seq.fill(0); this.seq.set(MODE3.seq);
    this.gc.fill(0); this.gc.set(MODE3.gc);
    this.crtc.fill(0); this.crtc.set(MODE3.crtc);
    this.ac.fill(0); this.ac.set(MODE3.ac);
    this.dac.fill(0);
    for (let k = 0; k < 64; k++) this.dac.set(egaDacEntry(k), k * 3);
    this.seqIndex = this.gcIndex = this.crtcIndex = 0;
    this.acIndex = 0x20;
    this.acFlipFlop = false;
    this.dacWriteIndex = this.dacReadIndex = this.dacComponent = this.dacReadComponent = 0;
    this.dacReadMode = false;
    this.pelMask = 0xff;
    this.featureControl = 0;
    this.subsystemEnable = 1;
    const end = Math.min(this.ram.length, 0xc0000);
    for (let a = 0xb8000; a + 1 < end; a += 2) { this.ram[a] = 0x20; this.ram[a + 1] = 0x07; }
    this.publish();
  }

  /** Whether the CRTC answers at 0x3Dx (colour) rather than 0x3Bx (monochrome). */
  private get colourIo(): boolean {
    return (this.misc & 1) !== 0;
  }

  read(port: number): number {
    switch (port) {
      case 0x3c0: return this.acIndex;
      case 0x3c1: return (this.acIndex & 0x1f) < AC_COUNT ? this.ac[this.acIndex & 0x1f] : 0;
      case 0x3c2: return 0x10; // input status #0: switch sense (a colour monitor is attached)
      case 0x3c3: return this.subsystemEnable;
      case 0x3c4: return this.seqIndex;
      case 0x3c5: return this.seqIndex < SEQ_COUNT ? this.seq[this.seqIndex] : 0xff;
      case 0x3c6: return this.pelMask;
      case 0x3c7: return this.dacReadMode ? 3 : 0;
      case 0x3c8: return this.dacWriteIndex;
      case 0x3c9: {
        const v = this.dac[this.dacReadIndex * 3 + this.dacReadComponent];
        if (++this.dacReadComponent === 3) { this.dacReadComponent = 0; this.dacReadIndex = (this.dacReadIndex + 1) & 0xff; }
        return v;
      }
      case 0x3ca: return this.featureControl;
      case 0x3cc: return this.misc;
      case 0x3ce: return this.gcIndex;
      case 0x3cf: return this.gcIndex < GC_COUNT ? this.gc[this.gcIndex] : 0xff;
      case 0x3d4: return this.colourIo ? this.crtcIndex : 0xff;
      case 0x3d5: return this.colourIo && this.crtcIndex < CRTC_COUNT ? this.crtc[this.crtcIndex] : 0xff;
      case 0x3da:
        if (!this.colourIo) return 0xff;
        this.acFlipFlop = false; // reading input status #1 resets the attribute flip-flop
        return this.inputStatus1();
      default: return 0xff;
    }
  }

  write(port: number, v: number): void {
    switch (port) {
      case 0x3c0:
        if (!this.acFlipFlop) {
          this.acIndex = v & 0x3f;
        } else if ((this.acIndex & 0x1f) < AC_COUNT) {
          this.ac[this.acIndex & 0x1f] = v;
        }
        this.acFlipFlop = !this.acFlipFlop;
        break;
      case 0x3c2: this.misc = v; break;
      case 0x3c3: this.subsystemEnable = v & 1; return;
      case 0x3c4: this.seqIndex = v & 7; return;
      case 0x3c5: if (this.seqIndex < SEQ_COUNT) this.seq[this.seqIndex] = v; break;
      case 0x3c6: this.pelMask = v; break;
      case 0x3c7: this.dacReadIndex = v; this.dacReadComponent = 0; this.dacReadMode = true; return;
      case 0x3c8: this.dacWriteIndex = v; this.dacComponent = 0; this.dacReadMode = false; return;
      case 0x3c9:
        this.dac[this.dacWriteIndex * 3 + this.dacComponent] = v & 0x3f;
        if (++this.dacComponent < 3) return; // publish once per colour, not per component
        this.dacComponent = 0;
        this.dacWriteIndex = (this.dacWriteIndex + 1) & 0xff;
        break;
      case 0x3ce: this.gcIndex = v & 0x0f; return;
      case 0x3cf: if (this.gcIndex < GC_COUNT) this.gc[this.gcIndex] = v; break;
      case 0x3d4: if (this.colourIo) this.crtcIndex = v & 0x1f; return;
      case 0x3d5: if (this.colourIo) this.writeCrtc(this.crtcIndex, v); break;
      case 0x3da: if (this.colourIo) this.featureControl = v; return;
      default: return;
    }
    this.publish();
  }

  private writeCrtc(index: number, v: number): void {
    if (index >= CRTC_COUNT) return;
    // CRTC register 0x11 bit 7 write-protects the horizontal and vertical
    // timing registers 0–7, except the line compare bit of the overflow register.
    if (this.crtc[0x11] & 0x80) {
      if (index < 7) return;
      if (index === 7) v = (this.crtc[7] & ~0x10) | (v & 0x10);
    }
    this.crtc[index] = v;
  }

  /** Bit 3: vertical retrace; bit 0: display disabled (in horizontal or vertical blanking). */
  private inputStatus1(): number {
    const ns = this.clock.nowNs();
    const line = Math.floor(ns / LINE_NS) % LINES_PER_FRAME;
    const inLine = (ns % LINE_NS) / LINE_NS;
    const retrace = line >= RETRACE_FIRST && line < RETRACE_END;
    const blank = line >= VISIBLE_LINES || inLine >= ACTIVE_FRACTION;
    return (retrace ? 8 : 0) | (blank ? 1 : 0);
  }

  /** The DAC colour (0xRRGGBB) that attribute colour `k` (0–15) shows. */
  colour(k: number): number {
    const mode = this.ac[0x10];
    const select = this.ac[0x14];
    let p = this.ac[k & this.ac[0x12] & 0x0f] & 0x3f;
    if (mode & 0x80) p = (p & 0x0f) | ((select & 0x03) << 4);
    p = (p | ((select & 0x0c) << 4)) & this.pelMask;
    const six = (c: number): number => ((c << 2) | (c >> 4)) & 0xff;
    return (six(this.dac[p * 3]) << 16) | (six(this.dac[p * 3 + 1]) << 8) | six(this.dac[p * 3 + 2]);
  }

  /** Recomputes the shared state block from the registers. */
  private publish(): void {
    const w = this.words;
    const c = this.crtc;
    const text = (this.gc[6] & 1) === 0 && (this.ac[0x10] & 1) === 0;
    const screenOn = (this.seq[1] & 0x20) === 0 && (this.acIndex & 0x20) !== 0;
    const cursorOn = (c[0x0a] & 0x20) === 0;
    w[VgaWord.MODE] = (text ? VGA_MODE_TEXT : 0) | ((this.ac[0x10] & 8) ? VGA_MODE_BLINK : 0) |
      ((this.ac[0x10] & 4) ? VGA_MODE_LINE_GRAPHICS : 0) | (screenOn ? VGA_MODE_SCREEN_ON : 0) | (cursorOn ? VGA_MODE_CURSOR_ON : 0);
    const map = (this.gc[6] >> 2) & 3;
    w[VgaWord.TEXT_BASE] = [0xa0000, 0xa0000, 0xb0000, 0xb8000][map];
    w[VgaWord.TEXT_SIZE] = [0x20000, 0x10000, 0x8000, 0x8000][map];
    w[VgaWord.START] = (c[0x0c] << 8) | c[0x0d];
    const columns = Math.max(1, Math.min(132, c[0x01] + 1));
    const lines = (c[0x12] | ((c[0x07] & 0x02) << 7) | ((c[0x07] & 0x40) << 3)) + 1;
    const charHeight = (c[0x09] & 0x1f) + 1;
    const scanDoubling = (c[0x09] & 0x80) ? 2 : 1;
    w[VgaWord.COLUMNS] = columns;
    w[VgaWord.ROWS] = Math.max(1, Math.min(60, Math.floor(lines / scanDoubling / charHeight)));
    w[VgaWord.PITCH] = c[0x13] ? c[0x13] * 2 : columns;
    w[VgaWord.CHAR_HEIGHT] = charHeight;
    w[VgaWord.CHAR_WIDTH] = (this.seq[1] & 1) ? 8 : 9;
    w[VgaWord.CURSOR] = (c[0x0e] << 8) | c[0x0f];
    w[VgaWord.CURSOR_START] = c[0x0a] & 0x1f;
    w[VgaWord.CURSOR_END] = c[0x0b] & 0x1f;
    for (let k = 0; k < 16; k++) w[VgaWord.PALETTE + k] = this.colour(k);
    Atomics.add(w, VgaWord.GENERATION, 1);
  }

  snapshot(): VgaSnapshot {
    return {
      misc: this.misc, seq: [...this.seq], gc: [...this.gc], crtc: [...this.crtc], ac: [...this.ac], dac: [...this.dac],
      seqIndex: this.seqIndex, gcIndex: this.gcIndex, crtcIndex: this.crtcIndex, acIndex: this.acIndex, acFlipFlop: this.acFlipFlop,
      dacWriteIndex: this.dacWriteIndex, dacReadIndex: this.dacReadIndex, dacComponent: this.dacComponent,
      dacReadComponent: this.dacReadComponent, dacReadMode: this.dacReadMode, pelMask: this.pelMask,
    };
  }

  restore(s: VgaSnapshot): void {
    this.misc = s.misc;
    this.seq.set(s.seq); this.gc.set(s.gc); this.crtc.set(s.crtc); this.ac.set(s.ac); this.dac.set(s.dac);
    this.seqIndex = s.seqIndex; this.gcIndex = s.gcIndex; this.crtcIndex = s.crtcIndex; this.acIndex = s.acIndex;
    this.acFlipFlop = s.acFlipFlop; this.dacWriteIndex = s.dacWriteIndex; this.dacReadIndex = s.dacReadIndex;
    this.dacComponent = s.dacComponent; this.dacReadComponent = s.dacReadComponent; this.dacReadMode = s.dacReadMode;
    this.pelMask = s.pelMask;
    this.publish();
  }
}
