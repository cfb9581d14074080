// The code scanner on a running guest (tests/scanner/asm/scan.asm): a
// routine copied into fresh pages is reported each time it runs after being
// written, at its physical address; clean code that runs and a copy that
// never runs are not reported; the page-hash form matches a whole page.
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Pc } from '../../src/machine/pc.ts';
import { multibootBootProgram } from '../../src/machine/boot/multiboot.ts';
import { attachCodeScanner, type CodeScanner, type Detection } from '../../src/scanner/code-scanner.ts';
import { mergeSignatureSets, parseHdb, parseNdb } from '../../src/scanner/signatures.ts';
import { md5Hex } from '../../src/scanner/md5.ts';
import { buildKernel } from '../guest/build-kernel.ts';
import { PAYLOAD_NDB } from './payload.ts';

const KERNEL = buildKernel(join(import.meta.dirname, 'asm', 'scan.asm'));

/** Page C as the guest leaves it: its clean routine at offset 0 in zeroed RAM. */
function cleanPageMd5(): string {
  const page = new Uint8Array(4096);
  page.set([0xb8, 0x01, 0x00, 0x00, 0x00, 0xc3]);
  return md5Hex(page);
}

interface Run { serial: string; exit: string; detections: Detection[]; scannedPages: number[]; scanner: CodeScanner }

function runGuest(jit: boolean): Run {
  const pc = new Pc({ memoryMiB: 16, clock: 'deterministic', noReboot: true });
  const m = pc.machine;
  m.cpu.jit.enabled = jit;
  let serial = '';
  pc.com1.onTransmit = (b) => { serial += String.fromCharCode(b); };
  let exit = '';
  m.onEvent((e) => { exit = JSON.stringify(e); });
  const signatures = mergeSignatureSets([
    { body: parseNdb(PAYLOAD_NDB, 'test.ndb'), hash: [] },
    { body: [], hash: parseHdb(`${cleanPageMd5()}:4096:Test.CleanPageHash\n`, 'test.hdb') },
  ]);
  const detections: Detection[] = [];
  const scanner = attachCodeScanner(m, signatures, (d) => detections.push(d));
  const scannedPages: number[] = [];
  const onCodePage = scanner.onCodePage.bind(scanner);
  scanner.onCodePage = (page) => {
    scannedPages.push(page);
    onCodePage(page);
  };
  m.setBootProgram(multibootBootProgram(new Uint8Array(readFileSync(KERNEL)), '', 'scan.elf'));
  // One instruction per slice: the CPU commits its instruction count at the end of a slice, so this makes `instructions` exact.
  while (!m.finished && m.cpu.instructionCount < 1_000_000) m.runSlice(1);
  return { serial, exit, detections, scannedPages, scanner };
}

describe('code scanner on a running guest', () => {
  for (const jit of [false, true]) {
    it(`reports code when it first runs after a write${jit ? ' (JS tier on)' : ''}`, () => {
      const r = runGuest(jit);
      expect(r.serial).toBe('scan guest done\n');
      expect(r.exit).toBe(JSON.stringify({ type: 'exit', status: (0x10 << 1) | 1 }));
      expect(r.detections.map((d) => [d.name, '0x' + d.phys.toString(16)])).toEqual([
        ['Test.Payload', '0x200100'], // written, run
        ['Test.Payload', '0x200100'], // rewritten, run (and run once more: not reported again)
        ['Test.CleanPageHash', '0x203000'], // clean code, but its whole page has the listed hash
        ['Test.Payload', '0x204800'], // written beside code already running in the page
        ['Test.Payload', '0x205ffa'], // across a page boundary
      ]);
      const when = r.detections.map((d) => d.instructions);
      expect(when[0]).toBeGreaterThan(0);
      for (let i = 1; i < when.length; i++) expect(when[i]).toBeGreaterThan(when[i - 1]);
      // The kernel's own page ran and was scanned, and matched nothing.
      expect(r.scannedPages).toContain(0x100);
      // The copy at 0x201000 was written but never ran: never scanned.
      expect(r.scannedPages).not.toContain(0x201);
      expect(r.scannedPages.filter((p) => p === 0x200)).toHaveLength(2);
      expect(r.scanner.counters.detections).toBe(5);
      expect(r.scanner.counters.pagesScanned).toBe(r.scannedPages.length);
      expect(r.scanner.counters.bytesScanned).toBeGreaterThanOrEqual(4096 * r.scannedPages.length);
    });
  }

  it('does not rescan or re-report pages the block cache forgets without a write', () => {
    const pc = new Pc({ memoryMiB: 16, clock: 'deterministic', noReboot: true });
    const m = pc.machine;
    const detections: Detection[] = [];
    const scanner = attachCodeScanner(m, { body: parseNdb(PAYLOAD_NDB), hash: [] }, (d) => detections.push(d));
    m.views.ram8.set([0xb8, 0xde, 0xc0, 0xed, 0x5e, 0x35, 0x68, 0x24, 0x57, 0x13, 0x90, 0x90, 0xc3], 0x300010);
    scanner.onCodePage(0x300);
    // What the block cache does after a pool flush: the same page, decoded again, unchanged.
    scanner.onCodePage(0x300);
    expect(detections.map((d) => d.phys)).toEqual([0x300010]);
    expect(scanner.counters).toMatchObject({ pagesScanned: 1, pagesUnchanged: 1, detections: 1 });
    // Changed behind the tracking's back (possible only after a flush): scanned again.
    m.views.ram8[0x300011] = 0xdf;
    scanner.onCodePage(0x300);
    expect(scanner.counters.pagesScanned).toBe(2);
    // A tracked write always means a rescan, even of the same bytes.
    scanner.onCodePageWritten(0x300);
    scanner.onCodePage(0x300);
    expect(scanner.counters.pagesScanned).toBe(3);
    scanner.detach();
    expect(m.cpu.blocks.observers).not.toContain(scanner);
  });
});
