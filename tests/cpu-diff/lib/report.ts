// Readable failure reports: the nasm line, the bytes, the initial state, both results and
// the differences; and the one-line summary.
import type { Difference, Outcome } from './compare.ts';
import { flagNames } from './compare.ts';
import { CODE_BASE, REG32, VECTOR_NAMES, WINDOW_BASE, hex32, hexBytes } from './layout.ts';
import type { TestCase } from './test-case.ts';
import { FSAVE, formatExtended, stEmpty, topOf } from './x87-image.ts';

const regLine = (regs: Uint32Array): string => Array.from(regs, (v, i) => `${REG32[i]}=${hex32(v)}`).join(' ');

function fpuLines(img: Uint8Array): string[] {
  const v = new DataView(img.buffer, img.byteOffset);
  const hx = (at: number): string => v.getUint16(at, true).toString(16).padStart(4, '0');
  const lines = [`x87 fcw=${hx(FSAVE.FCW)} fsw=${hx(FSAVE.FSW)} ftw=${hx(FSAVE.FTW)} top=${topOf(img)}`];
  for (let i = 0; i < 8; i++) if (!stEmpty(img, i)) lines.push(`  st${i}=${formatExtended(img, FSAVE.ST0 + 10 * i)}`);
  return lines;
}

function outcomeLines(label: string, o: Outcome, tc: TestCase): string[] {
  if (o.crash) return [`${label}: ${o.crash}`];
  const exc = o.vector < 0 ? 'no exception' : `${VECTOR_NAMES[o.vector] ?? o.vector}${o.errorCode !== undefined ? ` err=${o.errorCode.toString(16)}` : ''}`;
  const lines = [`${label}: ${exc} at eip=${hex32(o.eip)} flags=[${flagNames(o.eflags)}]`, `  ${regLine(o.regs)}`];
  if (tc.compareFpu) lines.push(...fpuLines(o.fpu).map((l) => `  ${l}`));
  return lines;
}

export function formatFailure(tc: TestCase, host: Outcome, emu: Outcome, diffs: readonly Difference[]): string {
  const code = tc.code ?? new Uint8Array();
  const src = [...(tc.source.pre ?? []), `>> ${tc.source.insn.join(' ; ')}`, ...(tc.source.post ?? [])];
  const patches = tc.patches.map((p) => `+0x${p.offset.toString(16)}: ${hexBytes(p.bytes.subarray(0, 16))}${p.bytes.length > 16 ? ' ...' : ''}`);
  const lines = [
    `FAIL ${tc.variant.key} case ${tc.index}`,
    `  nasm:    ${tc.text}${tc.note ? `   (${tc.note})` : ''}`,
    ...(src.length > 1 ? [`  snippet: ${src.join(' | ')}`] : []),
    `  bytes:   ${hexBytes(code)}   (at ${hex32(CODE_BASE)})`,
    `  input:   ${regLine(tc.regs)}`,
    `           flags=[${flagNames(tc.eflags)}] window=seed ${hex32(tc.windowSeed)} at ${hex32(WINDOW_BASE)}${patches.length ? ` patched ${patches.join(', ')}` : ''}`,
    ...(tc.fpu ? fpuLines(tc.fpu).map((l) => `           ${l}`) : []),
    ...outcomeLines('  host', host, tc),
    ...outcomeLines('  ts86', emu, tc),
    '  differences:',
    ...diffs.map((d) => `    ${d.what}: host ${d.host}  ts86 ${d.ts86}`),
  ];
  if (tc.undefinedFlags) lines.push(`  (not compared: undefined flags [${flagNames(tc.undefinedFlags, tc.undefinedFlags)}])`);
  return lines.join('\n');
}

export function summaryLine(forms: number, cases: number, passed: number, failed: number): string {
  return `cpu-diff: ${forms} forms, ${cases} cases, ${passed} passed, ${failed} failed`;
}
