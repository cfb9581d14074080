// The `ts86` command: boots a Linux kernel or runs a multiboot kernel on the
// PC board, with COM1 on standard input/output.
import { readFileSync } from 'node:fs';
import { parseCli, HELP, UsageError, type CliOptions } from './args.ts';
import { StdioConsole } from './console.ts';
import { Pc } from '../machine/pc.ts';
import { RunLoop, type RunResult } from '../machine/run-loop.ts';
import { multibootBootProgram } from '../machine/boot/multiboot.ts';
import { linuxBootProgram } from '../machine/boot/linux.ts';
import { BootImageError } from '../machine/boot/boot-error.ts';
import { ConfigError } from '../machine/memory.ts';
import { crashDump } from '../machine/crash-dump.ts';
import { collectStats } from '../machine/stats.ts';

function readImage(path: string, what: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path));
  } catch (e) {
    throw new BootImageError(`cannot read ${what} "${path}": ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

function exitStatus(result: RunResult): number {
  switch (result.type) {
    case 'poweroff': return 0;
    case 'exit': return result.status;
    case 'timeout': return 124;
    case 'crash': return 2;
    default: return 0;
  }
}

async function runMachine(opts: CliOptions): Promise<number> {
  const pc = new Pc({ memoryMiB: opts.memoryMiB, clock: opts.clock, noReboot: opts.noReboot });
  const m = pc.machine;
  if (opts.command === 'run') {
    const image = readImage(opts.file!, 'kernel');
    m.setBootProgram(multibootBootProgram(image, opts.append, opts.file!));
  } else {
    const kernel = readImage(opts.kernel!, 'kernel');
    const initrd = opts.initrd ? readImage(opts.initrd, 'initrd') : undefined;
    if (opts.disk) throw new UsageError('--disk needs the virtio-blk device, which this build does not have yet');
    m.setBootProgram(linuxBootProgram(pc, kernel, initrd, opts.append));
  }
  m.onEvent((e) => {
    if (e.type === 'reset') process.stderr.write(`ts86: guest reset: ${e.reason}\n`);
  });
  const loop = new RunLoop(m, { maxSeconds: opts.maxSeconds });
  const console = new StdioConsole(pc.com1, () => loop.wake(), () => loop.stop());
  console.start();
  const t0 = performance.now();
  const result = await loop.run();
  await console.stop();
  if (result.type === 'crash') process.stderr.write(crashDump(m.cpu, result.error) + '\n' + (result.error.stack ?? '') + '\n');
  if (result.type === 'timeout') process.stderr.write(`ts86: stopped after --max-seconds ${opts.maxSeconds}\n`);
  if (opts.stats) {
    process.stderr.write(JSON.stringify(collectStats(pc, loop, (performance.now() - t0) / 1000, result)) + '\n');
  }
  return exitStatus(result);
}

export async function main(argv: string[]): Promise<number> {
  try {
    const opts = parseCli(argv);
    if (opts.command === 'help') {
      process.stdout.write(HELP);
      return 0;
    }
    if (opts.command === 'version') {
      process.stdout.write('ts86 0.1.0\n');
      return 0;
    }
    return await runMachine(opts);
  } catch (e) {
    if (e instanceof UsageError || e instanceof BootImageError || e instanceof ConfigError) {
      process.stderr.write(`ts86: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}
