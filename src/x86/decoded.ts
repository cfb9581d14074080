// The pool of pre-decoded instructions, as parallel typed arrays (one slot
// per instruction) so that decoding allocates nothing per instruction and the
// interpreter reads operands with plain indexed loads.

export const POOL_SLOTS = 1 << 19;

/** Slot attribute bits. */
export const A_O32 = 1;      // operand size 32
export const A_A32 = 2;      // address size 32
export const A_REG = 4;      // ModRM r/m names a register (mod == 3)
export const A_REP = 8;      // F3 prefix
export const A_REPNE = 16;   // F2 prefix
export const A_LOCK = 32;    // F0 prefix
export const A_SEGOVR = 64;  // a segment override prefix was present
export const A_MODRM = 128;  // the instruction has a ModRM byte

/** Register slot used for absent base/index terms: state word 8 is always zero. */
export const NO_REG = 8;

export class DecodedPool {
  constructor(readonly slots = POOL_SLOTS) {
    this.def = new Uint16Array(slots);
    this.len = new Uint8Array(slots);
    this.attrs = new Uint16Array(slots);
    this.opcode = new Uint16Array(slots);
    this.reg = new Uint8Array(slots);
    this.rm = new Uint8Array(slots);
    this.modrm = new Uint8Array(slots);
    this.eaBase = new Uint8Array(slots);
    this.eaIndex = new Uint8Array(slots);
    this.eaScale = new Uint8Array(slots);
    this.seg = new Uint8Array(slots);
    this.disp = new Int32Array(slots);
    this.imm = new Int32Array(slots);
    this.imm2 = new Int32Array(slots);
    this.blockLen = new Uint16Array(slots);
    this.eipOff = new Uint16Array(slots);
  }
  /** Index of the instruction definition (into the table) to execute. */
  readonly def: Uint16Array;
  readonly len: Uint8Array;
  readonly attrs: Uint16Array;
  readonly opcode: Uint16Array;
  /** ModRM.reg, or the register in the opcode's low bits for +r forms. */
  readonly reg: Uint8Array;
  /** ModRM.rm (a register number when A_REG). */
  readonly rm: Uint8Array;
  readonly modrm: Uint8Array;
  readonly eaBase: Uint8Array;
  readonly eaIndex: Uint8Array;
  readonly eaScale: Uint8Array;
  /** Effective segment of the memory operand (after overrides). */
  readonly seg: Uint8Array;
  readonly disp: Int32Array;
  readonly imm: Int32Array;
  readonly imm2: Int32Array;
  /** On a block's first slot: the number of instructions in the block. */
  readonly blockLen: Uint16Array;
  /** Offset of the instruction's first byte from its block's starting EIP. */
  readonly eipOff: Uint16Array;
}
