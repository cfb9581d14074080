// Run as a child process by qemu-process.test.ts: launches QEMU, prints its
// pid, then waits to be killed with SIGKILL (so no cleanup code runs). The
// test then checks that QEMU died with it (setpriv --pdeathsig). The test
// points TMPDIR at a directory of its own, which it removes afterwards: the
// killed process cannot clean up after itself.
import os from 'node:os';
import { launchQemu } from '../qemu-process.ts';
import { writeEchoGuest } from './echo-guest-file.ts';

const kernel = await writeEchoGuest(os.tmpdir(), 'orphan-check.elf');
const vm = await launchQemu({ arch: 'i386', accel: 'tcg', kernel, memoryMiB: 16, noReboot: false, network: 'none' });
process.stdout.write(`${vm.pid}\n`);
setInterval(() => {}, 1000);
