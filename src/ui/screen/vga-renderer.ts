// Draws the VGA text screen on a canvas straight from the machine's shared
// memory: characters and attributes from the text buffer in guest RAM, the
// geometry, cursor and colours from the VGA device's register mirror
// (src/devices/vga.ts). Nothing is copied or messaged per frame; each frame
// compares every cell with what was drawn last and repaints only the cells
// that changed, so an idle screen costs one pass over 2000 cells.
import {
  VgaWord, VGA_MODE_BLINK, VGA_MODE_CURSOR_ON, VGA_MODE_LINE_GRAPHICS, VGA_MODE_SCREEN_ON, VGA_MODE_TEXT,
} from '../../devices/vga.ts';
import type { MachineMemory } from '../../machine/worker/protocol.ts';
import { GLYPH_BYTES } from '../font/rom-font.ts';

/** Blink rates of VGA hardware at 70 Hz: the cursor toggles every 16 frames, blinking text every 32. */
const CURSOR_HALF_PERIOD_MS = 16 * 1000 / 70;
const TEXT_HALF_PERIOD_MS = 32 * 1000 / 70;

export interface ScreenSnapshot { columns: number; rows: number; text: string[] }

export class VgaRenderer {
  private words: Int32Array | null = null;
  private ram: Uint8Array | null = null;
  private image: ImageData | null = null;
  private pixels: Uint32Array | null = null;
  /** Per cell: the key of what is drawn there now (character, attribute, blink and cursor state). */
  private drawn = new Float64Array(0);
  private palette = new Uint32Array(16);
  private paletteKey = '';
  private geometryKey = '';
  private blankDrawn = false;
  private readonly ctx: CanvasRenderingContext2D;

  constructor(private readonly canvas: HTMLCanvasElement, private glyphs: Uint8Array) {
    const ctx = canvas.getContext('2d', { alpha: false });
    if (!ctx) throw new Error('this browser has no 2D canvas');
    this.ctx = ctx;
  }

  attach(mem: MachineMemory): void {
    this.words = new Int32Array(mem.memory.buffer, mem.vgaStateOffset, VgaWord.WORDS);
    this.ram = new Uint8Array(mem.memory.buffer, mem.ramOffset, mem.ramBytes);
    this.invalidate();
  }

  detach(): void {
    this.words = null;
    this.ram = null;
    this.invalidate();
  }

  setFont(glyphs: Uint8Array): void {
    this.glyphs = glyphs;
    this.invalidate();
  }

  /** Forces a full repaint on the next frame. */
  invalidate(): void {
    this.drawn.fill(-1);
    this.geometryKey = '';
    this.blankDrawn = false;
  }

  /** Draws one frame for time `nowMs`; returns whether anything was painted. */
  frame(nowMs: number): boolean {
    const w = this.words;
    const ram = this.ram;
    if (!w || !ram) return this.drawBlank('');
    const mode = w[VgaWord.MODE];
    if (!(mode & VGA_MODE_TEXT)) return this.drawBlank('graphics mode: not shown (text mode only)');
    const cols = w[VgaWord.COLUMNS], rows = w[VgaWord.ROWS];
    const cw = w[VgaWord.CHAR_WIDTH], ch = w[VgaWord.CHAR_HEIGHT];
    this.ensureGeometry(cols, rows, cw, ch);
    this.updatePalette(w);
    const px = this.pixels!;
    const stride = cols * cw;

    const screenOn = (mode & VGA_MODE_SCREEN_ON) !== 0;
    const blinkMode = (mode & VGA_MODE_BLINK) !== 0;
    const lineGraphics = (mode & VGA_MODE_LINE_GRAPHICS) !== 0;
    const textPhase = Math.floor(nowMs / TEXT_HALF_PERIOD_MS) & 1;
    const cursorPhase = Math.floor(nowMs / CURSOR_HALF_PERIOD_MS) & 1;
    const cursorStart = w[VgaWord.CURSOR_START], cursorEnd = w[VgaWord.CURSOR_END];
    const cursorCell = (mode & VGA_MODE_CURSOR_ON) && cursorPhase === 0 && cursorStart <= cursorEnd && cursorStart < ch
      ? w[VgaWord.CURSOR] - w[VgaWord.START] : -1;
    const base = w[VgaWord.TEXT_BASE], size = w[VgaWord.TEXT_SIZE];
    if (base + size > ram.length) return this.drawBlank('the text buffer is outside guest RAM');
    const start = w[VgaWord.START], pitch = w[VgaWord.PITCH];
    const glyphs = this.glyphs;
    const pal = this.palette;

    let dirtyTop = rows, dirtyBottom = -1;
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        const cell = r * cols + c;
        const addr = base + (((start + r * pitch + c) * 2) % size);
        const code = screenOn ? ram[addr] : 0;
        const attr = screenOn ? ram[addr + 1] : 0;
        const blinking = blinkMode && (attr & 0x80) !== 0;
        const cursorHere = r * pitch + c === cursorCell && screenOn;
        const key = code | (attr << 8) | ((blinking ? textPhase : 0) << 16) | ((cursorHere ? 1 : 0) << 17) |
          (cursorStart << 18) | (cursorEnd << 23);
        if (this.drawn[cell] === key) continue;
        this.drawn[cell] = key;
        if (r < dirtyTop) dirtyTop = r;
        dirtyBottom = r;

        const fg = pal[attr & 0x0f];
        const bg = pal[blinkMode ? (attr >> 4) & 7 : attr >> 4];
        const hidden = blinking && textPhase === 1;
        const glyph = code * GLYPH_BYTES;
        const ninth = lineGraphics && code >= 0xc0 && code <= 0xdf;
        let o = r * ch * stride + c * cw;
        for (let y = 0; y < ch; y++, o += stride) {
          const bits = hidden || y >= GLYPH_BYTES ? 0 : glyphs[glyph + y];
          const inCursor = cursorHere && y >= cursorStart && y <= cursorEnd;
          if (inCursor) {
            for (let x = 0; x < cw; x++) px[o + x] = fg;
            continue;
          }
          for (let x = 0; x < 8; x++) px[o + x] = (bits << x) & 0x80 ? fg : bg;
          if (cw === 9) px[o + 8] = ninth && (bits & 1) ? fg : bg;
        }
      }
    }
    if (dirtyBottom < 0) return false;
    this.blankDrawn = false;
    this.ctx.putImageData(this.image!, 0, 0, 0, dirtyTop * ch, stride, (dirtyBottom - dirtyTop + 1) * ch);
    return true;
  }

  /** The screen's characters as text (CP437 codes), for tests and accessibility. */
  snapshotCodes(): { columns: number; rows: number; codes: Uint8Array } | null {
    const w = this.words, ram = this.ram;
    if (!w || !ram) return null;
    const cols = w[VgaWord.COLUMNS], rows = w[VgaWord.ROWS];
    const base = w[VgaWord.TEXT_BASE], size = w[VgaWord.TEXT_SIZE], start = w[VgaWord.START], pitch = w[VgaWord.PITCH];
    const codes = new Uint8Array(cols * rows);
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) codes[r * cols + c] = ram[base + (((start + r * pitch + c) * 2) % size)];
    }
    return { columns: cols, rows, codes };
  }

  private ensureGeometry(cols: number, rows: number, cw: number, ch: number): void {
    const key = `${cols}x${rows}x${cw}x${ch}`;
    if (key === this.geometryKey) return;
    this.geometryKey = key;
    this.canvas.width = cols * cw;
    this.canvas.height = rows * ch;
    this.image = this.ctx.createImageData(cols * cw, rows * ch);
    this.pixels = new Uint32Array(this.image.data.buffer);
    this.drawn = new Float64Array(cols * rows).fill(-1);
  }

  private updatePalette(w: Int32Array): void {
    let key = '';
    for (let k = 0; k < 16; k++) key += `${w[VgaWord.PALETTE + k]},`;
    if (key === this.paletteKey) return;
    this.paletteKey = key;
    for (let k = 0; k < 16; k++) {
      const rgb = w[VgaWord.PALETTE + k];
      // ImageData is RGBA in memory: as a little-endian Uint32 that is 0xAABBGGRR.
      this.palette[k] = (0xff000000 | ((rgb & 0xff) << 16) | (rgb & 0xff00) | ((rgb >> 16) & 0xff)) >>> 0;
    }
    this.drawn.fill(-1);
  }

  private drawBlank(message: string): boolean {
    if (this.blankDrawn) return false;
    this.blankDrawn = true;
    this.geometryKey = '';
    if (this.canvas.width !== 720 || this.canvas.height !== 400) {
      this.canvas.width = 720;
      this.canvas.height = 400;
    }
    const ctx = this.ctx;
    ctx.fillStyle = '#000';
    ctx.fillRect(0, 0, 720, 400);
    if (message) {
      ctx.fillStyle = '#aaa';
      ctx.font = '16px monospace';
      ctx.textAlign = 'center';
      ctx.fillText(message, 360, 200);
    }
    return true;
  }
}
