// `npm run bench:cpu`: CPU-bound guest loops (ALU, memory, string ops,
// calls, x87) as multiboot kernels, run under ts86 and under v86 in the same
// process, one after the other. Prints each side's time and MIPS (the
// instruction count is ts86's exact count for the timed part; both run the
// same binary) and the speed ratio ts86/v86.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startV86, type SerialSession } from './lib/v86-node.ts';
import { startTs86 } from './lib/ts86-node.ts';

const ROOT = new URL('..', import.meta.url).pathname;
const OUT = join(ROOT, '.cache', 'bench');
const WORKLOADS = ['alu', 'memory', 'string', 'calls', 'x87'];
const TIMEOUT_MS = 300_000;

function build(n: number): Uint8Array {
  mkdirSync(OUT, { recursive: true });
  const out = join(OUT, `cpu-loops-${n}.bin`);
  execFileSync('nasm', ['-f', 'bin', `-DWORKLOAD=${n}`, join(ROOT, 'bench/guest/cpu-loops.asm'), '-o', out]);
  return new Uint8Array(readFileSync(out));
}

/** Times the part between "go" and "end"; `t0` when the caller already saw "go" (its arrival time). */
async function timeRun(session: SerialSession, t0?: number): Promise<{ ms: number; checksum: string }> {
  t0 ??= await session.waitFor(/go\n/, TIMEOUT_MS);
  const t1 = await session.waitFor(/end [0-9A-F]{8}\n/, TIMEOUT_MS);
  const checksum = /end ([0-9A-F]{8})/.exec(session.output())![1];
  await session.stop();
  return { ms: t1 - t0, checksum };
}

async function main(): Promise<void> {
  const only = process.argv[2];
  console.log('workload   ts86 ms   ts86 MIPS   v86 ms   v86 MIPS   ratio (ts86 speed / v86 speed)');
  for (let n = 1; n <= WORKLOADS.length; n++) {
    const name = WORKLOADS[n - 1];
    if (only && only !== name) continue;
    const kernel = build(n);
    let ours;
    let icount = 0;
    try {
      const s = startTs86({ multiboot: kernel, memoryMiB: 64 });
      const t0 = await s.waitFor(/go\n/, TIMEOUT_MS);
      const i0 = s.instructions();
      ours = await timeRun(s, t0);
      icount = s.instructions() - i0;
    } catch (e) {
      console.log(`${name.padEnd(10)} ts86 failed: ${(e as Error).message.slice(0, 200)}`);
      continue;
    }
    const theirs = await timeRun(await startV86({ multiboot: kernel, memoryMiB: 64 }));
    if (theirs.checksum !== ours.checksum) console.log(`  WARNING: checksums differ (ts86 ${ours.checksum}, v86 ${theirs.checksum})`);
    const mips = (ms: number): string => (icount / ms / 1000).toFixed(1);
    console.log(`${name.padEnd(10)} ${ours.ms.toFixed(0).padStart(7)}   ${mips(ours.ms).padStart(9)}   ${theirs.ms.toFixed(0).padStart(6)}   ${mips(theirs.ms).padStart(8)}   ${(theirs.ms / ours.ms).toFixed(3)}`);
  }
}

await main();
process.exit(0);
