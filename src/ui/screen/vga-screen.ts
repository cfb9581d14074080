// The VGA screen view: a focusable canvas the renderer draws into once per
// animation frame, with keyboard capture feeding the guest's PS/2 keyboard
// while it has focus.
import type { MachineMemory } from '../../machine/worker/protocol.ts';
import { VgaRenderer } from './vga-renderer.ts';
import { KeyCapture } from '../keyboard/key-capture.ts';
import { loadVgaFont } from '../font/vga-font.ts';
import { cp437ToString } from '../font/cp437.ts';
import { FONT_BYTES } from '../font/rom-font.ts';

export class VgaScreen {
  readonly canvas: HTMLCanvasElement;
  private readonly renderer: VgaRenderer;
  private readonly keys: KeyCapture;
  private raf = 0;

  constructor(container: HTMLElement, fontUrl: string, sendScancodes: (set2: number[]) => void) {
    const canvas = (this.canvas = document.createElement('canvas'));
    canvas.className = 'ts86-screen';
    canvas.width = 720;
    canvas.height = 400;
    canvas.tabIndex = 0;
    canvas.setAttribute('role', 'img');
    canvas.setAttribute('aria-label', 'VGA text screen. Focus it to type on the guest keyboard.');
    container.append(canvas);
    // Blank glyphs until the font arrives (a few kB, normally before the first boot finishes downloading).
    this.renderer = new VgaRenderer(canvas, new Uint8Array(FONT_BYTES));
    void loadVgaFont(fontUrl).then((font) => this.renderer.setFont(font.glyphs));
    this.keys = new KeyCapture(canvas, sendScancodes);
    canvas.addEventListener('pointerdown', () => canvas.focus());
    const tick = (t: number): void => {
      this.renderer.frame(t);
      this.raf = requestAnimationFrame(tick);
    };
    this.raf = requestAnimationFrame(tick);
  }

  attach(mem: MachineMemory): void {
    this.renderer.attach(mem);
  }

  detach(): void {
    this.renderer.detach();
  }

  /** The characters on screen, one string per row (CP437 mapped to Unicode). */
  text(): string[] {
    const s = this.renderer.snapshotCodes();
    if (!s) return [];
    const rows: string[] = [];
    for (let r = 0; r < s.rows; r++) rows.push(cp437ToString(s.codes.subarray(r * s.columns, (r + 1) * s.columns)));
    return rows;
  }

  dispose(): void {
    cancelAnimationFrame(this.raf);
    this.keys.dispose();
    this.canvas.remove();
  }
}
