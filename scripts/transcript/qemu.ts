// Booting the default images in qemu-system-i386 (TCG) with COM1 on the
// process's stdin/stdout, driven through a SerialConsole: the reference
// machine that our emulator's transcripts are compared with.
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { join } from 'node:path';
import { IMAGES_DIR } from '../images/config.ts';
import { ImageBuildError, hasCommand } from '../images/exec.ts';
import { INITRD_NAME, type ImageManifest, KERNEL_NAME, readManifest } from '../images/manifest.ts';
import { GuestProcess } from './guest-process.ts';

export { GuestProcess as QemuGuest, type GuestExit as QemuExit, FATAL_GUEST_OUTPUT } from './guest-process.ts';

export const QEMU_BINARY = 'qemu-system-i386';

export interface QemuBootOptions {
  imagesDir?: string;
  /** Defaults to the manifest in imagesDir. */
  manifest?: ImageManifest;
  memoryMiB?: number;
  /** Appended to QEMU's arguments (e.g. extra devices). */
  extraArgs?: string[];
  /** Sees all guest console output (e.g. to echo it when verbose). */
  onOutput?: (text: string) => void;
}

/** The QEMU command line for the images: an i440FX PC, TCG, serial on stdio, no display, monitor or reboot. */
export function qemuArgs(imagesDir: string, manifest: ImageManifest, memoryMiB = 128): string[] {
  return [
    '-M', 'pc',
    '-accel', 'tcg',
    '-m', String(memoryMiB),
    '-kernel', join(imagesDir, KERNEL_NAME),
    '-initrd', join(imagesDir, INITRD_NAME),
    '-append', manifest.cmdline,
    '-display', 'none',
    '-serial', 'stdio',
    '-monitor', 'none',
    // A guest reboot (including a triple fault) ends QEMU instead of looping.
    '-no-reboot',
  ];
}

/** Starts QEMU on the images. Call waitForShell() next, and kill() when done. */
export function bootQemu(options: QemuBootOptions = {}): GuestProcess {
  if (!hasCommand(QEMU_BINARY)) throw new ImageBuildError(`${QEMU_BINARY} not found: apt-get install qemu-system-x86`);
  const imagesDir = options.imagesDir ?? IMAGES_DIR;
  const manifest = options.manifest ?? readManifest(imagesDir);
  const child = spawn(QEMU_BINARY, [...qemuArgs(imagesDir, manifest, options.memoryMiB), ...(options.extraArgs ?? [])], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  return new GuestProcess('QEMU', child, manifest, options.onOutput);
}
