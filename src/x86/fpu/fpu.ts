// The x87 FPU as the CPU core sees it: one object over the shared state
// block, an `exec` entry point for every D8..DF instruction (dispatching on
// the op numbers from decode.ts), FXSAVE/FXRSTOR, FWAIT support and reset.
//
// Division of labour with the CPU core:
//  - #NM (CR0.EM, or CR0.TS with MP for WAIT) is the CPU's check, done before
//    calling in. #UD for OP_UD encodings, and for F_SSE3 ops when SSE3 is not
//    advertised, is also the CPU's.
//  - Unmasked exceptions: an instruction that raises an exception whose mask
//    bit is clear sets the flag plus ES and B in the status word and, for the
//    pre-computation ones (IE, DE, ZE; and OE/UE for stores to memory), leaves
//    its destination and TOP unchanged. Nothing is thrown. Before every
//    *waiting* instruction (all ops without F_NOWAIT, and WAIT/FWAIT itself)
//    the CPU must call pendingUnmaskedException(): if true, it raises #MF when
//    CR0.NE = 1, or asserts FERR# (IRQ13 through the PIC, DOS-compatible mode)
//    when CR0.NE = 0, instead of executing the instruction.
//  - FIP/FCS/FOP/FDP/FDS: the CPU passes the instruction's CS:EIP and the
//    memory operand's segment selector and offset with setContext() before
//    exec(); control instructions (F_CONTROL) leave the pointers alone.

import { FpuState } from './state.ts';
import type { FpuHost } from './host.ts';
import { ENV_PROT32 } from './host.ts';
import { FPU_STATE_SIZE, OFF_FCS, OFF_FDP, OFF_FDS, OFF_FIP, OFF_FOP } from './layout.ts';
import { EFLAGS_FCOMI_MASK, SW_ES } from './bits.ts';
import * as D from './decode.ts';
import { arithMem, arithReg, compareReg, compareST0, ftst, loadMemOperandB, G_COM, G_COMP } from './ops-arith.ts';
import {
  fbld, fbstp, fcmov, fstpNoCheck, fildM16, fildM32, fildM64, fistInt, fldM32, fldM64, fldM80, fldSti, fstFloat, fstSti, fstpM80, fxch,
} from './ops-loadstore.ts';
import { frndint, fsign, fsqrt, fxam } from './ops-unary.ts';
import { fprem, fscale, fxtract } from './ops-scale.ts';
import { ffree, fldConst, fstp } from './ops-stack.ts';
import { fldcw, fldenv, fnclex, fninit, fnsave, fnstenv, frstor, fxrstor, fxsave } from './env.ts';
import { f2xm1, fpatan, fptan, fsincos, fsin, fcos, fyl2x, fyl2xp1 } from './ops-trans.ts';
import { CONST_L2E, CONST_L2T, CONST_LG2, CONST_LN2, CONST_ONE, CONST_PI } from './constants.ts';

export class Fpu extends FpuState {
  /** Context of the instruction about to execute (an input, not state): cs, eip, data selector, data offset, env format. */
  private readonly ctx = new Int32Array(5);

  constructor(mem: DataView, base: number, host: FpuHost) {
    super(mem, base, host);
    if (base < 0 || base + FPU_STATE_SIZE > mem.byteLength) throw new RangeError('FPU state block outside memory');
  }

  /** Power-on / RESET state (FNINIT, registers zeroed). */
  reset(): void {
    for (let i = 0; i < FPU_STATE_SIZE; i++) this.mem.setUint8(this.base + i, 0);
    fninit(this);
  }

  /** True when an unmasked exception is pending (ES set): the next waiting instruction must not run (see header). */
  pendingUnmaskedException(): boolean {
    return (this.sw & SW_ES) !== 0;
  }

  /** Status word for FNSTSW AX and for debuggers. */
  statusWord(): number {
    return this.sw;
  }

  /**
   * Describes the next instruction: its CS selector and EIP (offset), the
   * memory operand's segment selector and offset (0, 0 for register forms),
   * and the FLDENV/FSTENV/FSAVE/FRSTOR image format (ENV_* from host.ts:
   * real vs protected by CPU mode, V86 counts as real; 16/32 by operand size).
   */
  setContext(cs: number, eip: number, dataSel: number, dataOff: number, envFormat: number = ENV_PROT32): void {
    const c = this.ctx;
    c[0] = cs;
    c[1] = eip;
    c[2] = dataSel;
    c[3] = dataOff;
    c[4] = envFormat;
  }

  /**
   * Executes the escape instruction `esc` (0xD8..0xDF) with ModRM `modrm`.
   * `ea` is the linear address of the memory operand (ignored for mod = 3).
   * `eflags` is only read by FCMOVcc. Returns the new EFLAGS for F_WRITES_EFLAGS
   * ops (ZF/PF/CF from the comparison, OF/SF/AF cleared; set even when the
   * comparison raised an unmasked IE/DE, as on the host, which then only
   * skips the pop), the new AX for FNSTSW AX, and
   * `eflags` otherwise. Throws only what the host's memory accessors throw.
   */
  exec(esc: number, modrm: number, ea: number, eflags = 0): number {
    const op = D.decodeFpu(esc, modrm);
    const reg = (modrm >>> 3) & 7;
    const i = modrm & 7;
    let ret = eflags;
    switch (op) {
      case D.OP_ARITH_M32:
      case D.OP_ARITH_M64:
      case D.OP_ARITH_M32I:
      case D.OP_ARITH_M16I: {
        const kb = loadMemOperandB(this, op, ea);
        if (reg === G_COM || reg === G_COMP) compareST0(this, kb, false, reg - G_COM, false);
        else arithMem(this, reg, kb);
        break;
      }
      case D.OP_ARITH_ST0:
        if (reg === G_COM || reg === G_COMP) compareReg(this, i, false, reg - G_COM, false);
        else arithReg(this, reg, i, 0, false);
        break;
      case D.OP_ARITH_STI:
        if (reg === G_COM || reg === G_COMP) compareReg(this, i, false, reg - G_COM, false);
        else arithReg(this, reg, i, i, false);
        break;
      case D.OP_ARITH_STI_POP:
        if (reg === G_COM) compareReg(this, i, false, 1, false);
        else arithReg(this, reg, i, i, true);
        break;
      case D.OP_FCOMPP:
        compareReg(this, 1, false, 2, false);
        break;
      case D.OP_FUCOM:
        compareReg(this, i, true, 0, false);
        break;
      case D.OP_FUCOMP:
        compareReg(this, i, true, 1, false);
        break;
      case D.OP_FUCOMPP:
        compareReg(this, 1, true, 2, false);
        break;
      case D.OP_FCOMI:
      case D.OP_FCOMIP:
      case D.OP_FUCOMI:
      case D.OP_FUCOMIP: {
        const quiet = op === D.OP_FUCOMI || op === D.OP_FUCOMIP;
        const pop = op === D.OP_FCOMIP || op === D.OP_FUCOMIP ? 1 : 0;
        const zpc = compareReg(this, i, quiet, pop, true);
        ret = (eflags & ~EFLAGS_FCOMI_MASK) | zpc;
        break;
      }
      case D.OP_FTST:
        ftst(this);
        break;
      case D.OP_FLD_M32:
        fldM32(this, ea);
        break;
      case D.OP_FLD_M64:
        fldM64(this, ea);
        break;
      case D.OP_FLD_M80:
        fldM80(this, ea);
        break;
      case D.OP_FLD_STI:
        fldSti(this, i);
        break;
      case D.OP_FST_M32:
      case D.OP_FSTP_M32:
        fstFloat(this, ea, 24, op === D.OP_FSTP_M32);
        break;
      case D.OP_FST_M64:
      case D.OP_FSTP_M64:
        fstFloat(this, ea, 53, op === D.OP_FSTP_M64);
        break;
      case D.OP_FSTP_M80:
        fstpM80(this, ea);
        break;
      case D.OP_FST_STI:
        fstSti(this, i, false);
        break;
      case D.OP_FSTP_STI:
        fstSti(this, i, true);
        break;
      case D.OP_FSTPNCE:
        fstpNoCheck(this, i);
        break;
      case D.OP_FILD_M16:
        fildM16(this, ea);
        break;
      case D.OP_FILD_M32:
        fildM32(this, ea);
        break;
      case D.OP_FILD_M64:
        fildM64(this, ea);
        break;
      case D.OP_FIST_M16:
      case D.OP_FISTP_M16:
        fistInt(this, ea, 16, op === D.OP_FISTP_M16, false);
        break;
      case D.OP_FIST_M32:
      case D.OP_FISTP_M32:
        fistInt(this, ea, 32, op === D.OP_FISTP_M32, false);
        break;
      case D.OP_FISTP_M64:
        fistInt(this, ea, 64, true, false);
        break;
      case D.OP_FISTTP_M16:
        fistInt(this, ea, 16, true, true);
        break;
      case D.OP_FISTTP_M32:
        fistInt(this, ea, 32, true, true);
        break;
      case D.OP_FISTTP_M64:
        fistInt(this, ea, 64, true, true);
        break;
      case D.OP_FBLD:
        fbld(this, ea);
        break;
      case D.OP_FBSTP:
        fbstp(this, ea);
        break;
      case D.OP_FXCH:
        fxch(this, i);
        break;
      case D.OP_FCMOV:
        fcmov(this, esc, reg, i, eflags);
        break;
      case D.OP_FLDENV:
        fldenv(this, ea, this.ctx[4]);
        break;
      case D.OP_FLDCW:
        fldcw(this, this.host.read16(ea));
        break;
      case D.OP_FNSTENV:
        fnstenv(this, ea, this.ctx[4]);
        break;
      case D.OP_FNSTCW:
        this.host.write16(ea, this.cw);
        break;
      case D.OP_FRSTOR:
        frstor(this, ea, this.ctx[4]);
        break;
      case D.OP_FNSAVE:
        fnsave(this, ea, this.ctx[4]);
        break;
      case D.OP_FNSTSW_M16:
        this.host.write16(ea, this.sw);
        break;
      case D.OP_FNSTSW_AX:
        ret = this.sw;
        break;
      case D.OP_FNINIT:
        fninit(this);
        break;
      case D.OP_FNCLEX:
        fnclex(this);
        break;
      case D.OP_FNOP:
      case D.OP_FNENI:
        break;
      case D.OP_FFREE:
        ffree(this, i, false);
        break;
      case D.OP_FFREEP:
        ffree(this, i, true);
        break;
      case D.OP_FINCSTP:
        fstp(this, 1);
        break;
      case D.OP_FDECSTP:
        fstp(this, -1);
        break;
      case D.OP_FCHS:
        fsign(this, true);
        break;
      case D.OP_FABS:
        fsign(this, false);
        break;
      case D.OP_FXAM:
        fxam(this);
        break;
      case D.OP_FLD1:
        fldConst(this, CONST_ONE);
        break;
      case D.OP_FLDL2T:
        fldConst(this, CONST_L2T);
        break;
      case D.OP_FLDL2E:
        fldConst(this, CONST_L2E);
        break;
      case D.OP_FLDPI:
        fldConst(this, CONST_PI);
        break;
      case D.OP_FLDLG2:
        fldConst(this, CONST_LG2);
        break;
      case D.OP_FLDLN2:
        fldConst(this, CONST_LN2);
        break;
      case D.OP_FLDZ:
        fldConst(this, -1);
        break;
      case D.OP_FSQRT:
        fsqrt(this);
        break;
      case D.OP_FRNDINT:
        frndint(this);
        break;
      case D.OP_FSCALE:
        fscale(this);
        break;
      case D.OP_FXTRACT:
        fxtract(this);
        break;
      case D.OP_FPREM:
        fprem(this, false);
        break;
      case D.OP_FPREM1:
        fprem(this, true);
        break;
      case D.OP_F2XM1:
        f2xm1(this);
        break;
      case D.OP_FYL2X:
        fyl2x(this);
        break;
      case D.OP_FYL2XP1:
        fyl2xp1(this);
        break;
      case D.OP_FPTAN:
        fptan(this);
        break;
      case D.OP_FPATAN:
        fpatan(this);
        break;
      case D.OP_FSIN:
        fsin(this);
        break;
      case D.OP_FCOS:
        fcos(this);
        break;
      case D.OP_FSINCOS:
        fsincos(this);
        break;
      default:
        throw new Error(`x87: undefined encoding ${esc.toString(16)} ${modrm.toString(16)} (the CPU raises #UD for OP_UD)`);
    }
    if (!(D.opFlags[op] & D.F_CONTROL)) this.recordPointers(esc, modrm, op);
    return ret;
  }

  private recordPointers(esc: number, modrm: number, op: number): void {
    const m = this.mem, b = this.base, c = this.ctx;
    m.setUint32(b + OFF_FIP, c[1] >>> 0, true);
    m.setUint16(b + OFF_FCS, c[0] & 0xffff, true);
    m.setUint16(b + OFF_FOP, ((esc & 7) << 8) | modrm, true);
    if (D.opFlags[op] & D.F_MEM) {
      m.setUint32(b + OFF_FDP, c[3] >>> 0, true);
      m.setUint16(b + OFF_FDS, c[2] & 0xffff, true);
    }
  }

  /** FXSAVE: the x87 part of the 512-byte image at `ea` (the CPU/SSE unit fills MXCSR and XMM). */
  fxsave(ea: number): void {
    fxsave(this, ea);
  }

  /** FXRSTOR: loads the x87 part of the image at `ea`. */
  fxrstor(ea: number): void {
    fxrstor(this, ea);
  }
}

