// A guest running in an emulator child process whose stdin/stdout is the
// guest's COM1 (qemu -serial stdio, `ts86 boot`), driven through a
// SerialConsole: wait for the shell, run commands, power off.
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import type { ImageManifest } from '../images/manifest.ts';
import { SerialConsole, SerialConsoleError } from './serial-driver.ts';

/** Guest output after which nothing useful will happen: waits fail at once instead of timing out. */
export const FATAL_GUEST_OUTPUT = [/Kernel panic - not syncing/];

export interface GuestExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export class GuestProcess {
  readonly console: SerialConsole;
  /** Resolves when the emulator exits. */
  readonly exited: Promise<GuestExit>;
  private stderr = '';
  private exit: GuestExit | undefined;

  constructor(
    /** Names the emulator in error messages ("QEMU", "ts86"). */
    readonly emulator: string,
    readonly child: ChildProcessWithoutNullStreams,
    readonly manifest: ImageManifest,
    onOutput?: (text: string) => void,
  ) {
    this.console = new SerialConsole(child.stdin, child.stdout, { onOutput, failOn: FATAL_GUEST_OUTPUT });
    child.stderr.on('data', (d: Buffer) => {
      this.stderr += d.toString();
    });
    // Typing into an emulator that has just exited must fail the wait, not crash the process.
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

  /** Types `poweroff` at the prompt and waits for the emulator to exit. */
  async powerOff(timeoutMs = 60_000): Promise<GuestExit> {
    await this.console.typeLine('poweroff');
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(this.annotate(new SerialConsoleError(`${this.emulator} still running ${timeoutMs} ms after poweroff`))), timeoutMs);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Ends the emulator if it is still running. */
  kill(): void {
    if (!this.exit) this.child.kill('SIGKILL');
  }

  private annotate(e: unknown): Error {
    const err = e instanceof Error ? e : new Error(String(e));
    const status = this.exit ? `\n${this.emulator} exited (code ${this.exit.code}, signal ${this.exit.signal})` : '';
    const stderr = this.stderr.trim() ? `\n${this.emulator} stderr:\n${this.stderr.trim()}` : '';
    err.message += status + stderr;
    return err;
  }
}

