// The console driver and the transcript rules, against a scripted fake guest
// (two PassThrough streams) and a real child process.
import { spawn } from 'node:child_process';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { SerialConsole, SerialConsoleError, normalizeNewlines } from '../../scripts/transcript/serial-driver.ts';
import { BEGIN_MARKER, END_MARKER, MAX_LINE_LENGTH, cutWorkloadTranscript, workloadLines } from '../../scripts/transcript/workload.ts';

function fakeGuest() {
  const toGuest = new PassThrough();
  const fromGuest = new PassThrough();
  const typed: string[] = [];
  toGuest.on('data', (d: Buffer) => typed.push(d.toString('latin1')));
  return { con: new SerialConsole(toGuest, fromGuest, { failOn: [/Kernel panic/] }), say: (s: string) => fromGuest.write(Buffer.from(s, 'latin1')), fromGuest, typed };
}

describe('SerialConsole', () => {
  it('waits for text across chunks and moves its cursor past each match', async () => {
    const { con, say } = fakeGuest();
    const ready = con.waitFor('ready', 1000);
    say('booting...\r\nrea');
    say('dy\r\n~ # ');
    expect(await ready).toEqual({ before: 'booting...\r\n', match: 'ready' });
    expect((await con.waitFor(/~ # /, 1000)).before).toBe('\r\n');
    expect(con.cursor).toBe(con.received.length);
    // Text before the cursor is never matched again.
    const again = con.waitFor('ready', 50);
    await expect(again).rejects.toThrow(/timed out after 50 ms waiting for "ready"/);
  });

  it('types lines with CR and returns what came before the next prompt', async () => {
    const { con, say, typed } = fakeGuest();
    const out = con.run('echo $((6*7))', '~ # ', 1000);
    await new Promise((r) => setImmediate(r));
    expect(typed).toEqual(['echo $((6*7))\r']);
    say('echo $((6*7))\r\n42\r\n~ # ');
    expect(normalizeNewlines(await out)).toBe('echo $((6*7))\n42\n');
    expect(() => con.typeLine('two\nlines')).toThrow(SerialConsoleError);
  });

  it('keeps bytes as they were sent (latin1), even split multi-byte sequences', async () => {
    const { con, fromGuest } = fakeGuest();
    const bytes = Buffer.from('caf\u00e9 \u2713\n', 'utf8');
    fromGuest.write(bytes.subarray(0, 4));
    fromGuest.write(bytes.subarray(4));
    await con.waitFor('\n', 1000);
    expect(Buffer.from(con.received, 'latin1').equals(bytes)).toBe(true);
  });

  it('fails a wait at once on fatal output or when the guest goes away, with the tail of the output', async () => {
    const a = fakeGuest();
    const w1 = a.con.waitFor('~ # ', 10_000);
    a.say('[ 1.0] Kernel panic - not syncing: VFS');
    await expect(w1).rejects.toThrow(/matched \/Kernel panic\/[\s\S]*not syncing: VFS/);

    const b = fakeGuest();
    const w2 = b.con.waitFor('~ # ', 10_000);
    b.say('partial output');
    b.fromGuest.end();
    await expect(w2).rejects.toThrow(/ended while waiting[\s\S]*partial output/);
    await expect(b.con.write('x')).rejects.toThrow(SerialConsoleError);
  });

  it('drives a real child process through its stdin and stdout', async () => {
    // A line-oriented "shell": prints a prompt, answers each line, exits on "bye".
    const child = spawn(
      process.execPath,
      [
        '-e',
        `process.stdout.write('$ ');
         let buf = '';
         process.stdin.on('data', (d) => {
           buf += d;
           let i;
           while ((i = buf.indexOf('\\r')) >= 0) {
             const line = buf.slice(0, i); buf = buf.slice(i + 1);
             if (line === 'bye') process.exit(0);
             process.stdout.write(line.toUpperCase() + '\\r\\n$ ');
           }
         });`,
      ],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    const con = new SerialConsole(child.stdin, child.stdout);
    await con.waitFor('$ ', 5000);
    expect(await con.run('hello', '$ ', 5000)).toBe('HELLO\r\n');
    expect(await con.run('again', '$ ', 5000)).toBe('AGAIN\r\n');
    await con.typeLine('bye');
    const exit = await new Promise((r) => child.on('exit', r));
    expect(exit).toBe(0);
  });
});

describe('workload transcript rules', () => {
  it('cuts from the begin marker line to the end marker line, normalising line ends', () => {
    const serial = `boot noise\r\n~ # echo '${BEGIN_MARKER}'\r\n${BEGIN_MARKER}\r\n42\r\n\r\nlast\r\n${END_MARKER}\r\n~ # `;
    expect(cutWorkloadTranscript(serial)).toBe(`${BEGIN_MARKER}\n42\n\nlast\n${END_MARKER}\n`);
    expect(() => cutWorkloadTranscript(`${BEGIN_MARKER}\n42\n`)).toThrow(/end/);
    expect(() => cutWorkloadTranscript(`42\n${END_MARKER}\n`)).toThrow(/begin/);
  });

  it('types only commands, and the workload starts and ends with its markers', () => {
    expect(workloadLines('# comment\n\necho a\n  # indented comment\necho b\n')).toEqual(['echo a', 'echo b']);
    expect(() => workloadLines(`echo ${'x'.repeat(MAX_LINE_LENGTH)}\n`)).toThrow(/longer than/);
    const lines = workloadLines();
    expect(lines[0]).toBe(`echo '${BEGIN_MARKER}'`);
    expect(lines.at(-1)).toBe(`echo '${END_MARKER}'`);
    expect(lines.length).toBeGreaterThan(20);
  });
});
