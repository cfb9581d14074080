// Host result vs ts86 result for one case: registers, defined flags, EIP, exception vector
// (and #PF error code), window bytes, x87 state. Only what the SDM defines is compared.
import { COMPARED_FLAGS, FLAG_NAMES, REG32, VEC, VECTOR_NAMES, VECTOR_TIMEOUT, hex32 } from './layout.ts';
import type { TestCase } from './test-case.ts';
import { FSAVE, decodeExtended, formatExtended, toNumber } from './x87-image.ts';

/** Either side's result, normalised. */
export interface Outcome {
  regs: Uint32Array;
  eflags: number;
  eip: number;
  vector: number;
  errorCode?: number;
  fpu: Uint8Array;
  window: Uint8Array;
  /** Set when the runner itself failed (e.g. ts86 threw). */
  crash?: string;
}

export interface Difference {
  what: string;
  host: string;
  ts86: string;
}

/** #PF error code bits both sides agree on: present, write, user. (Linux may add others.) */
const PF_ERROR_BITS = 0x7;
const vectorName = (v: number): string => VECTOR_NAMES[v] ?? `vector ${v}`;

export function flagNames(flags: number, mask = COMPARED_FLAGS): string {
  return FLAG_NAMES.filter(([bit]) => mask & bit).map(([bit, n]) => (flags & bit ? n : n.toLowerCase())).join(' ');
}

function masked(tc: TestCase, offset: number): boolean {
  return tc.windowMask.some(([at, len]) => offset >= at && offset < at + len);
}

function compareWindow(tc: TestCase, host: Uint8Array, emu: Uint8Array, out: Difference[]): void {
  if (host.length !== emu.length) {
    out.push({ what: 'window length', host: String(host.length), ts86: String(emu.length) });
    return;
  }
  const diffs: number[] = [];
  for (let i = 0; i < host.length; i++) if (host[i] !== emu[i] && !masked(tc, i)) diffs.push(i);
  if (!diffs.length) return;
  // Report the first differing run of bytes, and how many differ in total.
  const first = diffs[0]!;
  const end = Math.min(host.length, first + 16);
  const bytes = (w: Uint8Array): string => Array.from(w.subarray(first, end), (b) => b.toString(16).padStart(2, '0')).join(' ');
  out.push({ what: `window +0x${first.toString(16)} (${diffs.length} byte(s) differ)`, host: bytes(host), ts86: bytes(emu) });
}

function closeEnough(a: Uint8Array, b: Uint8Array, at: number, tolerance: number): boolean {
  if (tolerance === 0) return false;
  const x = toNumber(decodeExtended(a, at));
  const y = toNumber(decodeExtended(b, at));
  if (!Number.isFinite(x) || !Number.isFinite(y)) return false;
  return Math.abs(x - y) <= tolerance * Math.max(Math.abs(x), Math.abs(y));
}

function compareFpu(tc: TestCase, host: Uint8Array, emu: Uint8Array, out: Difference[]): void {
  const hv = new DataView(host.buffer, host.byteOffset);
  const ev = new DataView(emu.buffer, emu.byteOffset);
  const word = (name: string, at: number, ignore = 0): void => {
    const h = hv.getUint16(at, true) & ~ignore;
    const e = ev.getUint16(at, true) & ~ignore;
    if (h !== e) out.push({ what: `x87 ${name}`, host: h.toString(16).padStart(4, '0'), ts86: e.toString(16).padStart(4, '0') });
  };
  word('FCW', FSAVE.FCW);
  word(tc.fswIgnore ? `FSW (ignoring ${tc.fswIgnore.toString(16)})` : 'FSW', FSAVE.FSW, tc.fswIgnore);
  word('FTW', FSAVE.FTW);
  for (let i = 0; i < 8; i++) {
    const at = FSAVE.ST0 + 10 * i;
    const same = host.subarray(at, at + 10).every((b, k) => b === emu[at + k]);
    if (!same && !closeEnough(host, emu, at, tc.fpuTolerance)) out.push({ what: `x87 ST(${i})`, host: formatExtended(host, at), ts86: formatExtended(emu, at) });
  }
}

export function compareOutcome(tc: TestCase, host: Outcome, emu: Outcome): Difference[] {
  const out: Difference[] = [];
  if (host.vector === VECTOR_TIMEOUT) return [{ what: 'host run', host: 'timed out (generator bug)', ts86: '-' }];
  if (emu.crash) return [{ what: 'ts86 run', host: 'ok', ts86: emu.crash }];
  if (host.vector !== emu.vector) out.push({ what: 'exception', host: vectorName(host.vector), ts86: vectorName(emu.vector) });
  if (host.eip !== emu.eip) out.push({ what: 'eip', host: hex32(host.eip), ts86: hex32(emu.eip) });
  if (out.length) return out; // a different exit makes the rest of the state noise
  if (host.vector === VEC.PF && emu.errorCode !== undefined && ((host.errorCode ?? 0) ^ emu.errorCode) & PF_ERROR_BITS) {
    out.push({ what: '#PF error code (P W U)', host: String((host.errorCode ?? 0) & PF_ERROR_BITS), ts86: String(emu.errorCode & PF_ERROR_BITS) });
  }
  for (let r = 0; r < 8; r++) {
    if (host.regs[r] !== emu.regs[r]) out.push({ what: REG32[r]!, host: hex32(host.regs[r]!), ts86: hex32(emu.regs[r]!) });
  }
  const flagMask = COMPARED_FLAGS & ~tc.undefinedFlags;
  if ((host.eflags ^ emu.eflags) & flagMask) out.push({ what: 'eflags', host: flagNames(host.eflags, flagMask), ts86: flagNames(emu.eflags, flagMask) });
  compareWindow(tc, host.window, emu.window, out);
  if (tc.compareFpu) compareFpu(tc, host.fpu, emu.fpu, out);
  return out;
}
