// Node only (npm start, e2e and bench setup): writes public/fonts/vga-8x16.bin,
// the page's VGA text font, from the SeaBIOS VGA BIOS that Debian's
// `seabios` package installs. Generated, not committed (see public/fonts/README.md).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findVgaFont, FONT_BYTES } from './rom-font.ts';

export const FONT_ASSET = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'public', 'fonts', 'vga-8x16.bin');
const ROMS = ['/usr/share/seabios/vgabios-stdvga.bin', '/usr/share/seabios/vgabios.bin', '/usr/share/seabios/vgabios-cirrus.bin'];

export type FontAssetResult = { ok: true; path: string; from: string } | { ok: false; reason: string };

/** Creates the font asset if it is missing; never throws (the page falls back to a system font). */
export function ensureVgaFontAsset(path = FONT_ASSET): FontAssetResult {
  if (existsSync(path) && readFileSync(path).length === FONT_BYTES) return { ok: true, path, from: 'existing file' };
  for (const rom of ROMS) {
    if (!existsSync(rom)) continue;
    const font = findVgaFont(new Uint8Array(readFileSync(rom)));
    if (!font) continue;
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, font);
    return { ok: true, path, from: rom };
  }
  return { ok: false, reason: `no VGA BIOS with an 8×16 font found (${ROMS[0]}); install Debian's seabios package ("apt-get install seabios") for the VGA font; the page uses a system font meanwhile` };
}
