// The cascaded 8259A programmable interrupt controllers of a PC (master at
// 0x20/0x21, slave at 0xA0/0xA1 on the master's IRQ2) and the PIIX3 edge/level
// control registers (ELCR, 0x4D0/0x4D1) that make single IRQs level triggered.
//
// One `Pic8259` is one chip: the ICW1–ICW4 initialisation sequence, OCW1 mask,
// OCW2 EOI/specific EOI/rotation, OCW3 IRR/ISR read, poll and special mask
// mode, auto-EOI, special fully nested mode and fixed or rotating priority.
// `DualPic` is the pair as wired on the board: devices drive its IRQ lines
// (IrqSink), the CPU side sees the master's INT output and runs the INTA cycle
// through `acknowledge()` (InterruptController), which yields the vector or
// the spurious IRQ7/IRQ15 vector when the request went away before INTA.
// Where the chip's documented behaviour leaves room, this follows QEMU's
// i8259 (edge-latched IRR survives a falling line; level IRR follows the line).
import type { Bus } from './bus.ts';
import type { IrqSink } from './irq.ts';
import type { InterruptController } from '../x86/cpu.ts';

/** Priority level (0 = highest) of the highest-priority bit set in `mask`, or 8 if none. */
function priorityOf(mask: number, lowestPriorityBase: number): number {
  if (mask === 0) return 8;
  let p = 0;
  while ((mask & (1 << ((p + lowestPriorityBase) & 7))) === 0) p++;
  return p;
}

export class Pic8259 {
  irr = 0;
  isr = 0;
  imr = 0;
  /** Line levels as last driven (edge detection). */
  lines = 0;
  /** ELCR bits for this chip: 1 = level triggered. */
  elcr = 0;
  /** Bits of ELCR that exist (PIIX3: IRQ0–2, IRQ8, IRQ13 are always edge). */
  readonly elcrMask: number;
  vectorBase = 0;
  /** IRQ number that currently has the highest priority is (priorityAdd) (rotation). */
  priorityAdd = 0;
  /** 0 = operational, 1–3 = expecting ICW2–ICW4. */
  initState = 0;
  icw4Needed = false;
  single = false;
  /** ICW1 LTIM: the whole chip level triggered (not used by PCs; PCs use ELCR). */
  levelMode = false;
  autoEoi = false;
  rotateOnAutoEoi = false;
  specialFullyNested = false;
  specialMask = false;
  readIsr = false;
  poll = false;
  /** INT output level, kept up to date by update(). */
  output = false;

  constructor(readonly isMaster: boolean, private readonly onOutput: (level: boolean) => void) {
    this.elcrMask = isMaster ? 0xf8 : 0xde;
  }

  /** The state a PC BIOS leaves (vector base, masks), or the raw power-on state with base 0. */
  reset(vectorBase: number, imr: number): void {
    this.initReset();
    this.vectorBase = vectorBase;
    this.imr = imr;
    this.elcr = 0;
    this.irr = 0;
    this.lines = 0;
    this.update();
  }

  private get levelBits(): number {
    return this.levelMode ? 0xff : this.elcr;
  }

  /** The IRQ the chip would present to the CPU now, or -1. */
  pendingIrq(): number {
    const req = this.irr & ~this.imr;
    const p = priorityOf(req, this.priorityAdd);
    if (p === 8) return -1;
    // In-service interrupts block equal and lower priorities, except: special
    // mask mode ignores masked in-service levels, and special fully nested mode
    // lets the slave's further requests through on the master's IR2.
    let inService = this.isr;
    if (this.specialMask) inService &= ~this.imr;
    if (this.specialFullyNested && this.isMaster) inService &= ~(1 << 2);
    return p < priorityOf(inService, this.priorityAdd) ? (p + this.priorityAdd) & 7 : -1;
  }

  update(): void {
    const level = this.pendingIrq() >= 0;
    if (level !== this.output) {
      this.output = level;
      this.onOutput(level);
    }
  }

  setIrq(irq: number, level: boolean): void {
    const bit = 1 << irq;
    if (this.levelBits & bit) {
      if (level) this.irr |= bit;
      else this.irr &= ~bit;
    } else if (level && !(this.lines & bit)) {
      this.irr |= bit; // rising edge
    }
    if (level) this.lines |= bit;
    else this.lines &= ~bit;
    this.update();
  }

  /** Second INTA pulse for `irq`: moves it to in-service (unless auto-EOI). */
  intack(irq: number): void {
    const bit = 1 << irq;
    if (this.autoEoi) {
      if (this.rotateOnAutoEoi) this.priorityAdd = (irq + 1) & 7;
    } else {
      this.isr |= bit;
    }
    // A level-triggered request stays in IRR while its line is high.
    if (!(this.levelBits & bit)) this.irr &= ~bit;
    this.update();
  }

  private initReset(): void {
    this.lines = 0;
    this.irr &= this.levelBits;
    this.imr = 0;
    this.isr = 0;
    this.priorityAdd = 0;
    this.vectorBase = 0;
    this.readIsr = false;
    this.poll = false;
    this.specialMask = false;
    this.initState = 0;
    this.autoEoi = false;
    this.rotateOnAutoEoi = false;
    this.specialFullyNested = false;
    this.icw4Needed = false;
    this.single = false;
    this.levelMode = false;
  }

  /** Write to the command port (A0 = 0): ICW1, OCW2 or OCW3. */
  writeCommand(v: number): void {
    if (v & 0x10) {
      // ICW1 starts initialisation: the chip forgets its state and expects ICW2.
      this.initReset();
      this.initState = 1;
      this.icw4Needed = (v & 1) !== 0;
      this.single = (v & 2) !== 0;
      this.levelMode = (v & 8) !== 0;
      this.update();
    } else if (v & 0x08) {
      // OCW3.
      if (v & 0x04) this.poll = true;
      if (v & 0x02) this.readIsr = (v & 1) !== 0;
      if (v & 0x40) this.specialMask = (v & 0x20) !== 0;
      this.update();
    } else {
      this.writeOcw2(v);
    }
  }

  private writeOcw2(v: number): void {
    const cmd = v >> 5;
    switch (cmd) {
      case 0: // clear rotate in automatic EOI mode
      case 4: // set rotate in automatic EOI mode
        this.rotateOnAutoEoi = cmd === 4;
        return;
      case 1: // non-specific EOI
      case 5: { // rotate on non-specific EOI
        const p = priorityOf(this.isr, this.priorityAdd);
        if (p === 8) return;
        const irq = (p + this.priorityAdd) & 7;
        this.isr &= ~(1 << irq);
        if (cmd === 5) this.priorityAdd = (irq + 1) & 7;
        break;
      }
      case 3: // specific EOI
        this.isr &= ~(1 << (v & 7));
        break;
      case 6: // set priority: IRQ (v & 7) becomes the lowest
        this.priorityAdd = (v + 1) & 7;
        break;
      case 7: // rotate on specific EOI
        this.isr &= ~(1 << (v & 7));
        this.priorityAdd = ((v & 7) + 1) & 7;
        break;
      default: // 2: no operation
        return;
    }
    this.update();
  }

  /** Write to the data port (A0 = 1): ICW2–ICW4 during initialisation, else OCW1 (mask). */
  writeData(v: number): void {
    switch (this.initState) {
      case 0:
        this.imr = v;
        this.update();
        return;
      case 1:
        this.vectorBase = v & 0xf8;
        this.initState = this.single ? (this.icw4Needed ? 3 : 0) : 2;
        return;
      case 2: // ICW3: cascade wiring, fixed on a PC
        this.initState = this.icw4Needed ? 3 : 0;
        return;
      default: // ICW4
        this.specialFullyNested = (v & 0x10) !== 0;
        this.autoEoi = (v & 0x02) !== 0;
        this.initState = 0;
        return;
    }
  }

  readRegister(dataPort: boolean): number {
    if (this.poll) {
      // Poll command: the next read is an interrupt acknowledge without INTA.
      this.poll = false;
      return this.pollRead();
    }
    if (dataPort) return this.imr;
    return this.readIsr ? this.isr : this.irr;
  }

  private pollRead(): number {
    const irq = this.pendingIrq();
    if (irq < 0) return 0;
    this.intack(irq);
    return 0x80 | irq;
  }
}

/** The master/slave pair with ELCR, as the PC wires it. */
export class DualPic implements IrqSink, InterruptController {
  readonly master: Pic8259;
  readonly slave: Pic8259;
  /** Counts INTA cycles that found no request (spurious IRQ7/IRQ15). */
  readonly counters = { acknowledged: 0, spurious: 0 };

  /**
   * @param onIntr called when the master's INT output changes (the CPU's INTR
   *   pin, or the local APIC's LINT0).
   */
  constructor(private readonly onIntr: (level: boolean) => void) {
    this.master = new Pic8259(true, (level) => this.onIntr(level));
    // The slave's INT output drives the master's IR2.
    this.slave = new Pic8259(false, (level) => this.master.setIrq(2, level));
  }

  attach(bus: Bus): void {
    const chip = (port: number): Pic8259 => (port < 0xa0 ? this.master : this.slave);
    const handler = {
      read8: (port: number) => chip(port).readRegister((port & 1) !== 0),
      write8: (port: number, v: number) => {
        if (port & 1) chip(port).writeData(v);
        else chip(port).writeCommand(v);
      },
    };
    bus.registerPorts(0x20, 2, 'pic-master', handler);
    bus.registerPorts(0xa0, 2, 'pic-slave', handler);
    bus.registerPorts(0x4d0, 2, 'elcr', {
      read8: (port) => (port === 0x4d0 ? this.master.elcr : this.slave.elcr),
      write8: (port, v) => this.writeElcr(port === 0x4d0 ? this.master : this.slave, v),
    });
  }

  /** Machine reset: the state a PC BIOS hands over — vectors 0x08/0x70, all masked but the cascade. */
  reset(): void {
    this.slave.reset(0x70, 0xff);
    this.master.reset(0x08, 0xfb);
  }

  get output(): boolean {
    return this.master.output;
  }

  setIrq(irq: number, level: boolean): void {
    if (irq < 8) this.master.setIrq(irq, level);
    else this.slave.setIrq(irq - 8, level);
  }

  writeElcr(chip: Pic8259, v: number): void {
    chip.elcr = v & chip.elcrMask;
    // A line switched to level triggering is sampled as it is now.
    chip.irr = (chip.irr & ~chip.elcr) | (chip.lines & chip.elcr);
    chip.update();
  }

  /** The INTA cycle: returns the vector of the highest-priority request, or the spurious IRQ7/15 vector. */
  acknowledge(): number {
    const m = this.master;
    const irq = m.pendingIrq();
    if (irq < 0) {
      // The request went away between INTR and INTA: the 8259 answers IRQ7 without setting ISR.
      this.counters.spurious++;
      return m.vectorBase + 7;
    }
    this.counters.acknowledged++;
    let vector: number;
    if (irq === 2 && !m.single) {
      const s = this.slave;
      const irq2 = s.pendingIrq();
      if (irq2 >= 0) {
        s.intack(irq2);
        vector = s.vectorBase + irq2;
      } else {
        this.counters.spurious++;
        vector = s.vectorBase + 7;
      }
    } else {
      vector = m.vectorBase + irq;
    }
    m.intack(irq);
    return vector;
  }
}
