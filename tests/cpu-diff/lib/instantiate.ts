// Renders one instruction of a form with concrete operands: the nasm text, the operands as
// data (so strategies can give them meaningful values) and what its encoding must be.
import { type Operand, sizeBytes } from './forms.ts';
import { counterMnemonic, isCounterBranch, nasmMnemonic, stringBase } from './mnemonics.ts';
import { type CaseBuilder, type Concrete, type MemOptions, gprBytes, hexImm } from './operands.ts';
import type { EncodingIntent, FormVariant } from './test-case.ts';
import { dataValue, mask, type Bits } from './values.ts';
import { isX87, x87MemBytes, x87MemKind } from './x87-state.ts';

export interface Instance {
  /** nasm lines (usually one; raw bytes where nasm cannot spell the encoding). */
  lines: string[];
  /** The instruction as a reader would write it. */
  text: string;
  ops: Concrete[];
  intent: EncodingIntent | null;
  prefixes: number[];
}

export interface InstanceOptions {
  /** Force the r/m operand to a register or to memory. */
  rm?: 'reg' | 'mem';
  mem?: MemOptions;
  /** Label for a J operand (default: the end of the snippet). */
  label?: string;
  /** Values for the I operands, in order (default: random/edge values). */
  imms?: readonly number[];
  /** Register for the G operand (default: random). */
  gReg?: number;
  /** 16-bit addressing (67 prefix); only used for LOOPcc/JeCXZ, whose counter it selects. */
  a16?: boolean;
}

const SIZE_KEYWORD: Record<number, string> = { 1: 'byte', 2: 'word', 4: 'dword' };

/** Memory bytes touched by an M/E operand, or null for address-only and unknown-size forms. */
function memBytes(v: FormVariant, op: Operand): number | null {
  if (isX87(v.def.opcode)) return x87MemBytes(x87MemKind(v.def.opcode, v.def.ext ?? 0), v.osize);
  if (op.k === 'M' && op.bytes !== undefined) return op.bytes;
  // A segment register store writes 16 bits whatever the operand size.
  if (op.k === 'E' && v.form.operands.some((o) => o.k === 'S')) return 2;
  if ((op.k === 'M' || op.k === 'E') && op.size !== null) return sizeBytes(op.size, v.osize);
  return null;
}

/** nasm needs a size keyword on memory operands whose size no register operand implies. */
function wantsKeyword(v: FormVariant, op: Operand): boolean {
  if (isX87(v.def.opcode)) return !['env', 'save', 'cw', 'sw', 'invalid'].includes(x87MemKind(v.def.opcode, v.def.ext ?? 0));
  if (op.k === 'M') return op.size !== null && ['b', 'w', 'd', 'q', 't'].includes(op.size);
  return op.k === 'E';
}

export function instantiate(b: CaseBuilder, v: FormVariant, opts: InstanceOptions = {}): Instance {
  const { def, form, osize } = v;
  const rng = b.rng;
  const rmMode = def.mod ?? opts.rm ?? (rng.chance(0.5) ? 'reg' : 'mem');
  const ops: Concrete[] = [];
  const texts: string[] = [];
  let modrmReg: number | undefined;
  let modrmRm: number | undefined;
  let memAddr: string | undefined;
  let rawRel16: string | undefined;
  const imms: Array<{ value: number; bytes: number }> = [];
  // nasm picks the moffs form (A0-A3) for mov al/eax with an absolute address: avoid that shape.
  const memOpts: MemOptions = { ...opts.mem };
  const usesAccumulator = form.operands.some((o) => o.k === 'G') && def.mnemonic === 'mov';
  const wideOp = form.operands.some((o) => (o.k === 'E' || o.k === 'G' || o.k === 'reg' || o.k === 'M') && 'size' in o && o.size !== null && o.size !== 'b');

  for (const op of form.operands) {
    switch (op.k) {
      case 'G': case 'R': case 'E': {
        const bytes = gprBytes(op, osize);
        if (op.k === 'E' && rmMode === 'mem') {
          const m = b.mem(memBytes(v, op), wantsKeyword(v, op), usesAccumulator ? { ...memOpts, noAbs: true } : memOpts);
          ops.push(m);
          texts.push(m.text);
          memAddr = m.addr;
          break;
        }
        const reg = op.k === 'G' && opts.gReg !== undefined ? opts.gReg : rng.int(8);
        ops.push(b.gpr(reg, bytes));
        texts.push(b.regName(reg, bytes));
        if (op.k === 'G') modrmReg = reg;
        else modrmRm = reg;
        break;
      }
      case 'M': {
        const m = b.mem(memBytes(v, op), wantsKeyword(v, op), memOpts);
        ops.push(m);
        texts.push(m.text);
        memAddr = m.addr;
        break;
      }
      case 'reg': case 'Z': {
        const reg = op.k === 'Z' ? def.opcode & 7 : op.reg;
        const bytes = gprBytes(op, osize);
        ops.push(b.gpr(reg, bytes));
        texts.push(b.regName(reg, bytes));
        break;
      }
      case 'I': {
        const bytes = sizeBytes(op.size, osize);
        const bits = Math.min(bytes * 8, 32) as Bits;
        const value = ((opts.imms?.[imms.length] ?? dataValue(rng, bits)) & mask(bits)) >>> 0;
        ops.push({ k: 'imm', value, bytes });
        imms.push({ value, bytes });
        // `strict` keeps nasm from choosing a shorter immediate form than the table entry's.
        // (Only where nasm has a choice: sign-extended imm8 forms and C0/C1 shifts by 1.)
        const plain = bytes === 1 ? !(wideOp || def.mnemonic === 'push') || /^(enter|shld|shrd)$/.test(def.mnemonic) : def.mnemonic === 'enter';
        texts.push(plain ? hexImm(value) : `strict ${SIZE_KEYWORD[bytes]} ${hexImm(value)}`);
        break;
      }
      case 'J': {
        const label = opts.label ?? '.cd_end';
        ops.push({ k: 'label', text: label });
        // LOOPcc/JeCXZ only have rel8 and nasm refuses a `short` on them.
        const bare = isCounterBranch(def.mnemonic);
        texts.push(bare ? label : op.size === 'b' ? `short ${label}` : osize === 16 ? `word ${label}` : `near ${label}`);
        // nasm has no spelling for a rel16 Jcc: emit the bytes, displacement computed by nasm.
        if (op.size !== 'b' && osize === 16) rawRel16 = label;
        break;
      }
      case 'O': {
        const m = b.mem(sizeBytes(op.size, osize), false, { ...memOpts, forceAbs: true });
        ops.push(m);
        texts.push(m.text);
        break;
      }
      case 'S': {
        const s = rng.int(4); // es cs ss ds: FS/GS differ between host and ts86
        modrmReg = s;
        ops.push({ k: 'other', text: b.sregName(s) });
        texts.push(b.sregName(s));
        break;
      }
      case 'sreg': ops.push({ k: 'other', text: b.sregName(op.sreg) }); texts.push(b.sregName(op.sreg)); break;
      case 'one': ops.push({ k: 'other', text: '1' }); texts.push('1'); break;
      case 'str': ops.push({ k: 'other', text: '' }); break;
      case 'st0': ops.push({ k: 'other', text: 'st0' }); texts.push('st0'); break;
      case 'stfix': ops.push({ k: 'other', text: `st${op.i}` }); texts.push(`st${op.i}`); break;
      case 'sti': {
        const i = rng.int(8);
        modrmRm = i;
        ops.push({ k: 'other', text: `st${i}` });
        texts.push(`st${i}`);
        break;
      }
    }
  }
  const a16 = opts.a16 === true && isCounterBranch(def.mnemonic);
  const base = nasmMnemonic(def, form, osize);
  const mnemonic = isCounterBranch(def.mnemonic) ? counterMnemonic(base, a16) : base;
  // String instructions take their operands implicitly (nasm: `stosb`, not `stosb al`).
  const shown = stringBase(def.mnemonic) ? [] : texts;
  const text = `${osize === 16 ? 'o16 ' : ''}${mnemonic}${shown.length ? ' ' + shown.join(', ') : ''}`;
  const prefixes = [...(osize === 16 ? [0x66] : []), ...(a16 ? [0x67] : []), ...(def.prefix !== undefined ? [def.prefix] : [])];
  const intent: EncodingIntent | null = form.hasModrm
    ? { reg: def.ext ?? modrmReg, ...(memAddr === undefined ? { rm: def.rm ?? modrmRm } : { memAddr }), imms }
    : null;
  const lines = rawRel16 === undefined ? [text] : [`db ${[...prefixes, ...opcodeBytes(def.opcode)].map(hexImm).join(', ')}`, `dw ${rawRel16} - ($ + 2)`];
  return { lines, text, ops, intent, prefixes };
}

export function opcodeBytes(opcode: number): number[] {
  return opcode > 0xff ? [0x0f, opcode & 0xff] : [opcode];
}
