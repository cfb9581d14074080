// Runs x87 instructions on the host CPU through harness.c (see its header for
// the wire protocol). The binary is compiled on first use into a cache
// directory keyed by the source hash, never into the source tree.
import { spawnSync, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const FSAVE_SIZE = 108;

/** One instruction to run: code bytes, a 108-byte FSAVE image, memory operand bytes, EFLAGS in. */
export interface OracleCase {
  code: Uint8Array;
  state: Uint8Array;
  mem: Uint8Array;
  eflags: number;
  /**
   * Places the operand across an edge of the guarded page (see harness.c):
   * n > 0, its first n bytes are the last ones of the page and the rest
   * faults; n < 0, its first -n bytes fault. 0 or absent: no fault.
   */
  cross?: number;
}

export interface OracleResult {
  signal: number;
  eflags: number;
  state: Uint8Array;
  mem: Uint8Array;
}

let binPath: string | null = null;

function harnessBinary(): string {
  if (binPath) return binPath;
  const src = join(dirname(fileURLToPath(import.meta.url)), 'harness.c');
  const hash = createHash('sha256').update(readFileSync(src)).digest('hex').slice(0, 16);
  const dir = join(tmpdir(), 'ts86-fpu-oracle');
  mkdirSync(dir, { recursive: true });
  const bin = join(dir, `harness-${hash}`);
  if (!existsSync(bin)) {
    const tmp = `${bin}.${process.pid}.tmp`;
    execFileSync('gcc', ['-m32', '-O2', '-o', tmp, src]);
    renameSync(tmp, bin);
  }
  binPath = bin;
  return bin;
}

/** Whether the oracle can run here (gcc -m32 and 32-bit execution). */
export function oracleAvailable(): boolean {
  try {
    harnessBinary();
    return true;
  } catch {
    return false;
  }
}

export interface OracleBatch {
  codeAddr: number;
  memAddr: number;
  /** The read/write page between two PROT_NONE pages (OracleCase.cross). */
  pageAddr: number;
  results: OracleResult[];
}

/** Runs all cases in one harness process. */
export function runNative(cases: OracleCase[]): OracleBatch {
  let size = 0;
  for (const c of cases) size += 12 + c.code.length + FSAVE_SIZE + c.mem.length;
  const input = new Uint8Array(size);
  const dv = new DataView(input.buffer);
  let p = 0;
  for (const c of cases) {
    if (c.state.length !== FSAVE_SIZE) throw new Error('state must be 108 bytes');
    input[p] = c.code.length;
    dv.setUint16(p + 2, c.mem.length, true);
    dv.setUint32(p + 4, c.eflags >>> 0, true);
    dv.setInt32(p + 8, c.cross ?? 0, true);
    p += 12;
    input.set(c.code, p);
    p += c.code.length;
    input.set(c.state, p);
    p += FSAVE_SIZE;
    input.set(c.mem, p);
    p += c.mem.length;
  }
  const r = spawnSync(harnessBinary(), [], { input, maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`x87 oracle failed: status ${r.status} ${r.stderr}`);
  const out = new Uint8Array(r.stdout.buffer, r.stdout.byteOffset, r.stdout.byteLength);
  const odv = new DataView(out.buffer, out.byteOffset, out.byteLength);
  const codeAddr = odv.getUint32(0, true);
  const memAddr = odv.getUint32(4, true);
  const pageAddr = odv.getUint32(8, true);
  let q = 12;
  const results: OracleResult[] = [];
  for (const c of cases) {
    const signal = odv.getUint32(q, true);
    const eflags = odv.getUint32(q + 4, true);
    q += 8;
    const state = out.slice(q, q + FSAVE_SIZE);
    q += FSAVE_SIZE;
    const mem = out.slice(q, q + c.mem.length);
    q += c.mem.length;
    results.push({ signal, eflags, state, mem });
  }
  if (q !== out.length) throw new Error(`x87 oracle output length mismatch (${q} vs ${out.length})`);
  return { codeAddr, memAddr, pageAddr, results };
}
