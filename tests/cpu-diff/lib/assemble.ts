// Assembles many snippets with ONE nasm run (spawning nasm per case would dominate the
// suite's time). Each snippet becomes a label `cN`; a trailer of (offset, length) dwords
// after the last snippet lets us cut the flat binary back into per-snippet byte strings.
// A snippet nasm rejects is reported with nasm's message and the rest are re-assembled.
//
// Inside a snippet's lines:
//   - local labels (`.taken:`) are private to the snippet;
//   - ABS(.label) is the label's linear address when the snippet runs at CODE_BASE;
//   - `.cd_end` is predefined at the end of the snippet;
//   - `.cd_insn` / `.cd_next` bracket the instruction under test.
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { CODE_BASE } from './layout.ts';
import { scratchPath } from './paths.ts';

/** A snippet: lines before the instruction under test, its line(s), lines after it. */
export interface SnippetSource {
  pre?: readonly string[];
  insn: readonly string[];
  post?: readonly string[];
}

/** The snippet's bytes and where the instruction under test lies in them. */
export type AsmResult = { ok: true; bytes: Uint8Array; insnStart: number; insnEnd: number } | { ok: false; error: string };

const MAX_ROUNDS = 4;

function render(snippets: readonly (SnippetSource | null)[]): { text: string; lineOwner: number[] } {
  const out: string[] = ['bits 32', `%define ABS(l) (${CODE_BASE} + (l) - CASE)`];
  const lineOwner: number[] = [-1, -1];
  const emit = (line: string, owner: number): void => {
    out.push(line);
    lineOwner.push(owner);
  };
  snippets.forEach((s, i) => {
    emit(`%define CASE c${i}`, i);
    emit(`c${i}:`, i);
    for (const l of s?.pre ?? []) emit(`  ${l}`, i);
    emit('.cd_insn:', i);
    for (const l of s?.insn ?? []) emit(`  ${l}`, i);
    emit('.cd_next:', i);
    for (const l of s?.post ?? []) emit(`  ${l}`, i);
    emit('.cd_end:', i);
  });
  emit('cd_index:', -1);
  snippets.forEach((_, i) => emit(`  dd c${i}, c${i}.cd_end - c${i}, c${i}.cd_insn - c${i}, c${i}.cd_next - c${i}`, -1));
  return { text: out.join('\n') + '\n', lineOwner };
}

/** Assembles each snippet in 32-bit mode; a plain line list is the instruction under test. */
export function assembleAll(snippets: readonly (SnippetSource | readonly string[])[]): AsmResult[] {
  const results: (AsmResult | undefined)[] = new Array(snippets.length);
  const pending: (SnippetSource | null)[] = snippets.map((s) => ('insn' in s ? s : { insn: s }));
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const { text, lineOwner } = render(pending);
    const src = scratchPath('snippets', 'asm');
    const bin = scratchPath('snippets', 'bin');
    writeFileSync(src, text);
    let stderr = '';
    let failed = false;
    try {
      execFileSync('nasm', ['-f', 'bin', '-w-all', '-o', bin, src], { stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
    } catch (e) {
      const err = e as NodeJS.ErrnoException & { stderr?: Buffer };
      if (err.code === 'ENOENT') throw new Error('cpu-diff needs `nasm` on PATH');
      stderr = err.stderr?.toString() ?? String(e);
      failed = true;
    }
    if (!failed) {
      const image = readFileSync(bin);
      rmSync(src, { force: true });
      rmSync(bin, { force: true });
      const view = new DataView(image.buffer, image.byteOffset, image.byteLength);
      const indexAt = image.length - 16 * pending.length;
      pending.forEach((s, i) => {
        if (s === null) return;
        const [off, len, insnStart, insnEnd] = [0, 4, 8, 12].map((k) => view.getUint32(indexAt + 16 * i + k, true)) as [number, number, number, number];
        results[i] = { ok: true, bytes: new Uint8Array(image.subarray(off, off + len)), insnStart, insnEnd };
      });
      return results.map((r) => r ?? { ok: false, error: 'not assembled' });
    }
    rmSync(src, { force: true });
    rmSync(bin, { force: true });
    // Attribute each error to its snippet, drop those snippets and try again.
    let attributed = 0;
    for (const m of stderr.matchAll(/^[^\n]*?:(\d+): (?:error|fatal): ([^\n]*)$/gm)) {
      const owner = lineOwner[Number(m[1]) - 1] ?? -1;
      if (owner < 0 || pending[owner] === null) continue;
      results[owner] = { ok: false, error: `nasm: ${m[2]}` };
      pending[owner] = null;
      attributed++;
    }
    if (attributed === 0) throw new Error(`nasm failed on the snippet file:\n${stderr.slice(0, 4000)}`);
  }
  throw new Error(`nasm still failing after ${MAX_ROUNDS} rounds`);
}
