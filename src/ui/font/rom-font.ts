// Finding the 8×16 VGA font inside a VGA BIOS image. The font we ship is
// SeaBIOS's (vgasrc/vgafonts.c, placed in the public domain; Debian package
// `seabios`), taken from the built ROM at build time rather than committed.
// The table is 256 glyphs × 16 bytes, one byte per scan line, bit 7 leftmost.

export const GLYPH_BYTES = 16;
export const FONT_BYTES = 256 * GLYPH_BYTES;

/** Known glyphs of the IBM VGA font (and every clone of it) to locate and check the table. */
const GLYPH_A = [0x00, 0x00, 0x10, 0x38, 0x6c, 0xc6, 0xc6, 0xfe, 0xc6, 0xc6, 0xc6, 0xc6, 0x00, 0x00, 0x00, 0x00];
const GLYPH_SMILEY = [0x00, 0x00, 0x7e, 0x81, 0xa5, 0x81, 0x81, 0xbd, 0x99, 0x81, 0x81, 0x7e, 0x00, 0x00, 0x00, 0x00];

function matches(rom: Uint8Array, at: number, glyph: number[]): boolean {
  for (let k = 0; k < glyph.length; k++) if (rom[at + k] !== glyph[k]) return false;
  return true;
}

/** The 4096-byte font table, or null if this ROM has no recognisable 8×16 font. */
export function findVgaFont(rom: Uint8Array): Uint8Array | null {
  for (let at = 0x41 * GLYPH_BYTES; at + FONT_BYTES - 0x41 * GLYPH_BYTES <= rom.length; at++) {
    if (rom[at + 2] !== 0x10 || !matches(rom, at, GLYPH_A)) continue;
    const base = at - 0x41 * GLYPH_BYTES;
    const blank = rom.subarray(base, base + GLYPH_BYTES).every((b) => b === 0);
    const fullBlock = rom.subarray(base + 0xdb * GLYPH_BYTES, base + 0xdc * GLYPH_BYTES).every((b) => b === 0xff);
    if (blank && fullBlock && matches(rom, base + GLYPH_BYTES, GLYPH_SMILEY)) return rom.slice(base, base + FONT_BYTES);
  }
  return null;
}
