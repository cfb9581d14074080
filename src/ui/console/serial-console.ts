// The COM1 console: xterm.js sized to its container by the fit addon. Typed
// keys and pasted text go to the guest; Ctrl+Shift+C / Ctrl+Shift+V copy and
// paste (plain Ctrl+C and Ctrl+V belong to the guest, as in a terminal
// emulator), and the browser's own copy and paste (menu, Ctrl+Insert,
// Shift+Insert) work as well.
import { Terminal } from '@xterm/xterm';
import { FitAddon } from '@xterm/addon-fit';
import '@xterm/xterm/css/xterm.css';

const encoder = new TextEncoder();

export class SerialConsole {
  readonly terminal: Terminal;
  private readonly fit = new FitAddon();
  private readonly resize: ResizeObserver;
  private readonly element: HTMLElement;
  private readonly inner: HTMLElement;

  constructor(container: HTMLElement, private readonly send: (bytes: Uint8Array) => void) {
    // xterm fills `inner`; the padding lives on the outer box, so the fit addon measures only what xterm may use.
    this.element = document.createElement('div');
    this.element.className = 'ts86-console';
    this.inner = document.createElement('div');
    this.inner.className = 'ts86-console-inner';
    this.element.append(this.inner);
    container.append(this.element);
    this.terminal = new Terminal({
      cursorBlink: true,
      scrollback: 5000,
      fontFamily: '"DejaVu Sans Mono", "Cascadia Mono", Menlo, Consolas, monospace',
      fontSize: 14,
      theme: { background: '#101418', foreground: '#d8dee9', cursor: '#a3be8c', selectionBackground: '#4c566a' },
      allowProposedApi: false,
    });
    this.terminal.loadAddon(this.fit);
    this.terminal.open(this.inner);
    this.terminal.textarea?.setAttribute('aria-label', 'Serial console input (COM1)');
    this.terminal.onData((data) => this.send(encoder.encode(data)));
    // Mouse reports and other binary sequences: one byte per character.
    this.terminal.onBinary((data) => this.send(Uint8Array.from(data, (c) => c.charCodeAt(0) & 0xff)));
    this.terminal.attachCustomKeyEventHandler((e) => this.shortcut(e));
    this.resize = new ResizeObserver(() => this.refit());
    this.resize.observe(this.inner);
    this.refit();
  }

  /** Returns false for keys xterm must not handle (so the browser performs copy/paste). */
  private shortcut(e: KeyboardEvent): boolean {
    if (e.type !== 'keydown' || !e.ctrlKey || !e.shiftKey) return true;
    if (e.code === 'KeyC') {
      const text = this.terminal.getSelection();
      if (text) void navigator.clipboard?.writeText(text).catch(() => {});
      e.preventDefault();
      return false;
    }
    // Not handled by xterm and not prevented: the browser pastes into xterm's textarea, and xterm sends it on.
    if (e.code === 'KeyV') return false;
    return true;
  }

  private refit(): void {
    if (this.inner.clientWidth > 0 && this.inner.clientHeight > 0) this.fit.fit();
  }

  write(bytes: Uint8Array): void {
    this.terminal.write(bytes);
  }

  /** Text written so far, for tests and automation (the visible buffer, trailing blanks trimmed). */
  text(): string {
    const buf = this.terminal.buffer.active;
    const lines: string[] = [];
    for (let k = 0; k < buf.length; k++) lines.push(buf.getLine(k)?.translateToString(true) ?? '');
    return lines.join('\n').replace(/\n+$/, '');
  }

  focus(): void {
    this.terminal.focus();
  }

  dispose(): void {
    this.resize.disconnect();
    this.terminal.dispose();
    this.element.remove();
  }
}
