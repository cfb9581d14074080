// Booting the default images under our own `ts86 boot` (COM1 on the child's
// stdin/stdout), driven exactly like the QEMU reference machine.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { IMAGES_DIR, REPO_ROOT } from '../images/config.ts';
import { INITRD_NAME, type ImageManifest, KERNEL_NAME, readManifest } from '../images/manifest.ts';
import { GuestProcess } from './guest-process.ts';

export interface Ts86BootOptions {
  imagesDir?: string;
  manifest?: ImageManifest;
  memoryMiB?: number;
  /** Stop the emulator after this many seconds (ts86 --max-seconds). */
  maxSeconds?: number;
  extraArgs?: string[];
  onOutput?: (text: string) => void;
}

export function ts86BootArgs(imagesDir: string, manifest: ImageManifest, memoryMiB = 128): string[] {
  return [
    join(REPO_ROOT, 'bin', 'ts86.js'), 'boot',
    '--kernel', join(imagesDir, KERNEL_NAME),
    '--initrd', join(imagesDir, INITRD_NAME),
    '--append', manifest.cmdline,
    '--memory', String(memoryMiB),
    // As QEMU runs with -no-reboot: a reset ends the run instead of looping.
    '--no-reboot',
  ];
}

/** Starts `ts86 boot` on the images. Call waitForShell() next, and kill() when done. */
export function bootTs86(options: Ts86BootOptions = {}): GuestProcess {
  const imagesDir = options.imagesDir ?? IMAGES_DIR;
  const manifest = options.manifest ?? readManifest(imagesDir);
  const args = [...ts86BootArgs(imagesDir, manifest, options.memoryMiB), ...(options.extraArgs ?? [])];
  if (options.maxSeconds) args.push('--max-seconds', String(options.maxSeconds));
  const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  return new GuestProcess('ts86', child, manifest, options.onOutput);
}
