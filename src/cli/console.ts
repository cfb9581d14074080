// Connects a UART to this process's standard input and output: raw mode on
// a terminal, buffered output, and the Ctrl-A escapes: x quits, c continues
// a machine a failing disk paused.
import type { Uart16550 } from '../devices/uart16550.ts';

const CTRL_A = 0x01;

export class StdioConsole {
  private out: number[] = [];
  private escape = false;
  private flushTimer: ReturnType<typeof setInterval> | null = null;
  private readonly onData = (buf: Buffer): void => this.input(buf);

  constructor(
    private readonly uart: Uart16550,
    private readonly onInput: () => void,
    private readonly onQuit: () => void,
    private readonly onContinue: () => void = () => {},
  ) {}

  start(): void {
    this.uart.onTransmit = (b) => {
      this.out.push(b);
      if (this.out.length >= 4096) this.flush();
    };
    this.flushTimer = setInterval(() => this.flush(), 10);
    const stdin = process.stdin;
    if (stdin.isTTY) stdin.setRawMode(true);
    stdin.on('data', this.onData);
    stdin.resume();
  }

  private input(buf: Buffer): void {
    const pass: number[] = [];
    for (const b of buf) {
      if (this.escape) {
        this.escape = false;
        if (b === 0x78 /* x */) { this.onQuit(); return; }
        if (b === 0x63 /* c */) { this.onContinue(); continue; }
        if (b === CTRL_A) pass.push(CTRL_A);
        continue;
      }
      if (b === CTRL_A && process.stdin.isTTY) { this.escape = true; continue; }
      pass.push(b);
    }
    if (pass.length) {
      this.uart.receive(pass);
      this.onInput();
    }
  }

  flush(): void {
    if (this.out.length === 0) return;
    process.stdout.write(Buffer.from(this.out));
    this.out = [];
  }

  stop(): Promise<void> {
    if (this.flushTimer) clearInterval(this.flushTimer);
    this.flush();
    const stdin = process.stdin;
    stdin.off('data', this.onData);
    if (stdin.isTTY) stdin.setRawMode(false);
    stdin.pause();
    return new Promise((resolve) => process.stdout.write('', () => resolve()));
  }
}
