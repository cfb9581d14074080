// The page's DOM-free logic: URL parameters, boot detection, number
// formatting, CP437 and the VGA font taken from the SeaBIOS ROM.
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { parseParams } from '../../src/ui/page/url-params.ts';
import { BootDetector, toRegExp } from '../../src/ui/vm/boot-detector.ts';
import { formatBytes, formatDuration, formatProgress } from '../../src/ui/views/format.ts';
import { CP437, cp437ToString } from '../../src/ui/font/cp437.ts';
import { findVgaFont, FONT_BYTES } from '../../src/ui/font/rom-font.ts';
import { sourceName } from '../../src/ui/vm/image-source.ts';

describe('URL parameters', () => {
  it('takes kernel, initrd, append and memory as JSLinux does', () => {
    expect(parseParams('?kernel=k/bzImage&initrd=i.img&append=console%3DttyS0%20quiet&memory=256')).toEqual({
      options: { kernel: 'k/bzImage', initrd: 'i.img', append: 'console=ttyS0 quiet', memoryMiB: 256 }, problems: [],
    });
  });

  it('reports a bad memory size and a kernel/multiboot conflict instead of ignoring them silently', () => {
    const p = parseParams('?memory=lots&multiboot=a.elf&kernel=b&autostart=0');
    expect(p.options).toEqual({ multiboot: 'a.elf', autostart: false });
    expect(p.problems).toHaveLength(2);
    expect(p.problems[0]).toMatch(/"lots" is not a whole number/);
  });

  it('keeps an empty append (an explicitly empty command line)', () => {
    expect(parseParams('?append=').options).toEqual({ append: '' });
  });
});

describe('BootDetector', () => {
  it('fires once when the prompt arrives, even split across chunks, and again after rearm', () => {
    const seen: string[] = [];
    const d = new BootDetector(toRegExp('~ # '), (m) => seen.push(m));
    const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
    d.feed(enc('Run /init\r\n~ '));
    expect(seen).toEqual([]);
    d.feed(enc('# '));
    d.feed(enc('~ # '));
    expect(seen).toEqual(['~ # ']);
    d.rearm();
    d.feed(enc('\r\n~ # '));
    expect(seen).toHaveLength(2);
  });

  it('treats strings literally and ignores g/y flags', () => {
    expect(toRegExp('a.b (c)').test('xa.b (c)')).toBe(true);
    expect(toRegExp('a.b').test('axb')).toBe(false);
    const re = toRegExp(/x/g);
    expect(re.test('x') && re.test('x')).toBe(true);
  });
});

describe('formatting', () => {
  it('formats bytes, durations and progress', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(5707712)).toBe('5.4 MiB');
    expect(formatDuration(7)).toBe('0:07');
    expect(formatDuration(3723)).toBe('1:02:03');
    expect(formatProgress(2202009, 5707712)).toBe('2.1 MiB of 5.4 MiB (38%)');
    expect(formatProgress(2048, null)).toBe('2.0 KiB');
  });

  it('names image sources for messages', () => {
    expect(sourceName('/images/bzImage?x=1')).toBe('bzImage');
    expect(sourceName(new URL('http://h/a/b%20c.elf'))).toBe('b c.elf');
    expect(sourceName(new Uint8Array(4))).toBe('image');
  });
});

describe('CP437 and the VGA font', () => {
  it('maps all 256 codes', () => {
    expect([...CP437]).toHaveLength(256);
    expect(cp437ToString([0x41, 0xc9, 0xcd, 0xbb, 0xdb, 0x01])).toBe('A╔═╗█☺');
  });

  it('finds the 8x16 font in the SeaBIOS VGA ROM', () => {
    const font = findVgaFont(new Uint8Array(readFileSync('/usr/share/seabios/vgabios-stdvga.bin')))!;
    expect(font).not.toBeNull();
    expect(font.length).toBe(FONT_BYTES);
    // 'H': two vertical strokes joined in the middle.
    expect(Array.from(font.subarray(0x48 * 16, 0x49 * 16))).toEqual([0, 0, 0xc6, 0xc6, 0xc6, 0xc6, 0xfe, 0xc6, 0xc6, 0xc6, 0xc6, 0xc6, 0, 0, 0, 0]);
  });

  it('finds no font in bytes that have none', () => {
    expect(findVgaFont(new Uint8Array(65536).fill(0x10))).toBeNull();
  });
});
