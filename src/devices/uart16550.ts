// 16550A UART (COM1/COM2): divisor latch, 16-byte FIFOs with trigger levels,
// IER/IIR/LSR/MSR semantics and interrupt priorities as Linux's 8250 driver
// probes them, loopback mode, and OUT2-gated IRQ as wired on a PC.
// Transmission is instantaneous: THR is always empty again after a write.
import type { Bus } from './bus.ts';
import type { IrqSink } from './irq.ts';

const IER_RDA = 1, IER_THRE = 2, IER_RLS = 4, IER_MSI = 8;
const IIR_NONE = 1, IIR_MSI = 0x0, IIR_THRE = 0x2, IIR_RDA = 0x4, IIR_RLS = 0x6, IIR_TIMEOUT = 0xc;
const LSR_DR = 1, LSR_OE = 2, LSR_THRE = 0x20, LSR_TEMT = 0x40;
const MCR_DTR = 1, MCR_RTS = 2, MCR_OUT1 = 4, MCR_OUT2 = 8, MCR_LOOP = 0x10;
const FIFO_SIZE = 16;
const TRIGGER = [1, 4, 8, 14];

export interface UartCounters { txBytes: number; rxBytes: number; overruns: number }

export class Uart16550 {
  private ier = 0;
  private lcr = 0x03;
  private mcr = 0;
  private lsrErrors = 0;
  private msr = 0xb0; // CTS, DSR, DCD asserted by the "modem" on the other side
  private msrDelta = 0;
  private scr = 0;
  private dll = 0x0c;
  private dlm = 0;
  private fifoEnabled = false;
  private trigger = 1;
  private readonly rx: number[] = [];
  /** Host input not yet taken into the FIFO: kept so pasted text is not lost to overruns. */
  private readonly pending: number[] = [];
  private threPending = true;
  private irqLevel = false;
  readonly counters: UartCounters = { txBytes: 0, rxBytes: 0, overruns: 0 };

  /** Receives every byte the guest transmits. */
  onTransmit: (byte: number) => void = () => {};

  constructor(readonly base: number, readonly irq: number, private readonly irqSink: IrqSink) {}

  attach(bus: Bus, name: string): void {
    bus.registerPorts(this.base, 8, name, {
      read8: (port) => this.read(port - this.base),
      write8: (port, v) => this.write(port - this.base, v),
    });
  }

  /** Queues bytes typed on the host side of the line. */
  receive(bytes: ArrayLike<number>): void {
    for (let k = 0; k < bytes.length; k++) this.pending.push(bytes[k] & 0xff);
    this.fillFifo();
    this.updateIrq();
  }

  /** Whether the guest has room to take more input now (for flow control of the host side). */
  get inputBacklog(): number {
    return this.pending.length + this.rx.length;
  }

  private fillFifo(): void {
    const cap = this.fifoEnabled ? FIFO_SIZE : 1;
    while (this.pending.length > 0 && this.rx.length < cap) this.rx.push(this.pending.shift()!);
  }

  private get dlab(): boolean {
    return (this.lcr & 0x80) !== 0;
  }

  private interruptId(): number {
    if ((this.ier & IER_RLS) && (this.lsrErrors & LSR_OE)) return IIR_RLS;
    if ((this.ier & IER_RDA) && this.rx.length > 0) {
      return this.rx.length >= this.trigger || !this.fifoEnabled ? IIR_RDA : IIR_TIMEOUT;
    }
    if ((this.ier & IER_THRE) && this.threPending) return IIR_THRE;
    if ((this.ier & IER_MSI) && this.msrDelta) return IIR_MSI;
    return IIR_NONE;
  }

  private updateIrq(): void {
    // On a PC the UART's interrupt output reaches the PIC only through OUT2.
    const level = this.interruptId() !== IIR_NONE && (this.mcr & MCR_OUT2) !== 0;
    if (level !== this.irqLevel) {
      this.irqLevel = level;
      this.irqSink.setIrq(this.irq, level);
    }
  }

  read(reg: number): number {
    let v: number;
    switch (reg) {
      case 0:
        if (this.dlab) return this.dll;
        v = this.rx.length > 0 ? this.rx.shift()! : 0;
        this.fillFifo();
        this.counters.rxBytes++;
        break;
      case 1:
        return this.dlab ? this.dlm : this.ier;
      case 2: {
        const id = this.interruptId();
        // Reading IIR while it reports THRE acknowledges that interrupt.
        if (id === IIR_THRE) this.threPending = false;
        v = id | (this.fifoEnabled ? 0xc0 : 0);
        break;
      }
      case 3: return this.lcr;
      case 4: return this.mcr;
      case 5:
        v = (this.rx.length > 0 ? LSR_DR : 0) | LSR_THRE | LSR_TEMT | this.lsrErrors;
        this.lsrErrors = 0;
        break;
      case 6:
        v = this.modemStatus() | this.msrDelta;
        this.msrDelta = 0;
        break;
      default: return this.scr;
    }
    this.updateIrq();
    return v;
  }

  private modemStatus(): number {
    if (this.mcr & MCR_LOOP) {
      // Loopback: DTR→DSR, RTS→CTS, OUT1→RI, OUT2→DCD.
      return ((this.mcr & MCR_RTS) ? 0x10 : 0) | ((this.mcr & MCR_DTR) ? 0x20 : 0) |
        ((this.mcr & MCR_OUT1) ? 0x40 : 0) | ((this.mcr & MCR_OUT2) ? 0x80 : 0);
    }
    return this.msr;
  }

  write(reg: number, v: number): void {
    switch (reg) {
      case 0:
        if (this.dlab) { this.dll = v; return; }
        this.transmit(v);
        break;
      case 1:
        if (this.dlab) { this.dlm = v; return; }
        // Enabling the THRE interrupt while THR is empty raises it at once (the 8250 driver relies on this).
        if ((v & IER_THRE) && !(this.ier & IER_THRE)) this.threPending = true;
        this.ier = v & 0x0f;
        break;
      case 2:
        this.fifoEnabled = (v & 1) !== 0;
        if (v & 2 || !this.fifoEnabled) { this.rx.length = 0; }
        this.trigger = TRIGGER[v >> 6];
        this.fillFifo();
        break;
      case 3: this.lcr = v; return;
      case 4: {
        const old = this.modemStatus();
        this.mcr = v & 0x1f;
        const now = this.modemStatus();
        const changed = (old ^ now) & 0xb0;
        this.msrDelta |= (changed >> 4) & 0x0b;
        if ((old & 0x40) && !(now & 0x40)) this.msrDelta |= 0x04; // trailing edge of RI
        break;
      }
      case 5: case 6: return; // read-only on a 16550A
      default: this.scr = v; return;
    }
    this.updateIrq();
  }

  private transmit(v: number): void {
    if (this.mcr & MCR_LOOP) {
      if (this.rx.length < (this.fifoEnabled ? FIFO_SIZE : 1)) this.rx.push(v);
      else { this.lsrErrors |= LSR_OE; this.counters.overruns++; }
    } else {
      this.counters.txBytes++;
      this.onTransmit(v);
    }
    this.threPending = true;
  }
}
