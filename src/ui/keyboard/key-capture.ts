// Turns key events on a focused element (the VGA screen) into PS/2
// keyboard traffic: make codes on keydown (browser auto-repeat becomes the
// keyboard's typematic repeat), break codes on keyup, and breaks for every
// held key when focus leaves, so no key stays stuck down in the guest.
import { set2Break, set2Make } from './set2-codes.ts';

export class KeyCapture {
  private readonly held = new Set<string>();
  private readonly onKeyDown = (e: KeyboardEvent): void => this.keyDown(e);
  private readonly onKeyUp = (e: KeyboardEvent): void => this.keyUp(e);
  private readonly onBlur = (): void => this.releaseAll();

  constructor(private readonly target: HTMLElement, private readonly send: (set2: number[]) => void) {
    target.addEventListener('keydown', this.onKeyDown);
    target.addEventListener('keyup', this.onKeyUp);
    target.addEventListener('blur', this.onBlur);
  }

  private keyDown(e: KeyboardEvent): void {
    const make = set2Make(e.code);
    if (!make) return;
    // The guest gets every key, including Tab, arrows and Ctrl combinations the browser would act on.
    e.preventDefault();
    this.held.add(e.code);
    this.send(make);
  }

  private keyUp(e: KeyboardEvent): void {
    const brk = set2Break(e.code);
    if (!brk) return;
    e.preventDefault();
    this.held.delete(e.code);
    if (brk.length) this.send(brk);
  }

  releaseAll(): void {
    for (const code of this.held) {
      const brk = set2Break(code);
      if (brk?.length) this.send(brk);
    }
    this.held.clear();
  }

  dispose(): void {
    this.releaseAll();
    this.target.removeEventListener('keydown', this.onKeyDown);
    this.target.removeEventListener('keyup', this.onKeyUp);
    this.target.removeEventListener('blur', this.onBlur);
  }
}
