// A stand-in for the VGA bitmap font when the page cannot load it: each CP437
// character drawn with the browser's monospace font into an 8×16 cell and
// thresholded to one bit per pixel, giving the same table layout the
// renderer uses, so there is only one drawing path.
import { CP437 } from './cp437.ts';
import { FONT_BYTES, GLYPH_BYTES } from './rom-font.ts';

export function rasterizeFallbackFont(): Uint8Array {
  const font = new Uint8Array(FONT_BYTES);
  const canvas = new OffscreenCanvas(8 * 16, 16 * 16);
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  if (!ctx) return font;
  ctx.fillStyle = '#000';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.fillStyle = '#fff';
  ctx.font = '14px monospace';
  ctx.textBaseline = 'middle';
  ctx.textAlign = 'center';
  for (let c = 1; c < 256; c++) ctx.fillText(CP437[c], (c % 16) * 8 + 4, Math.floor(c / 16) * 16 + 8);
  const px = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
  for (let c = 0; c < 256; c++) {
    for (let y = 0; y < 16; y++) {
      let bits = 0;
      for (let x = 0; x < 8; x++) {
        const i = (((Math.floor(c / 16) * 16 + y) * canvas.width) + (c % 16) * 8 + x) * 4;
        if (px[i] > 110) bits |= 0x80 >> x;
      }
      font[c * GLYPH_BYTES + y] = bits;
    }
  }
  return font;
}
