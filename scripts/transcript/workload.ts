// The reference workload (tests/fixtures/workload.sh) and how its transcript
// is taken, so QEMU and our own emulator are measured the same way.
//
// What the transcript contains: exactly what the commands print, LF line
// ends, from the begin marker line to the end marker line inclusive. Echoes
// of the typed commands and prompts are left out. The shell's echo is line
// editing output, not a workload result: busybox's editor interleaves it with
// terminal queries (ESC[6n), redraws long lines with cursor movement
// sequences, and what it sends depends on how the typed bytes were batched. So
// the harness turns echo off in the guest (`stty -echo`; busybox's shell then
// reads plain lines and echoes nothing) and collects each command's output as
// the text between the line being typed and the next prompt.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../images/config.ts';
import { type SerialConsole, SerialConsoleError, normalizeNewlines } from './serial-driver.ts';

export const WORKLOAD_PATH = join(REPO_ROOT, 'tests', 'fixtures', 'workload.sh');
export const QEMU_FIXTURE_PATH = join(REPO_ROOT, 'tests', 'fixtures', 'workload.qemu.txt');
export const BEGIN_MARKER = '=== ts86-workload begin ===';
export const END_MARKER = '=== ts86-workload end ===';
/** The console typing path is only tested with lines this short. */
export const MAX_LINE_LENGTH = 200;

/** The lines a harness types: everything but blank lines and comments. */
export function workloadLines(script: string = readFileSync(WORKLOAD_PATH, 'utf8')): string[] {
  const lines = script.split('\n').filter((l) => l.trim() !== '' && !l.trimStart().startsWith('#'));
  for (const l of lines) {
    if (l.length >= MAX_LINE_LENGTH) throw new SerialConsoleError(`workload line longer than ${MAX_LINE_LENGTH - 1} characters: ${l}`);
  }
  return lines;
}

/**
 * Cuts the workload's part out of console output: from the line that is
 * exactly the begin marker to the line that is exactly the end marker, both
 * kept (so a truncated transcript cannot pass for a whole one). CRLF becomes LF.
 */
export function cutWorkloadTranscript(output: string): string {
  const lines = normalizeNewlines(output).split('\n');
  const begin = lines.indexOf(BEGIN_MARKER);
  const end = lines.indexOf(END_MARKER, begin + 1);
  if (begin < 0) throw new SerialConsoleError(`no "${BEGIN_MARKER}" line in the workload output`);
  if (end < 0) throw new SerialConsoleError(`no "${END_MARKER}" line after the begin marker in the workload output`);
  return `${lines.slice(begin, end + 1).join('\n')}\n`;
}

export interface WorkloadOptions {
  prompt: string;
  lines?: string[];
  /** Per command; generous, since emulators are slow and CI machines busy. */
  timeoutMs?: number;
}

/**
 * Types the workload into a shell that is sitting at its prompt and returns
 * the transcript (see the top of this file). On success the shell is left at
 * its prompt with echo back on.
 */
export async function runWorkload(con: SerialConsole, options: WorkloadOptions): Promise<string> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const lines = options.lines ?? workloadLines();
  await con.run('stty -echo', options.prompt, timeoutMs);
  let output = '';
  for (const line of lines) output += await con.run(line, options.prompt, timeoutMs);
  await con.run('stty echo', options.prompt, timeoutMs);
  return cutWorkloadTranscript(output);
}
