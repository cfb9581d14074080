// Records the reference transcript: boots the default images in QEMU TCG,
// types tests/fixtures/workload.sh into the serial shell, writes what it
// printed to tests/fixtures/workload.qemu.txt (see workload.ts for exactly
// what is kept), then powers the guest off and checks that QEMU exits cleanly.
//
//   npx tsx scripts/transcript/record-qemu.ts [--out FILE] [--images DIR] [--verbose]
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { IMAGES_DIR } from '../images/config.ts';
import { ImageBuildError } from '../images/exec.ts';
import { bootQemu } from './qemu.ts';
import { SerialConsoleError } from './serial-driver.ts';
import { QEMU_FIXTURE_PATH, runWorkload } from './workload.ts';

export interface RecordOptions {
  imagesDir?: string;
  /** Where to write the transcript; undefined writes nothing (just returns it). */
  out?: string;
  onOutput?: (text: string) => void;
}

export interface Recording {
  transcript: string;
  bootSeconds: number;
  workloadSeconds: number;
}

export async function recordQemuTranscript(options: RecordOptions = {}): Promise<Recording> {
  const started = Date.now();
  const guest = bootQemu({ imagesDir: options.imagesDir ?? IMAGES_DIR, onOutput: options.onOutput });
  try {
    await guest.waitForShell();
    const booted = Date.now();
    const transcript = await runWorkload(guest.console, { prompt: guest.manifest.prompt });
    const done = Date.now();
    const exit = await guest.powerOff();
    if (exit.code !== 0) throw new SerialConsoleError(`QEMU exited with code ${exit.code} (signal ${exit.signal}) after poweroff, expected 0`);
    if (options.out) writeFileSync(options.out, transcript);
    return { transcript, bootSeconds: (booted - started) / 1000, workloadSeconds: (done - booted) / 1000 };
  } finally {
    guest.kill();
  }
}

async function main(argv: string[]): Promise<number> {
  let out = QEMU_FIXTURE_PATH;
  let imagesDir = IMAGES_DIR;
  let verbose = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--out' && argv[i + 1]) out = argv[++i]!;
    else if (a === '--images' && argv[i + 1]) imagesDir = argv[++i]!;
    else if (a === '--verbose' || a === '-v') verbose = true;
    else {
      console.error(`usage: record-qemu.ts [--out FILE] [--images DIR] [--verbose]\n  default --out ${out}`);
      return 2;
    }
  }
  try {
    const r = await recordQemuTranscript({ imagesDir, out, onOutput: verbose ? (t) => process.stderr.write(t) : undefined });
    const lines = r.transcript.split('\n').length - 1;
    console.log(`wrote ${out}: ${lines} lines (boot ${r.bootSeconds.toFixed(1)} s, workload ${r.workloadSeconds.toFixed(1)} s)`);
    return 0;
  } catch (e) {
    if (e instanceof ImageBuildError || e instanceof SerialConsoleError) {
      console.error(`record-qemu: ${e.message}`);
      return 1;
    }
    throw e;
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) process.exitCode = await main(process.argv.slice(2));
