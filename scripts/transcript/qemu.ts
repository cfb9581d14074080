// Booting the default images in qemu-system-i386 (TCG) with COM1 on the
// process's stdin/stdout, driven through a SerialConsole: the reference
// machine that our emulator's transcripts are compared with.
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { join } from 'node:path';
import { IMAGES_DIR } from '../images/config.ts';
import { ImageBuildError, hasCommand } from '../images/exec.ts';
import { INITRD_NAME, type ImageManifest, KERNEL_NAME, readManifest } from '../images/manifest.ts';
import { SerialConsole, SerialConsoleError } from './serial-driver.ts';

export const QEMU_BINARY = 'qemu-system-i386';
/** Guest output after which nothing useful will happen: waits fail at once instead of timing out. */
export const FATAL_GUEST_OUTPUT = [/Kernel panic - not syncing/];

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

export interface QemuExit {
  code: number | null;
  signal: NodeJS.Signals | null;
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

export class QemuGuest {
  readonly console: SerialConsole;
  /** Resolves when QEMU exits. */
  readonly exited: Promise<QemuExit>;
  private stderr = '';
  private exit: QemuExit | undefined;

  constructor(
    readonly child: ChildProcessWithoutNullStreams,
    readonly manifest: ImageManifest,
    onOutput?: (text: string) => void,
  ) {
    this.console = new SerialConsole(child.stdin, child.stdout, { onOutput, failOn: FATAL_GUEST_OUTPUT });
    child.stderr.on('data', (d: Buffer) => {
      this.stderr += d.toString();
    });
    // Typing into a QEMU that has just exited must fail the wait, not crash the process.
    child.stdin.on('error', () => {});
    child.on('error', (e) => {
      this.stderr += `\n${e.message}`;
    });
    this.exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        this.exit = { code, signal };
        resolve(this.exit);
      });
    });
  }

  /** Waits for /init's ready line and then the shell's first prompt. */
  async waitForShell(timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    try {
      await this.console.waitFor(this.manifest.readyLine, timeoutMs);
      await this.console.waitFor(this.manifest.prompt, Math.max(1, deadline - Date.now()));
    } catch (e) {
      throw this.annotate(e);
    }
  }

  /** Runs a shell command at the prompt; see SerialConsole.run. */
  async run(line: string, timeoutMs = 60_000): Promise<string> {
    try {
      return await this.console.run(line, this.manifest.prompt, timeoutMs);
    } catch (e) {
      throw this.annotate(e);
    }
  }

  /** Types `poweroff` at the prompt and waits for QEMU to exit. */
  async powerOff(timeoutMs = 60_000): Promise<QemuExit> {
    await this.console.typeLine('poweroff');
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(this.annotate(new SerialConsoleError(`QEMU still running ${timeoutMs} ms after poweroff`))), timeoutMs);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Ends QEMU if it is still running. */
  kill(): void {
    if (!this.exit) this.child.kill('SIGKILL');
  }

  private annotate(e: unknown): Error {
    const err = e instanceof Error ? e : new Error(String(e));
    const status = this.exit ? `\nQEMU exited (code ${this.exit.code}, signal ${this.exit.signal})` : '';
    const stderr = this.stderr.trim() ? `\nQEMU stderr:\n${this.stderr.trim()}` : '';
    err.message += status + stderr;
    return err;
  }
}

/** Starts QEMU on the images. Call waitForShell() next, and kill() when done. */
export function bootQemu(options: QemuBootOptions = {}): QemuGuest {
  if (!hasCommand(QEMU_BINARY)) throw new ImageBuildError(`${QEMU_BINARY} not found: apt-get install qemu-system-x86`);
  const imagesDir = options.imagesDir ?? IMAGES_DIR;
  const manifest = options.manifest ?? readManifest(imagesDir);
  const child = spawn(QEMU_BINARY, [...qemuArgs(imagesDir, manifest, options.memoryMiB), ...(options.extraArgs ?? [])], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  return new QemuGuest(child, manifest, options.onOutput);
}
