// Keys from the page: KeyboardEvent.code → scancode set 2 (as a PS/2
// keyboard sends them) → the i8042's set 1 translation → the controller's
// host key API.
import { describe, it, expect } from 'vitest';
import { set2Make, set2Break } from '../../src/ui/keyboard/set2-codes.ts';
import { Set2ToSet1, translateSet2Code } from '../../src/machine/worker/scancode-translate.ts';
import { keyboardSinkFor } from '../../src/machine/worker/keyboard-sink.ts';
import type { Pc } from '../../src/machine/pc.ts';

/** Set 1 make codes of some keys, from the IBM PC/AT reference. */
const SET1: Record<string, number> = {
  Escape: 0x01, Digit1: 0x02, Digit0: 0x0b, Backspace: 0x0e, Tab: 0x0f, KeyQ: 0x10, KeyP: 0x19, Enter: 0x1c,
  ControlLeft: 0x1d, KeyA: 0x1e, KeyL: 0x26, Backquote: 0x29, ShiftLeft: 0x2a, KeyZ: 0x2c, KeyM: 0x32,
  Slash: 0x35, ShiftRight: 0x36, AltLeft: 0x38, Space: 0x39, CapsLock: 0x3a, F1: 0x3b, F7: 0x41, F10: 0x44,
  NumLock: 0x45, Numpad7: 0x47, NumpadSubtract: 0x4a, F11: 0x57, F12: 0x58,
};

describe('scancodes', () => {
  it('translates the set 2 code of each key to its set 1 make code', () => {
    for (const [code, set1] of Object.entries(SET1)) {
      const make = set2Make(code)!;
      expect(make, code).toHaveLength(1);
      expect(translateSet2Code(make[0]), code).toBe(set1);
    }
  });

  it('folds F0 into bit 7 and passes E0, also when a sequence is split between calls', () => {
    const x = new Set2ToSet1();
    expect(x.translate([...set2Make('KeyA')!, ...set2Break('KeyA')!])).toEqual([0x1e, 0x9e]);
    expect(x.translate(set2Make('ArrowUp')!)).toEqual([0xe0, 0x48]);
    const brk = set2Break('ArrowUp')!;
    expect(brk).toEqual([0xe0, 0xf0, 0x75]);
    expect([...x.translate(brk.slice(0, 2)), ...x.translate(brk.slice(2))]).toEqual([0xe0, 0xc8]);
    expect(x.translate(set2Make('PrintScreen')!)).toEqual([0xe0, 0x2a, 0xe0, 0x37]);
    expect(x.translate(set2Make('Pause')!)).toEqual([0xe1, 0x1d, 0x45, 0xe1, 0x9d, 0xc5]);
  });

  it('gives no codes for keys a PC keyboard lacks', () => {
    expect(set2Make('BrowserBack')).toBeNull();
    expect(set2Break('Fn')).toBeNull();
  });

  it('the worker sink presses keys on the i8042 as set 1 codes with up/down', () => {
    const calls: string[] = [];
    const kbc = {
      pressKey: (code: number, down: boolean) => calls.push(`${code.toString(16)}${down ? '↓' : '↑'}`),
      sendScancodes: (b: ArrayLike<number>) => calls.push(`raw ${Array.from(b, (v) => v.toString(16)).join(' ')}`),
    };
    const sink = keyboardSinkFor({ kbc } as unknown as Pc, () => calls.push('unavailable'));
    sink.sendSet2(Uint8Array.from([...set2Make('ShiftLeft')!, ...set2Make('KeyA')!, ...set2Break('KeyA')!, ...set2Break('ShiftLeft')!]));
    sink.sendSet2(Uint8Array.from([...set2Make('ArrowLeft')!, ...set2Break('ArrowLeft')!]));
    sink.sendSet2(Uint8Array.from(set2Make('Pause')!));
    expect(calls).toEqual(['2a↓', '1e↓', '1e↑', '2a↑', 'e04b↓', 'e04b↑', 'raw e1 14 77 e1 f0 14 f0 77']);
  });

  it('says once that there is no keyboard when the board has no i8042', () => {
    let told = 0;
    const sink = keyboardSinkFor({} as Pc, () => told++);
    sink.sendSet2(Uint8Array.from(set2Make('KeyA')!));
    sink.sendSet2(Uint8Array.from(set2Make('KeyB')!));
    expect(told).toBe(1);
  });
});
