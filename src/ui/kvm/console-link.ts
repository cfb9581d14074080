// The terminal KVM mode shares with the in-browser machine. KVM mode shows
// its guest in the page's one xterm console (the in-browser VM owns it), so
// the backend does not create a terminal: it gets this small link instead,
// which keeps src/ui/kvm free of DOM code and lets Node tests run headless.
import type { SerialConsole } from '../console/serial-console.ts';

export interface ConsoleLink {
  /** Guest output. */
  write(bytes: Uint8Array): void;
  /** Typed and pasted input; returns an unsubscribe function. */
  onInput(listener: (bytes: Uint8Array) => void): () => void;
  /** A line from the page itself (not the guest), e.g. which machine runs now. */
  note(text: string): void;
  /** What the terminal shows (tests and automation read it through window.ts86.console). */
  text(): string;
}

const encoder = new TextEncoder();

/**
 * A link to the page's SerialConsole. Input is taken from xterm directly.
 * The SerialConsole keeps sending keys to the in-browser VM as well (its
 * input callback is fixed at construction); that machine is stopped while
 * KVM mode is on, and its worker drops serial input while no machine runs
 * (bytes typed before the worker ever started wait in the 64 KiB input ring
 * and are dropped the same way when it starts, before the next boot).
 */
export function xtermLink(console: SerialConsole): ConsoleLink {
  return {
    write: (bytes) => console.write(bytes),
    onInput(listener) {
      const data = console.terminal.onData((s) => listener(encoder.encode(s)));
      // Mouse reports and other binary sequences: one byte per character, as SerialConsole does.
      const binary = console.terminal.onBinary((s) => listener(Uint8Array.from(s, (c) => c.charCodeAt(0) & 0xff)));
      return () => { data.dispose(); binary.dispose(); };
    },
    // Dim, on a line of its own, so it is not mistaken for guest output.
    note: (text) => console.write(encoder.encode(`\r\n\x1b[2m[ts86] ${text}\x1b[0m\r\n`)),
    text: () => console.text(),
  };
}
