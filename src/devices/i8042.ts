// Intel 8042 keyboard controller (data 0x60, status/command 0x64) with a
// PS/2 keyboard on its first port (IRQ1) and a PS/2 mouse on the aux port
// (IRQ12).
//
// Controller: one output buffer fed from the controller's own replies, then
// the keyboard, then the mouse; the command byte (interrupt enables, system
// flag, port disables, set 2 → set 1 translation); self-test 0xAA → 0x55,
// interface tests, port enable/disable, output port read/write with the A20
// gate and reset lines, loopback writes 0xD2/0xD3, 0xD4 to the mouse, and the
// 0xF0–0xFF output pulses (0xFE resets the machine).
// Keyboard: reset, LEDs, echo, scancode set get/set, identify, typematic,
// enable/disable scanning, defaults, resend. Mouse: the stream-mode command
// set Linux's psmouse driver uses (reset, ID, rates, resolution, scaling,
// status, stream/remote/wrap modes) with 3-byte packets, and the IntelliMouse
// wheel ID after the 200/100/80 sample-rate knock.
//
// Host input: `pressKey(code, down)` takes a set-1 make code (0xE0xx for
// extended keys) and emits it in the keyboard's current set;
// `sendScancodes` queues raw bytes; `moveMouse` reports motion and buttons.
import { SET2_TO_SET1 } from './ps2-scancodes.ts';
import type { Bus } from './bus.ts';
import type { IrqSink } from './irq.ts';

// Command byte bits.
const CB_KBD_INT = 0x01, CB_AUX_INT = 0x02, CB_SYS = 0x04, CB_KBD_DISABLED = 0x10, CB_AUX_DISABLED = 0x20, CB_XLATE = 0x40;
// Status register bits.
const ST_OBF = 0x01, ST_SYS = 0x04, ST_CMD = 0x08, ST_UNLOCKED = 0x10, ST_AUX_OBF = 0x20;
// Output port bits.
const OP_RESET = 0x01, OP_A20 = 0x02;


/** Set 1 make code → set 2 make code (the inverse of the translation, for host key input). */
const SET1_TO_SET2 = new Uint8Array(128);
for (let i = 0x7f; i >= 1; i--) if (SET2_TO_SET1[i] < 0x80) SET1_TO_SET2[SET2_TO_SET1[i]] = i;
SET1_TO_SET2[0x41] = 0x83;
SET1_TO_SET2[0x54] = 0x84;

/** A bounded byte FIFO without per-byte allocation. */
class ByteQueue {
  private readonly buf: Uint8Array;
  private head = 0;
  length = 0;
  constructor(readonly capacity: number) {
    this.buf = new Uint8Array(capacity);
  }
  push(b: number): boolean {
    if (this.length === this.capacity) return false;
    this.buf[(this.head + this.length) % this.capacity] = b;
    this.length++;
    return true;
  }
  shift(): number {
    const b = this.buf[this.head];
    this.head = (this.head + 1) % this.capacity;
    this.length--;
    return b;
  }
  clear(): void {
    this.head = this.length = 0;
  }
}

/** What the i8042 does to the rest of the machine. */
export interface I8042Wiring {
  irqs: IrqSink;
  setA20(on: boolean): void;
  a20(): boolean;
  requestReset(reason: string): void;
}

const enum Src { NONE = 0, CTRL = 1, KBD = 2, AUX = 3 }

export class I8042 {
  commandByte = 0;
  status = 0;
  /** Byte in the output buffer and where it came from. */
  outByte = 0;
  outSource: Src = Src.NONE;
  /** Controller command waiting for its data byte (0x60, 0xD1–0xD4), or 0. */
  pendingCommand = 0;
  private readonly ctrlQueue = new ByteQueue(16);
  private readonly kbdQueue = new ByteQueue(256);
  private readonly auxQueue = new ByteQueue(256);
  /** A set-2 break prefix (0xF0) seen by the translator; the next byte gets bit 7. */
  private xlatBreak = false;
  private irq1 = false;
  private irq12 = false;

  // Keyboard device state.
  kbdScanning = true;
  kbdScancodeSet = 2;
  kbdLeds = 0;
  kbdTypematic = 0x2b;
  /** Keyboard command waiting for its parameter (0xED, 0xF0, 0xF3), or 0. */
  kbdPending = 0;
  private kbdLastSent = 0xfa;

  // Mouse device state.
  auxStreaming = false;
  auxRemote = false;
  auxWrap = false;
  auxSampleRate = 100;
  auxResolution = 2;
  auxScaling21 = false;
  auxId = 0;
  auxButtons = 0;
  auxPending = 0;
  /** The last three sample rates, for the IntelliMouse knock 200, 100, 80. */
  private auxRates = 0;

  readonly counters = { keys: 0, mousePackets: 0 };

  constructor(private readonly wiring: I8042Wiring) {
    this.reset();
  }

  attach(bus: Bus): void {
    bus.registerPorts(0x60, 1, 'i8042-data', { read8: () => this.readData(), write8: (_p, v) => this.writeData(v) });
    bus.registerPorts(0x64, 1, 'i8042-cmd', { read8: () => this.status, write8: (_p, v) => this.writeCommand(v) });
  }

  /**
   * Machine reset: the state a PC BIOS leaves after POST — self-test passed,
   * keyboard enabled in set 2 with translation and IRQ1, mouse port disabled.
   */
  reset(): void {
    this.commandByte = CB_XLATE | CB_AUX_DISABLED | CB_SYS | CB_KBD_INT;
    this.status = ST_UNLOCKED | ST_SYS | ST_CMD;
    this.outSource = Src.NONE;
    this.pendingCommand = 0;
    this.ctrlQueue.clear();
    this.kbdQueue.clear();
    this.auxQueue.clear();
    this.xlatBreak = false;
    this.resetKeyboard();
    this.resetMouse();
    this.update();
  }

  private resetKeyboard(): void {
    this.kbdScanning = true;
    this.kbdScancodeSet = 2;
    this.kbdLeds = 0;
    this.kbdTypematic = 0x2b;
    this.kbdPending = 0;
  }

  private resetMouse(): void {
    this.auxStreaming = false;
    this.auxRemote = false;
    this.auxWrap = false;
    this.auxSampleRate = 100;
    this.auxResolution = 2;
    this.auxScaling21 = false;
    this.auxId = 0;
    this.auxPending = 0;
    this.auxRates = 0;
  }

  // ---------------------------------------------------------------- output buffer and IRQs

  /** Refills the output buffer if empty, then drives status bits and IRQ1/IRQ12. */
  private update(): void {
    if (this.outSource === Src.NONE) this.fill();
    let st = this.status & ~(ST_OBF | ST_AUX_OBF);
    if (this.outSource !== Src.NONE) st |= ST_OBF;
    if (this.outSource === Src.AUX) st |= ST_AUX_OBF;
    this.status = st;
    const irq1 = this.outSource === Src.KBD && (this.commandByte & CB_KBD_INT) !== 0;
    const irq12 = this.outSource === Src.AUX && (this.commandByte & CB_AUX_INT) !== 0;
    if (irq1 !== this.irq1) {
      this.irq1 = irq1;
      this.wiring.irqs.setIrq(1, irq1);
    }
    if (irq12 !== this.irq12) {
      this.irq12 = irq12;
      this.wiring.irqs.setIrq(12, irq12);
    }
  }

  private fill(): void {
    if (this.ctrlQueue.length > 0) {
      this.outByte = this.ctrlQueue.shift();
      this.outSource = Src.CTRL;
      return;
    }
    // A disabled port's device is held off by the clock line, keeping its bytes queued.
    if (!(this.commandByte & CB_KBD_DISABLED)) {
      while (this.kbdQueue.length > 0) {
        let b = this.kbdQueue.shift();
        if (this.commandByte & CB_XLATE) {
          if (b === 0xf0) {
            this.xlatBreak = true;
            continue;
          }
          b = SET2_TO_SET1[b] | (this.xlatBreak ? 0x80 : 0);
          this.xlatBreak = false;
        }
        this.outByte = b;
        this.outSource = Src.KBD;
        return;
      }
    }
    if (!(this.commandByte & CB_AUX_DISABLED) && this.auxQueue.length > 0) {
      this.outByte = this.auxQueue.shift();
      this.outSource = Src.AUX;
    }
  }

  /** Controller replies go ahead of device data. */
  private reply(b: number): void {
    this.ctrlQueue.push(b);
    this.update();
  }

  /** Puts `b` in the output buffer as if it came from the keyboard or mouse (0xD2/0xD3), untranslated. */
  private loopback(b: number, src: Src): void {
    this.ctrlQueue.clear();
    this.outByte = b;
    this.outSource = src;
    this.update();
  }

  private kbdSend(b: number): void {
    this.kbdQueue.push(b);
    this.kbdLastSent = b;
  }

  private auxSend(b: number): void {
    this.auxQueue.push(b);
  }

  // ---------------------------------------------------------------- ports

  readData(): number {
    const b = this.outByte;
    if (this.outSource !== Src.NONE) {
      this.outSource = Src.NONE;
      this.update();
    }
    return b;
  }

  writeCommand(cmd: number): void {
    this.status |= ST_CMD;
    if (cmd >= 0x20 && cmd < 0x40) {
      // Read controller RAM: byte 0 is the command byte; the rest reads 0 here.
      this.reply(cmd === 0x20 ? this.commandByte : 0);
      return;
    }
    if (cmd >= 0x60 && cmd < 0x80) {
      this.pendingCommand = cmd;
      return;
    }
    if (cmd >= 0xf0) {
      // Pulse output port lines low for 6 µs: bit 0 is the CPU reset line.
      if (!(cmd & 1)) this.wiring.requestReset('reset via the keyboard controller (0x64 ← 0xfe)');
      return;
    }
    switch (cmd) {
      case 0xa7: this.commandByte |= CB_AUX_DISABLED; break;
      case 0xa8: this.commandByte &= ~CB_AUX_DISABLED; break;
      case 0xa9: this.reply(0x00); return; // aux interface test: OK
      case 0xaa:
        // Self-test passes and leaves the system flag set.
        this.status |= ST_SYS;
        this.commandByte |= CB_SYS;
        this.reply(0x55);
        return;
      case 0xab: this.reply(0x00); return; // keyboard interface test: OK
      case 0xad: this.commandByte |= CB_KBD_DISABLED; break;
      case 0xae: this.commandByte &= ~CB_KBD_DISABLED; break;
      case 0xc0: this.reply(0xbf); return; // input port: keyboard unlocked, no jumpers
      case 0xd0: this.reply(this.outputPort()); return;
      case 0xd1: case 0xd2: case 0xd3: case 0xd4:
        this.pendingCommand = cmd;
        return;
      case 0xdd: this.wiring.setA20(false); return;
      case 0xdf: this.wiring.setA20(true); return;
      case 0xe0: this.reply(0x00); return; // test inputs
      default: return; // unknown commands are ignored
    }
    this.update();
  }

  /** Output port as read by 0xD0: reset line high, A20, buffer-full lines, clock/data lines. */
  private outputPort(): number {
    return OP_RESET | (this.wiring.a20() ? OP_A20 : 0) | (this.outSource === Src.KBD ? 0x10 : 0) |
      (this.outSource === Src.AUX ? 0x20 : 0) | 0xc0;
  }

  writeData(v: number): void {
    this.status &= ~ST_CMD;
    const cmd = this.pendingCommand;
    this.pendingCommand = 0;
    switch (cmd) {
      case 0:
        this.keyboardCommand(v);
        break;
      case 0x60:
        this.commandByte = v;
        if (v & CB_SYS) this.status |= ST_SYS;
        else this.status &= ~ST_SYS;
        break;
      case 0xd1:
        this.wiring.setA20((v & OP_A20) !== 0);
        if (!(v & OP_RESET)) this.wiring.requestReset('reset via the keyboard controller output port');
        return;
      case 0xd2: this.loopback(v, Src.KBD); return;
      case 0xd3: this.loopback(v, Src.AUX); return;
      case 0xd4:
        this.mouseCommand(v);
        break;
      default:
        break; // writes to other controller RAM bytes are accepted and not kept
    }
    this.update();
  }

  // ---------------------------------------------------------------- keyboard

  private keyboardCommand(v: number): void {
    if (this.kbdPending) {
      const pending = this.kbdPending;
      this.kbdPending = 0;
      switch (pending) {
        case 0xed: this.kbdLeds = v & 7; this.kbdSend(0xfa); return;
        case 0xf3: this.kbdTypematic = v & 0x7f; this.kbdSend(0xfa); return;
        case 0xf0:
          this.kbdSend(0xfa);
          if (v === 0) this.kbdSend(this.kbdScancodeSet);
          else if (v <= 3) this.kbdScancodeSet = v;
          return;
      }
    }
    switch (v) {
      case 0xed: case 0xf0: case 0xf3:
        this.kbdPending = v;
        this.kbdSend(0xfa);
        return;
      case 0xee: this.kbdSend(0xee); return; // echo
      case 0xf2: // identify: MF2 keyboard (the 8042 translates 0x83 to 0x41)
        this.kbdSend(0xfa);
        this.kbdSend(0xab);
        this.kbdSend(0x83);
        return;
      case 0xf4: this.kbdScanning = true; this.kbdSend(0xfa); return;
      case 0xf5: // disable scanning and restore defaults
        this.resetKeyboard();
        this.kbdScanning = false;
        this.kbdSend(0xfa);
        return;
      case 0xf6: this.resetKeyboard(); this.kbdSend(0xfa); return;
      case 0xfe: this.kbdQueue.push(this.kbdLastSent); return; // resend
      case 0xff: // reset and self-test (BAT)
        this.resetKeyboard();
        this.kbdQueue.clear();
        this.kbdSend(0xfa);
        this.kbdSend(0xaa);
        return;
      default:
        if (v >= 0xf7 && v <= 0xfd) { this.kbdSend(0xfa); return; } // set-3 key type commands
        this.kbdSend(0xfe); // unknown: ask for a resend
    }
  }

  /** Host key input: `code` is a set-1 make code, 0xE0xx for extended keys. */
  pressKey(code: number, down: boolean): void {
    if (!this.kbdScanning) return;
    this.counters.keys++;
    const extended = (code & 0xff00) === 0xe000;
    const make = code & 0x7f;
    if (this.kbdScancodeSet === 1) {
      if (extended) this.kbdQueue.push(0xe0);
      this.kbdQueue.push(make | (down ? 0 : 0x80));
    } else {
      if (extended) this.kbdQueue.push(0xe0);
      if (!down) this.kbdQueue.push(0xf0);
      this.kbdQueue.push(SET1_TO_SET2[make]);
    }
    this.update();
  }

  /** Queues raw bytes from the keyboard (they pass the 8042's translation when it is on). */
  sendScancodes(bytes: ArrayLike<number>): void {
    for (let i = 0; i < bytes.length; i++) this.kbdQueue.push(bytes[i] & 0xff);
    this.update();
  }

  // ---------------------------------------------------------------- mouse

  private mouseCommand(v: number): void {
    if (this.auxWrap && v !== 0xec && v !== 0xff) {
      this.auxSend(v); // wrap mode echoes everything but reset and reset-wrap
      return;
    }
    if (this.auxPending) {
      const pending = this.auxPending;
      this.auxPending = 0;
      if (pending === 0xf3) {
        this.auxSampleRate = v;
        this.auxRates = ((this.auxRates << 8) | v) & 0xffffff;
        if (this.auxRates === 0xc86450) this.auxId = 3; // 200, 100, 80: IntelliMouse with wheel
      } else {
        this.auxResolution = v & 3;
      }
      this.auxSend(0xfa);
      return;
    }
    switch (v) {
      case 0xe6: this.auxScaling21 = false; break;
      case 0xe7: this.auxScaling21 = true; break;
      case 0xe8: case 0xf3: this.auxPending = v; break;
      case 0xe9: // status request
        this.auxSend(0xfa);
        this.auxSend((this.auxRemote ? 0x40 : 0) | (this.auxStreaming ? 0x20 : 0) | (this.auxScaling21 ? 0x10 : 0) | (this.auxButtons & 7));
        this.auxSend(this.auxResolution);
        this.auxSend(this.auxSampleRate);
        return;
      case 0xea: this.auxRemote = false; break;
      case 0xeb: this.auxSend(0xfa); this.queueMousePacket(0, 0, 0); return; // read data
      case 0xec: this.auxWrap = false; break;
      case 0xee: this.auxWrap = true; break;
      case 0xf0: this.auxRemote = true; break;
      case 0xf2: this.auxSend(0xfa); this.auxSend(this.auxId); return;
      case 0xf4: this.auxStreaming = true; break;
      case 0xf5: this.auxStreaming = false; break;
      case 0xf6: {
        const id = this.auxId;
        this.resetMouse();
        this.auxId = id;
        break;
      }
      case 0xff:
        this.resetMouse();
        this.auxQueue.clear();
        this.auxSend(0xfa);
        this.auxSend(0xaa);
        this.auxSend(0x00);
        return;
      default:
        this.auxSend(0xfe);
        return;
    }
    this.auxSend(0xfa);
  }

  private queueMousePacket(dx: number, dy: number, dz: number): void {
    dx = Math.max(-256, Math.min(255, dx | 0));
    dy = Math.max(-256, Math.min(255, dy | 0));
    this.auxSend(0x08 | (this.auxButtons & 7) | (dx < 0 ? 0x10 : 0) | (dy < 0 ? 0x20 : 0));
    this.auxSend(dx & 0xff);
    this.auxSend(dy & 0xff);
    if (this.auxId === 3) this.auxSend(Math.max(-8, Math.min(7, dz | 0)) & 0xff);
    this.counters.mousePackets++;
  }

  /**
   * Host mouse input: relative motion (dy positive = up, as PS/2 counts it),
   * wheel steps and buttons (bit 0 left, 1 right, 2 middle).
   */
  moveMouse(dx: number, dy: number, dz: number, buttons: number): void {
    this.auxButtons = buttons & 7;
    if (!this.auxStreaming || this.auxRemote || this.auxQueue.length > 240) return;
    this.queueMousePacket(dx, dy, dz);
    this.update();
  }
}
