// Turns a form's operand descriptors into concrete nasm operands and the machine state
// they need: registers in all widths, memory operands that address the data window through
// the various ModRM/SIB/displacement shapes, immediates. Registers that hold addresses are
// "pinned" so data values never overwrite them.
import type { WindowPatch } from './batch-format.ts';
import { type Operand, sizeBytes } from './forms.ts';
import { ESP, REG16, REG32, REG8, SREG, WINDOW_BASE, WINDOW_SIZE } from './layout.ts';
import type { Rng } from './rng.ts';
import { type Bits, dataValue, leBytes, mask } from './values.ts';

/** A concrete operand of the instruction under test. */
export type Concrete =
  | { k: 'reg'; reg: number; bytes: number } // GPR; for bytes=1, reg 4-7 are AH..BH
  | { k: 'mem'; offset: number; bytes: number | null; text: string; addr: string } // window offset of the data; addr: the [..] part
  | { k: 'imm'; value: number; bytes: number }
  | { k: 'label'; text: string }
  | { k: 'other'; text: string };

export interface MemOptions {
  /** Only an address is computed (lea, nop Ev): base/index may hold anything. */
  addressOnly?: boolean;
  /** Put the data at this window offset. */
  offset?: number;
  /** Probability of placing the access across/outside the window edge (a #PF case). */
  faultChance?: number;
  /** Bytes reserved after the offset (for instructions touching more than the operand). */
  span?: number;
  /** Never / always use the bare [disp32] shape (moffs operands are always absolute). */
  noAbs?: boolean;
  forceAbs?: boolean;
}

/** nasm size keywords by byte count. */
const SIZE_WORD: Record<number, string> = { 1: 'byte', 2: 'word', 4: 'dword', 8: 'qword', 10: 'tword' };

const hex = (v: number): string => `0x${(v >>> 0).toString(16)}`;
const sdisp = (d: number): string => (d < 0 ? `-${hex(-d)}` : `+${hex(d)}`);

export const STACK_OFFSET = 0x800;

export class CaseBuilder {
  readonly regs = new Uint32Array(8);
  readonly pinned = new Set<number>();
  readonly patches: WindowPatch[] = [];

  constructor(readonly rng: Rng, readonly osize: 16 | 32) {
    for (let r = 0; r < 8; r++) this.regs[r] = dataValue(rng, 32);
    // ESP always points into the window so stack instructions stay inside it.
    this.pin(ESP, WINDOW_BASE + STACK_OFFSET - 4 * rng.int(8) - (rng.chance(0.1) ? rng.range(1, 3) : 0));
  }

  pin(reg: number, value: number): void {
    this.regs[reg] = value >>> 0;
    this.pinned.add(reg);
  }

  /** Gives a register operand a data value unless it holds an address. */
  setReg(op: { reg: number; bytes: number }, value: number): void {
    const full = op.bytes === 1 ? op.reg & 3 : op.reg;
    if (this.pinned.has(full)) return;
    if (op.bytes === 1) {
      const shift = op.reg >= 4 ? 8 : 0;
      this.regs[full] = ((this.regs[full]! & ~(0xff << shift)) | ((value & 0xff) << shift)) >>> 0;
    } else {
      const m = mask((op.bytes * 8) as Bits);
      this.regs[full] = ((this.regs[full]! & ~m) | (value & m)) >>> 0;
    }
  }

  getReg(op: { reg: number; bytes: number }): number {
    const full = op.bytes === 1 ? op.reg & 3 : op.reg;
    const v = this.regs[full]!;
    if (op.bytes === 1) return (v >>> (op.reg >= 4 ? 8 : 0)) & 0xff;
    return (v & mask((op.bytes * 8) as Bits)) >>> 0;
  }

  patch(offset: number, bytes: Uint8Array): void {
    // Parts outside the window (fault cases) have nothing to patch.
    const lo = Math.max(0, offset);
    const hi = Math.min(WINDOW_SIZE, offset + bytes.length);
    if (hi > lo) this.patches.push({ offset: lo, bytes: bytes.slice(lo - offset, hi - offset) });
  }

  patchValue(offset: number, value: number | bigint, bytes: number): void {
    this.patch(offset, leBytes(value, bytes));
  }

  regName(reg: number, bytes: number): string {
    if (bytes === 1) return REG8[reg]!;
    if (bytes === 2) return REG16[reg]!;
    return REG32[reg]!;
  }

  freeRegs(exclude: readonly number[] = []): number[] {
    return [0, 1, 2, 3, 4, 5, 6, 7].filter((r) => !this.pinned.has(r) && !exclude.includes(r));
  }

  /** A window offset for `bytes` of data, biased to aligned addresses, sometimes across an edge. */
  dataOffset(bytes: number, opts: MemOptions = {}): number {
    if (opts.offset !== undefined) return opts.offset;
    const span = Math.max(opts.span ?? bytes, 1);
    if (this.rng.chance(opts.faultChance ?? 0)) {
      return this.rng.pick([WINDOW_SIZE - this.rng.range(1, span), WINDOW_SIZE + this.rng.int(64), -span - this.rng.int(64)]);
    }
    const t = this.rng.range(0x40, WINDOW_SIZE - span - 0x40);
    return this.rng.chance(0.6) ? t & ~(Math.min(bytes, 8) - 1) : t;
  }

  /**
   * A memory operand addressing window offset `offset` (see dataOffset), in one of the
   * ModRM/SIB shapes; base and index registers get the values that make it so.
   */
  mem(bytes: number | null, keyword: boolean, opts: MemOptions = {}): Extract<Concrete, { k: 'mem' }> {
    const rng = this.rng;
    const offset = this.dataOffset(bytes ?? 1, opts);
    const target = (WINDOW_BASE + offset) >>> 0;
    const size = keyword && bytes !== null && SIZE_WORD[bytes] ? `${SIZE_WORD[bytes]} ` : '';
    const free = this.freeRegs();
    const shapes = ['b', 'bd8', 'bd32', 'bis', 'is', 'abs', 'esp'] as const;
    let shape: (typeof shapes)[number] = opts.forceAbs ? 'abs' : rng.pick(shapes);
    // [esp+d8] addresses relative to the pinned stack pointer: only where the offset is free.
    if (shape === 'esp' && (opts.addressOnly || opts.offset !== undefined || (opts.span ?? 0) > 64)) shape = 'bd8';
    if (shape === 'abs' && opts.noAbs) shape = 'bd32';
    const need = shape === 'bis' ? 2 : shape === 'abs' || shape === 'esp' ? 0 : 1;
    if (free.length < need) shape = opts.noAbs ? 'esp' : 'abs';
    const anyValue = (): number => (opts.addressOnly ? dataValue(rng, 32) : 0);
    const take = (avoid: number[] = []): number => {
      const choices = free.filter((r) => !avoid.includes(r));
      return rng.pick(choices);
    };
    const indexValue = (): number => rng.pick([0, 1, 2, rng.range(0, 64), -rng.range(1, 64), rng.u32() | 0]);
    const scale = rng.pick([1, 2, 4, 8]);
    let text: string;
    switch (shape) {
      case 'b': {
        const b = take([ESP, 5]);
        this.pin(b, opts.addressOnly ? anyValue() : target);
        text = `[${REG32[b]}]`;
        break;
      }
      case 'bd8': case 'bd32': {
        const b = take([ESP]);
        const d = shape === 'bd8' ? rng.range(-128, 127) : rng.pick([rng.range(-0x8000, 0x8000), rng.u32() | 0]);
        this.pin(b, opts.addressOnly ? anyValue() : target - d);
        text = shape === 'bd8' ? `[byte ${REG32[b]}${sdisp(d)}]` : `[dword ${REG32[b]}${sdisp(d)}]`;
        break;
      }
      case 'bis': {
        const b = take();
        const i = take([b, ESP]);
        const iv = indexValue();
        const d = rng.pick([0, rng.range(-128, 127), rng.range(-0x10000, 0x10000)]);
        this.pin(i, opts.addressOnly ? anyValue() : iv);
        this.pin(b, opts.addressOnly ? anyValue() : target - Math.imul(iv, scale) - d);
        text = `[${REG32[b]}+${REG32[i]}*${scale}${d ? sdisp(d) : ''}]`;
        break;
      }
      case 'is': {
        const i = take([ESP]);
        const iv = opts.addressOnly ? anyValue() : indexValue();
        this.pin(i, iv);
        const d = opts.addressOnly ? rng.u32() : (target - Math.imul(iv, scale)) >>> 0;
        text = `[nosplit ${REG32[i]}*${scale}+${hex(d)}]`;
        break;
      }
      case 'abs':
        text = `[${hex(opts.addressOnly ? rng.u32() : target)}]`;
        break;
      case 'esp': {
        // [esp+d8]: the offset is chosen relative to the stack pointer instead.
        const d = rng.range(-64, 64);
        const off = this.regs[ESP]! + d - WINDOW_BASE;
        return { k: 'mem', offset: off, bytes, text: `${size}[esp${sdisp(d)}]`, addr: `[esp${sdisp(d)}]` };
      }
    }
    return { k: 'mem', offset, bytes, text: `${size}${text}`, addr: text };
  }

  /** Renders a fixed or chosen GPR operand and records it. */
  gpr(reg: number, bytes: number): Extract<Concrete, { k: 'reg' }> {
    return { k: 'reg', reg, bytes };
  }

  sregName(s: number): string {
    return SREG[s]!;
  }
}

/** Byte count of a GPR-ish operand (E/G/R/reg/Z) for this variant. */
export function gprBytes(op: Operand, osize: 16 | 32): number {
  if (!('size' in op) || op.size === null) return osize / 8;
  return sizeBytes(op.size, osize);
}

export { hex as hexImm, SIZE_WORD };
