// The Linux boot loader refuses bad input with a reason a person can act on.
import { describe, it, expect } from 'vitest';
import { readFileSync, existsSync } from 'node:fs';
import { Pc } from '../../src/machine/pc.ts';
import { linuxBootProgram } from '../../src/machine/boot/linux.ts';
import { parseSetupHeader } from '../../src/machine/boot/bzimage.ts';
import { BootImageError } from '../../src/machine/boot/boot-error.ts';
import { ConfigError } from '../../src/machine/memory.ts';
import { runTs86 } from '../guest/build-kernel.ts';
import { buildImages } from '../../scripts/images/build-images.ts';

/** A minimal image with a valid-looking setup header of the given protocol version. */
function fakeBzImage(protocol: number, payload = 64 * 1024): Uint8Array {
  const img = new Uint8Array(5 * 512 + payload);
  const dv = new DataView(img.buffer);
  img[0x1f1] = 4; // setup_sects
  dv.setUint16(0x1fe, 0xaa55, true);
  dv.setUint32(0x202, 0x53726448, true); // "HdrS"
  dv.setUint16(0x206, protocol, true);
  img[0x211] = 1; // LOADED_HIGH
  dv.setUint32(0x214, 0x100000, true);
  dv.setUint32(0x22c, 0x37ffffff, true); // initrd_addr_max
  dv.setUint32(0x238, 255, true); // cmdline_size
  dv.setUint32(0x260, payload, true); // init_size
  return img;
}

describe('Linux boot protocol loader', () => {
  it('refuses a file that is not a bzImage', () => {
    expect(() => parseSetupHeader(new Uint8Array(4096), 'junk')).toThrow(/junk is not a Linux bzImage/);
    expect(() => parseSetupHeader(new Uint8Array(100), 'tiny')).toThrow(/too small/);
  });

  it('refuses a boot protocol older than 2.10', () => {
    expect(() => parseSetupHeader(fakeBzImage(0x0209), 'old')).toThrow(BootImageError);
    expect(() => parseSetupHeader(fakeBzImage(0x0209), 'old')).toThrow(/boot protocol 2\.09; ts86 needs 2\.10 or newer/);
    expect(parseSetupHeader(fakeBzImage(0x020f), 'new').protocol).toBe(0x020f);
  });

  it('refuses an initrd that does not fit in memory', () => {
    const pc = new Pc({ memoryMiB: 16 });
    expect(() => linuxBootProgram(pc, fakeBzImage(0x020f), new Uint8Array(20 * 1024 * 1024), '')).toThrow(/initrd \(20\.0 MiB\) does not fit in 16 MiB/);
  });

  it('refuses a command line longer than the kernel accepts', () => {
    const pc = new Pc({ memoryMiB: 16 });
    expect(() => linuxBootProgram(pc, fakeBzImage(0x020f), undefined, 'x'.repeat(300))).toThrow(/command line is 300 bytes; this kernel accepts at most 255/);
  });

  it('refuses memory below 16 MiB (ts86 boot exits 1 with the reason)', async () => {
    expect(() => new Pc({ memoryMiB: 8 })).toThrow(ConfigError);
    buildImages({ log: () => {} });
    const r = await runTs86(['boot', '--kernel', 'public/images/bzImage', '--memory', '12']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/12 MiB is outside the supported range 16–2048 MiB/);
  }, 300_000);

  it('refuses a real kernel given an initrd that does not fit, from the command line', async () => {
    buildImages({ log: () => {} });
    expect(existsSync('public/images/bzImage')).toBe(true);
    const big = '.cache/test-big-initrd.img';
    const { writeFileSync, mkdirSync } = await import('node:fs');
    mkdirSync('.cache', { recursive: true });
    writeFileSync(big, new Uint8Array(40 * 1024 * 1024));
    const r = await runTs86(['boot', '--kernel', 'public/images/bzImage', '--initrd', big, '--memory', '32']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/initrd \(40\.0 MiB\) does not fit in 32 MiB/);
    expect(readFileSync('public/images/bzImage').length).toBeGreaterThan(1_000_000);
  }, 300_000);
});
