// Command-line parsing for `ts86`, with the help text that documents every
// option. Bad options are refused with a message that says what to do.
import { parseArgs } from 'node:util';

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export const HELP = `ts86 — an x86 PC emulator (TypeScript)

Usage:
  ts86 boot --kernel FILE [--initrd FILE] [--append STR] [--disk FILE] [options]
      Boot a Linux bzImage with the Linux boot protocol (as a boot loader would).
  ts86 run FILE [--append STR] [options]
      Run a multiboot (v1) ELF32 kernel, as "qemu-system-i386 -kernel FILE" does.
  ts86 help
      Show this text.

Boot options:
  --kernel FILE       Linux kernel image (bzImage), for "boot".
  --initrd FILE       initial ramdisk (cpio, optionally compressed), for "boot".
  --append STR        kernel command line (multiboot: passed in the info structure).
  --disk FILE         raw disk image attached as a virtio-blk disk, for "boot";
                      repeat it for more disks (each its own PCI device).
  --disk-error MODE   what a failing disk file (full host disk, I/O error) does:
                      "stop" (default) pauses the machine with the request held
                      and says so; type Ctrl-A then c (or send SIGUSR1) to retry
                      it once the cause is fixed; "report" gives the guest an
                      I/O error instead, like a failing drive.
  --disk-queues N     request queues per disk, 1 to 16 (default 1; more than 1
                      offers VIRTIO_BLK_F_MQ, as QEMU's num-queues does).
  --disk-trace FILE   record every request the disks receive (JSON lines:
                      disk, time in ms, op, sector, count, fua) to FILE.
  --iommu             add a virtio-iommu (PCI 00:03.0, described by the ACPI
                      VIOT table): every disk's DMA is translated through the
                      mappings the guest makes, and refused outside them with
                      a fault event, like QEMU's -device virtio-iommu-pci with
                      iommu_platform=on disks. Until the guest's virtio_iommu
                      driver turns bypass off, devices it has not attached
                      to a domain reach memory untranslated (QEMU's boot
                      bypass), so a guest without the driver (Debian's 686
                      kernel has none) keeps its disks. --stats adds the
                      IOMMU's counters.

Machine options:
  --memory MiB        guest RAM in MiB, 16 to 2048 (default 128).
  --clock MODE        "wall" (default): guest time follows real time;
                      "deterministic": time derives from instructions executed,
                      so runs repeat exactly.
  --no-reboot         exit (status 0) when the guest resets instead of rebooting,
                      like QEMU's -no-reboot.

Run control and reporting:
  --max-seconds N     stop a guest still running after N seconds; exit status 124.
  --stats             print one JSON line of counters (instructions, MIPS,
                      device counters) to stderr at exit.
  --scan-signatures FILE
                      scan guest code pages against ClamAV signatures the
                      first time they execute after being written: .ndb body
                      signatures (target type 0, offset *) and .hdb MD5
                      hashes (size 4096: a whole page). Repeat it or give a
                      comma list. Each match is printed to stderr; --stats
                      adds the scanner's counters.
  -h, --help          show this text.
  --version           print the version.

Console:
  COM1 is connected to standard input and output. When standard input is a
  terminal it is put in raw mode so a shell in the guest works as usual
  (Ctrl-C goes to the guest). Type Ctrl-A then x to quit ts86, Ctrl-A then c
  to continue after a disk error paused the machine.

Exit status:
  0     the guest powered off (ACPI S5), or reset with --no-reboot
  N     the guest wrote V to port 0xf4 (isa-debug-exit): N = (V << 1) | 1
  1     bad command line or unusable image (the message says why)
  2     emulator fault (a dump of the CPU state is printed to stderr)
  124   --max-seconds elapsed
`;

export interface CliOptions {
  command: 'boot' | 'run' | 'help' | 'version';
  kernel?: string;
  initrd?: string;
  append: string;
  disks: string[];
  diskError: 'stop' | 'report';
  diskTrace?: string;
  diskQueues: number;
  iommu: boolean;
  file?: string;
  memoryMiB: number;
  clock: 'wall' | 'deterministic';
  noReboot: boolean;
  maxSeconds?: number;
  stats: boolean;
  scanSignatures: string[];
}

/** Every option `ts86` accepts (the help text documents each; a test checks that). */
export const OPTIONS = {
  kernel: { type: 'string' },
  initrd: { type: 'string' },
  append: { type: 'string' },
  disk: { type: 'string', multiple: true },
  'disk-error': { type: 'string' },
  'disk-trace': { type: 'string' },
  'disk-queues': { type: 'string' },
  iommu: { type: 'boolean' },
  memory: { type: 'string' },
  clock: { type: 'string' },
  'no-reboot': { type: 'boolean' },
  'max-seconds': { type: 'string' },
  stats: { type: 'boolean' },
  'scan-signatures': { type: 'string', multiple: true },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
} as const;

function positiveNumber(name: string, v: string | undefined, integer: boolean): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    throw new UsageError(`--${name} needs a positive ${integer ? 'whole ' : ''}number, got "${v}"`);
  }
  return n;
}

export function parseCli(argv: string[]): CliOptions {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, strict: true, options: OPTIONS });
  } catch (e) {
    throw new UsageError(`${(e as Error).message}. Run "ts86 --help" for the options.`);
  }
  const { values: v, positionals } = parsed;
  const command = v.help ? 'help' : v.version ? 'version' : (positionals[0] ?? 'help');
  if (!['boot', 'run', 'help', 'version'].includes(command)) {
    throw new UsageError(`unknown command "${command}"; use "boot", "run" or "help"`);
  }
  const clock = v.clock ?? 'wall';
  if (clock !== 'wall' && clock !== 'deterministic') {
    throw new UsageError(`--clock must be "wall" or "deterministic", got "${clock}"`);
  }
  const diskError = v['disk-error'] ?? 'stop';
  if (diskError !== 'stop' && diskError !== 'report') {
    throw new UsageError(`--disk-error must be "stop" or "report", got "${diskError}"`);
  }
  const opts: CliOptions = {
    command: command as CliOptions['command'],
    kernel: v.kernel,
    initrd: v.initrd,
    append: v.append ?? '',
    disks: v.disk ?? [],
    diskError,
    diskTrace: v['disk-trace'],
    diskQueues: positiveNumber('disk-queues', v['disk-queues'], true) ?? 1,
    iommu: v.iommu ?? false,
    memoryMiB: positiveNumber('memory', v.memory, true) ?? 128,
    clock,
    noReboot: v['no-reboot'] ?? false,
    maxSeconds: positiveNumber('max-seconds', v['max-seconds'], false),
    stats: v.stats ?? false,
    scanSignatures: (v['scan-signatures'] ?? []).flatMap((s) => s.split(',')).filter((s) => s !== ''),
  };
  if (opts.diskQueues > 16) throw new UsageError(`--disk-queues must be 1 to 16, got ${opts.diskQueues}`);
  if (command === 'boot') {
    if (!opts.kernel) throw new UsageError('"ts86 boot" needs --kernel FILE (a Linux bzImage)');
    if (positionals.length > 1) throw new UsageError(`unexpected argument "${positionals[1]}"`);
  }
  if (command === 'run') {
    if (positionals.length !== 2) throw new UsageError('"ts86 run" needs exactly one FILE (a multiboot ELF32 kernel)');
    opts.file = positionals[1];
    for (const name of ['kernel', 'initrd', 'disk', 'disk-error', 'disk-trace', 'disk-queues', 'iommu'] as const) {
      if (v[name] !== undefined) throw new UsageError(`--${name} is for "ts86 boot", not "ts86 run"`);
    }
  }
  return opts;
}
