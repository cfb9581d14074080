// The `ts86` command: boots a Linux kernel or runs a multiboot kernel on the
// PC board, with COM1 on standard input/output.
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { resolve } from 'node:path';
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
import { openFileDisk } from '../storage/node.ts';
import type { BlockDevice } from '../storage/block-device.ts';
import { TracingBlockDevice } from '../storage/trace.ts';
import { mergeSignatureSets, parseSignatureFile, signatureFileKind, SignatureError, type SignatureSet } from '../scanner/signatures.ts';
import { attachCodeScanner, type CodeScanner } from '../scanner/code-scanner.ts';

/** Why a host file operation failed, as people search for it: the errno code (ENOENT, EACCES...) when there is one. */
function hostFileReason(e: unknown): string {
  return (e as NodeJS.ErrnoException).code ?? (e as Error).message;
}

function readImage(path: string, what: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path));
  } catch (e) {
    throw new BootImageError(`cannot read ${what} "${path}": ${hostFileReason(e)}`);
  }
}


/** Opens the raw images read-write through the Node file backend (flush = fsync). */
async function openDisks(paths: string[]): Promise<BlockDevice[]> {
  const seen = new Set<string>();
  const disks: BlockDevice[] = [];
  try {
    for (const path of paths) {
      const full = resolve(path);
      if (seen.has(full)) throw new BootImageError(`disk image "${path}" is given twice; each --disk needs its own file`);
      seen.add(full);
      try {
        disks.push(await openFileDisk(path));
      } catch (e) {
        throw new BootImageError(`cannot use disk image "${path}": ${(e as Error).message}`);
      }
    }
  } catch (e) {
    await closeDisks(disks);
    throw e;
  }
  return disks;
}

interface TraceFile {
  write(record: object): void;
  close(): void;
}

/** --disk-trace: JSON lines, written synchronously in batches so a crash keeps all but the last few requests. */
function openTrace(path: string): TraceFile {
  let fd: number;
  try {
    fd = openSync(path, 'w');
  } catch (e) {
    throw new UsageError(`cannot write the disk trace "${path}": ${hostFileReason(e)}`);
  }
  let pending: string[] = [];
  const flush = () => {
    if (pending.length) writeSync(fd, pending.join(''));
    pending = [];
  };
  return {
    write(record) {
      pending.push(JSON.stringify(record) + '\n');
      if (pending.length >= 256) flush();
    },
    close() {
      flush();
      closeSync(fd);
    },
  };
}

/** Flushes (fsync) and closes the disks; problems are reported, not thrown. */
async function closeDisks(disks: BlockDevice[]): Promise<boolean> {
  let ok = true;
  for (const d of disks) {
    try {
      if (!d.readOnly) await d.flush();
      await d.close();
    } catch (e) {
      ok = false;
      process.stderr.write(`ts86: closing disk ${d.name}: ${(e as Error).message}\n`);
    }
  }
  return ok;
}

const RESETS_LOGGED = 10;

function exitStatus(result: RunResult): number {
  switch (result.type) {
    case 'poweroff': return 0;
    case 'exit': return result.status;
    case 'timeout': return 124;
    case 'crash': return 2;
    default: return 0;
  }
}

/** --scan-signatures: every file parsed up front, so a bad line stops ts86 before the guest starts. */
function readSignatures(paths: string[]): SignatureSet | null {
  if (paths.length === 0) return null;
  for (const path of paths) signatureFileKind(path);
  return mergeSignatureSets(paths.map((path) => {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (e) {
      throw new UsageError(`cannot read the signature file "${path}": ${hostFileReason(e)}`);
    }
    return parseSignatureFile(path, text);
  }));
}

function attachScanner(pc: Pc, signatures: SignatureSet): CodeScanner {
  const scanner = attachCodeScanner(pc.machine, signatures, (d) => {
    process.stderr.write(`ts86: scanner: ${d.name} at 0x${d.phys.toString(16)} (page first executed after a write)\n`);
  });
  const unusable = signatures.hash.length - scanner.matcher.pageHashCount;
  if (unusable > 0) {
    process.stderr.write(`ts86: scanner: ${unusable} of ${signatures.hash.length} hash signatures are for files of other sizes than a 4096-byte page and can never match\n`);
  }
  return scanner;
}

async function runMachine(opts: CliOptions): Promise<number> {
  const signatures = readSignatures(opts.scanSignatures);
  // Disks first: a bad image is refused before anything else is set up.
  const disks = opts.command === 'boot' ? await openDisks(opts.disks) : [];
  let pc: Pc | null = null;
  let trace: TraceFile | null = null;
  let status = 2;
  try {
    pc = new Pc({ memoryMiB: opts.memoryMiB, clock: opts.clock, noReboot: opts.noReboot, iommu: opts.iommu });
    const m = pc.machine;
    if (opts.command === 'run') {
      const image = readImage(opts.file!, 'kernel');
      m.setBootProgram(multibootBootProgram(image, opts.append, opts.file!));
    } else {
      const kernel = readImage(opts.kernel!, 'kernel');
      const initrd = opts.initrd ? readImage(opts.initrd, 'initrd') : undefined;
      trace = opts.diskTrace ? openTrace(opts.diskTrace) : null;
      disks.forEach((disk, i) => {
        const traced = trace ? new TracingBlockDevice(disk, (r) => trace!.write({ disk: i, ...r })) : disk;
        pc!.attachDisk(traced, { errorPolicy: opts.diskError, queues: opts.diskQueues });
      });
      m.setBootProgram(linuxBootProgram(pc, kernel, initrd, opts.append));
    }
    const scanner = signatures ? attachScanner(pc, signatures) : null;
    status = await runAndReport(pc, opts, scanner);
  } finally {
    // Requests still in flight complete first (and are still traced); then everything written is made durable.
    await pc?.disksIdle();
    trace?.close();
    if (!(await closeDisks(disks)) && status === 0) status = 1;
  }
  return status;
}

async function runAndReport(pc: Pc, opts: CliOptions, scanner: CodeScanner | null): Promise<number> {
  const m = pc.machine;
  // A guest stuck in a reset loop would flood the terminal: log the first few, then a count at exit.
  let resets = 0;
  m.onEvent((e) => {
    if (e.type !== 'reset') return;
    resets++;
    if (resets <= RESETS_LOGGED) process.stderr.write(`ts86: guest reset: ${e.reason}\n`);
    if (resets === RESETS_LOGGED + 1) process.stderr.write('ts86: the guest keeps resetting; further resets are counted, not shown\n');
  });
  const loop = new RunLoop(m, { maxSeconds: opts.maxSeconds });
  process.on('exit', () => { if (resets > RESETS_LOGGED) process.stderr.write(`ts86: the guest reset ${resets} times\n`); });
  pc.wakeHost = () => loop.wake();
  // --disk-error stop: a failing disk pauses the machine with the guest's request held, until the user retries.
  pc.onDiskHeld = (disk, error) => {
    loop.pause();
    process.stderr.write(
      `\r\nts86: disk ${opts.disks[disk] ?? disk} failed: ${error.message}\r\n` +
        `ts86: the machine is paused; writes the guest flushed are stored. Fix the cause, then type Ctrl-A c (or send SIGUSR1 to process ${process.pid}) to retry, or Ctrl-A x to quit.\r\n`,
    );
  };
  const retry = () => {
    if (!loop.isPaused) return;
    process.stderr.write('\r\nts86: retrying the disk and continuing\r\n');
    pc.retryHeldDisks();
    loop.resume();
  };
  process.on('SIGUSR1', retry);
  const console = new StdioConsole(pc.com1, () => loop.wake(), () => loop.stop(), retry);
  console.start();
  const t0 = performance.now();
  const result = await loop.run();
  process.off('SIGUSR1', retry);
  await console.stop();
  if (result.type === 'crash') process.stderr.write(crashDump(m.cpu, result.error) + '\n' + (result.error.stack ?? '') + '\n');
  if (result.type === 'timeout') process.stderr.write(`ts86: stopped after --max-seconds ${opts.maxSeconds}\n`);
  if (opts.stats) {
    const stats = collectStats(pc, loop, (performance.now() - t0) / 1000, result);
    if (scanner) stats.scanner = { ...scanner.counters, scanMs: Number(scanner.counters.scanMs.toFixed(3)) };
    if (pc.iommu) stats.iommu = { ...pc.iommu.device.domains.counters, domains: pc.iommu.device.domains.snapshot().domains.length };
    process.stderr.write(JSON.stringify(stats) + '\n');
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
    if (e instanceof UsageError || e instanceof BootImageError || e instanceof ConfigError || e instanceof SignatureError) {
      process.stderr.write(`ts86: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}
