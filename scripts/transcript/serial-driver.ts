// Driving a guest's serial console through a pair of streams: wait for text to
// appear, type a line, run a shell command and collect what it printed. It
// knows nothing about QEMU; any child process whose stdin/stdout is the
// guest's COM1 (qemu -serial stdio, our own `ts86 boot`) can be driven.
//
// Bytes are decoded as latin1, one character per byte, so a multi-byte
// sequence split across reads never turns into replacement characters and the
// text maps back to the exact bytes the guest sent.
import type { Readable, Writable } from 'node:stream';

export class SerialConsoleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SerialConsoleError';
  }
}

export interface SerialConsoleOptions {
  /** Sees every chunk of guest output as it arrives (e.g. to tee it to a log). */
  onOutput?: (text: string) => void;
  /**
   * Output after which waiting is pointless, e.g. /Kernel panic/: a wait
   * fails as soon as one of these shows up instead of running into its timeout.
   */
  failOn?: RegExp[];
  /** What typing a line ends with; a terminal's Enter key sends CR. */
  enter?: string;
}

interface Waiter {
  find: () => boolean;
  fail: (error: Error) => void;
}

const TAIL = 600;

export class SerialConsole {
  private text = '';
  private pos = 0;
  private ended = false;
  private endReason = '';
  private waiters = new Set<Waiter>();
  private readonly failOn: RegExp[];
  private readonly enter: string;

  constructor(
    private readonly input: Writable,
    output: Readable,
    options: SerialConsoleOptions = {},
  ) {
    this.failOn = options.failOn ?? [];
    this.enter = options.enter ?? '\r';
    output.on('data', (chunk: Buffer | string) => {
      const s = typeof chunk === 'string' ? chunk : chunk.toString('latin1');
      this.text += s;
      options.onOutput?.(s);
      this.poke();
    });
    output.on('end', () => this.end('the console output ended'));
    output.on('close', () => this.end('the console output closed'));
    output.on('error', (e) => this.end(`the console output failed: ${e.message}`));
  }

  /** Everything received so far. */
  get received(): string {
    return this.text;
  }

  /** Where the next wait starts searching: just after the previous match. */
  get cursor(): number {
    return this.pos;
  }

  /**
   * Waits until `pattern` appears after the cursor, moves the cursor past it
   * and returns the text that came before the match and the match itself.
   */
  waitFor(pattern: string | RegExp, timeoutMs: number): Promise<{ before: string; match: string }> {
    return new Promise((resolve, reject) => {
      const describe = typeof pattern === 'string' ? JSON.stringify(pattern) : String(pattern);
      let timer: NodeJS.Timeout | undefined;
      const waiter: Waiter = {
        find: () => {
          const found = this.search(pattern);
          if (found) {
            const before = this.text.slice(this.pos, found.index);
            this.pos = found.index + found.match.length;
            this.settle(waiter, timer);
            resolve({ before, match: found.match });
            return true;
          }
          const fatal = this.failOn.find((re) => re.test(this.text.slice(this.pos)));
          if (fatal) {
            waiter.fail(new SerialConsoleError(`guest output matched ${fatal} while waiting for ${describe}${this.tail()}`));
            return true;
          }
          if (this.ended) {
            waiter.fail(new SerialConsoleError(`${this.endReason} while waiting for ${describe}${this.tail()}`));
            return true;
          }
          return false;
        },
        fail: (error) => {
          this.settle(waiter, timer);
          reject(error);
        },
      };
      if (waiter.find()) return;
      timer = setTimeout(() => waiter.fail(new SerialConsoleError(`timed out after ${timeoutMs} ms waiting for ${describe}${this.tail()}`)), timeoutMs);
      this.waiters.add(waiter);
    });
  }

  /** Sends raw text (e.g. "\x03" for Ctrl-C). Resolves once the stream has taken it. */
  write(text: string): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.ended) return reject(new SerialConsoleError(`cannot type: ${this.endReason}`));
      this.input.write(Buffer.from(text, 'latin1'), (err) => (err ? reject(err) : resolve()));
    });
  }

  /** Types a line and presses Enter. */
  typeLine(line: string): Promise<void> {
    if (/[\r\n]/.test(line)) throw new SerialConsoleError(`typeLine takes one line, got ${JSON.stringify(line)}`);
    return this.write(line + this.enter);
  }

  /**
   * Types a shell command and waits for the next prompt. Returns everything
   * the guest sent in between, exactly as sent: the shell's echo of the
   * command (if echo is on), its output, CRLF line ends.
   */
  async run(line: string, prompt: string, timeoutMs: number): Promise<string> {
    // Anything already sent after the last prompt (e.g. a terminal query the
    // shell prints after its prompt) belongs to this command's output.
    await this.typeLine(line);
    return (await this.waitFor(prompt, timeoutMs)).before;
  }

  private end(reason: string): void {
    if (this.ended) return;
    this.ended = true;
    this.endReason = reason;
    this.poke();
  }

  private poke(): void {
    for (const w of [...this.waiters]) w.find();
  }

  private settle(waiter: Waiter, timer: NodeJS.Timeout | undefined): void {
    if (timer) clearTimeout(timer);
    this.waiters.delete(waiter);
  }

  private search(pattern: string | RegExp): { index: number; match: string } | undefined {
    if (typeof pattern === 'string') {
      const index = this.text.indexOf(pattern, this.pos);
      return index < 0 ? undefined : { index, match: pattern };
    }
    const re = new RegExp(pattern.source, pattern.flags.replace('g', '').replace('y', '') + 'g');
    re.lastIndex = this.pos;
    const m = re.exec(this.text);
    return m ? { index: m.index, match: m[0] } : undefined;
  }

  private tail(): string {
    const t = this.text.slice(-TAIL);
    return `\n--- last ${t.length} characters of console output ---\n${t}\n---`;
  }
}

/** CRLF (and stray CR before LF, from a tty's ONLCR) to LF. */
export function normalizeNewlines(text: string): string {
  return text.replace(/\r+\n/g, '\n');
}
