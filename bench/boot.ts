// `npm run bench:boot`: boots the default images to the first userspace line
// (the initramfs' ready line) and runs the scripted workload
// (tests/fixtures/workload.sh), under ts86 (`ts86 boot`, a child process)
// and under v86 (npm `v86` with Debian's SeaBIOS, in this process), one after
// the other in the same run. Prints both times, the ratios, ts86's peak RSS
// against guest RAM + 200 MB, and whether both transcripts match QEMU's.
import { readFileSync } from 'node:fs';
import { PassThrough, Writable } from 'node:stream';
import { IMAGES_DIR } from '../scripts/images/config.ts';
import { INITRD_NAME, KERNEL_NAME, readManifest } from '../scripts/images/manifest.ts';
import { buildImages } from '../scripts/images/build-images.ts';
import { bootTs86 } from '../scripts/transcript/ts86.ts';
import { SerialConsole } from '../scripts/transcript/serial-driver.ts';
import { QEMU_FIXTURE_PATH, runWorkload } from '../scripts/transcript/workload.ts';
import { startV86 } from './lib/v86-node.ts';

const MEMORY_MIB = 128;
const BOOT_TIMEOUT_MS = 30 * 60_000;

interface Result { bootMs: number; workloadMs: number; transcriptOk: boolean; peakRssMiB?: number }

function peakRssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? NaN);
  return kb / 1024;
}

async function measure(con: SerialConsole, readyLine: string, prompt: string, t0: number): Promise<Omit<Result, 'peakRssMiB'>> {
  await con.waitFor(readyLine, BOOT_TIMEOUT_MS);
  const bootMs = performance.now() - t0;
  await con.waitFor(prompt, BOOT_TIMEOUT_MS);
  const w0 = performance.now();
  const transcript = await runWorkload(con, { prompt, timeoutMs: 600_000 });
  const workloadMs = performance.now() - w0;
  return { bootMs, workloadMs, transcriptOk: transcript === readFileSync(QEMU_FIXTURE_PATH, 'utf8') };
}

async function runTs86(readyLine: string, prompt: string): Promise<Result> {
  const t0 = performance.now();
  const guest = bootTs86({ memoryMiB: MEMORY_MIB });
  try {
    const r = await measure(guest.console, readyLine, prompt, t0);
    return { ...r, peakRssMiB: peakRssMiB(guest.child.pid!) };
  } finally {
    guest.kill();
  }
}

async function runV86(cmdline: string, readyLine: string, prompt: string): Promise<Result> {
  const out = new PassThrough();
  let send: (s: string) => void = () => {};
  const input = new Writable({ write(chunk, _enc, done) { send(chunk.toString('latin1')); done(); } });
  const con = new SerialConsole(input, out);
  const t0 = performance.now();
  const v86 = await startV86({
    bzimage: new Uint8Array(readFileSync(`${IMAGES_DIR}/${KERNEL_NAME}`)),
    initrd: new Uint8Array(readFileSync(`${IMAGES_DIR}/${INITRD_NAME}`)),
    cmdline,
    memoryMiB: MEMORY_MIB,
    onByte: (b) => out.write(Buffer.from([b])),
  });
  send = (s) => v86.send(s);
  try {
    return await measure(con, readyLine, prompt, t0);
  } finally {
    await v86.stop();
  }
}

async function main(): Promise<void> {
  buildImages({ log: () => {} });
  const m = readManifest(IMAGES_DIR);
  const ts86 = await runTs86(m.readyLine, m.prompt);
  const v86 = await runV86(m.cmdline, m.readyLine, m.prompt);
  const s = (ms: number): string => (ms / 1000).toFixed(1).padStart(7);
  console.log('            boot (s)  workload (s)  transcript = QEMU');
  console.log(`ts86      ${s(ts86.bootMs)}  ${s(ts86.workloadMs)}       ${ts86.transcriptOk}`);
  console.log(`v86       ${s(v86.bootMs)}  ${s(v86.workloadMs)}       ${v86.transcriptOk}`);
  console.log(`ratio ts86/v86 (time): boot ${(ts86.bootMs / v86.bootMs).toFixed(2)}x, workload ${(ts86.workloadMs / v86.workloadMs).toFixed(2)}x (target ≤ 3x)`);
  console.log(`ts86 peak RSS ${ts86.peakRssMiB!.toFixed(0)} MiB; guest RAM + 200 MB = ${MEMORY_MIB + 200} MiB`);
}

await main();
process.exit(0);
