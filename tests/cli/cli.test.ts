// The ts86 command line: documentation, refusal of bad input, run control.
import { describe, it, expect } from 'vitest';
import { OPTIONS, parseCli, UsageError } from '../../src/cli/args.ts';
import { buildKernel, runTs86 } from '../guest/build-kernel.ts';

describe('ts86 --help', () => {
  it('documents every option the parser accepts', async () => {
    const r = await runTs86(['--help']);
    expect(r.status).toBe(0);
    for (const name of Object.keys(OPTIONS)) {
      expect(r.stdout, `--${name} is not documented`).toMatch(new RegExp(`--${name}\\b`));
    }
    expect(r.stdout).toMatch(/ts86 boot --kernel FILE/);
    expect(r.stdout).toMatch(/ts86 run FILE/);
  });
});

describe('bad command lines', () => {
  it('are refused with a message that says what is wrong', () => {
    expect(() => parseCli(['boot'])).toThrow(/needs --kernel/);
    expect(() => parseCli(['run'])).toThrow(/exactly one FILE/);
    expect(() => parseCli(['run', 'k.elf', '--initrd', 'x'])).toThrow(/--initrd is for "ts86 boot"/);
    expect(() => parseCli(['boot', '--kernel', 'k', '--memory', 'lots'])).toThrow(/--memory needs a positive whole number/);
    expect(() => parseCli(['boot', '--kernel', 'k', '--clock', 'fast'])).toThrow(/--clock must be/);
    expect(() => parseCli(['boot', '--kernel', 'k', '--disk-error', 'ignore'])).toThrow(/--disk-error must be "stop" or "report", got "ignore"/);
    expect(() => parseCli(['run', 'k', '--disk-error', 'report'])).toThrow(/--disk-error is for "ts86 boot"/);
    expect(parseCli(['boot', '--kernel', 'k']).diskError).toBe('stop');
    expect(parseCli(['boot', '--kernel', 'k', '--disk-error', 'report']).diskError).toBe('report');
    expect(() => parseCli(['boot', '--kernel', 'k', '--disk-queues', '0'])).toThrow(/--disk-queues needs a positive whole number/);
    expect(() => parseCli(['boot', '--kernel', 'k', '--disk-queues', '17'])).toThrow(/--disk-queues must be 1 to 16/);
    expect(parseCli(['boot', '--kernel', 'k', '--disk-queues', '4']).diskQueues).toBe(4);
    expect(() => parseCli(['fly'])).toThrow(UsageError);
    expect(() => parseCli(['run', 'k', '--bogus'])).toThrow(/Unknown option '--bogus'/);
  });

  it('exit with status 1 and the reason on stderr', async () => {
    const r = await runTs86(['boot', '--kernel', '/nonexistent/bzImage']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/cannot read kernel "\/nonexistent\/bzImage": ENOENT/);
    const small = await runTs86(['run', buildKernel('hello.asm'), '--memory', '8']);
    expect(small.status).toBe(1);
    expect(small.stderr).toMatch(/8 MiB is outside the supported range/);
  });

  it('refuse a file that is not a multiboot kernel', async () => {
    const r = await runTs86(['run', '/etc/hostname']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/not a multiboot kernel/);
  });
});

describe('run control', () => {
  it('--max-seconds stops a runaway guest with status 124', async () => {
    const t0 = Date.now();
    const r = await runTs86(['run', buildKernel('spin.asm'), '--max-seconds', '1']);
    expect(r.stdout).toBe('spinning\n');
    expect(r.status).toBe(124);
    expect(r.stderr).toMatch(/stopped after --max-seconds 1/);
    expect(Date.now() - t0).toBeLessThan(30_000);
  });

  it('--stats prints one JSON line of counters to stderr', async () => {
    const r = await runTs86(['run', buildKernel('hello.asm'), '--stats']);
    const line = r.stderr.trim().split('\n').pop()!;
    const stats = JSON.parse(line);
    expect(stats.result).toBe('exit');
    expect(stats.instructions).toBeGreaterThan(100);
    expect(typeof stats.mips).toBe('number');
    expect(stats.com1.txBytes).toBe('hello from ts86 multiboot\n54321\n'.length);
  });
});
