// Where key presses from the page's VGA view go in the machine: the PS/2
// keyboard behind the i8042. The page sends what a keyboard sends (scancode
// set 2). The i8042's host API takes keys as set-1 make codes plus up/down
// (`pressKey`) and emits them in whatever scancode set the guest selected,
// so the stream is translated to set 1 here and split into key events.
// Sequences pressKey cannot express (Pause, which starts with E1) go in raw.
import type { Pc } from '../pc.ts';
import { Set2ToSet1 } from './scancode-translate.ts';

/** The part of src/devices/i8042.ts this uses. */
interface HostKeyboard {
  pressKey(code: number, down: boolean): void;
  sendScancodes(bytes: ArrayLike<number>): void;
}

export interface KeyboardSink {
  /** Takes scancode set 2 bytes (make and break codes with their E0/F0 prefixes). */
  sendSet2(bytes: Uint8Array): void;
  reset(): void;
}

/** The board's keyboard controller (pc.kbc); looked up structurally so a board without one still builds. */
function boardKeyboard(pc: Pc): HostKeyboard | null {
  return (pc as { kbc?: HostKeyboard }).kbc ?? null;
}

export function keyboardSinkFor(pc: Pc, onUnavailable: () => void): KeyboardSink {
  const xlat = new Set2ToSet1();
  let extended = false;
  let warned = false;
  return {
    sendSet2(bytes) {
      const kbd = boardKeyboard(pc);
      if (!kbd) {
        if (!warned) { warned = true; onUnavailable(); }
        return;
      }
      if (bytes.includes(0xe1)) { kbd.sendScancodes(bytes); return; }
      for (const b of xlat.translate(bytes)) {
        if (b === 0xe0) { extended = true; continue; }
        kbd.pressKey((extended ? 0xe000 : 0) | (b & 0x7f), (b & 0x80) === 0);
        extended = false;
      }
    },
    reset() {
      xlat.reset();
      extended = false;
    },
  };
}
