// The VGA text font for the screen renderer: the 8×16 CP437 bitmap font
// served at fonts/vga-8x16.bin (generated at start from SeaBIOS's public
// domain font), or a system-font rendering when the file is not there.
import { FONT_BYTES } from './rom-font.ts';
import { rasterizeFallbackFont } from './fallback-font.ts';

export interface VgaFont {
  /** 256 glyphs × 16 scan lines, bit 7 leftmost. */
  glyphs: Uint8Array;
  source: 'bitmap' | 'fallback';
}

const cache = new Map<string, Promise<VgaFont>>();

async function fetchFont(url: string): Promise<VgaFont> {
  try {
    const r = await fetch(url);
    if (r.ok) {
      const bytes = new Uint8Array(await r.arrayBuffer());
      if (bytes.length === FONT_BYTES) return { glyphs: bytes, source: 'bitmap' };
    }
    console.warn(`ts86: the VGA font ${url} is missing or malformed (run npm start once, or see public/fonts/README.md); using a system font`);
  } catch (e) {
    console.warn(`ts86: could not load the VGA font ${url}: ${(e as Error).message}; using a system font`);
  }
  return { glyphs: rasterizeFallbackFont(), source: 'fallback' };
}

export function loadVgaFont(url: string): Promise<VgaFont> {
  let p = cache.get(url);
  if (!p) cache.set(url, (p = fetchFont(url)));
  return p;
}
