// Decode table for the x87 escape opcodes D8..DF: which operation a ModRM
// byte selects, whether the encoding is #UD on a Pentium Pro class CPU, and
// the nasm-syntax disassembly. Fpu.exec dispatches on the same op numbers, so
// this file is the single description of the x87 opcode space.

// ---- operation numbers -------------------------------------------------
export const OP_UD = 0;
// Arithmetic group: the ModRM reg field picks add, mul, com, comp, sub, subr,
// div, divr. In every form reg 4 computes ST0 - other and reg 5 other - ST0
// (so DC E0+i "fsubr st(i), st0" is ST(i) = ST0 - ST(i)), likewise 6/7 for div.
export const OP_ARITH_M32 = 1; // D8 /r
export const OP_ARITH_M64 = 2; // DC /r
export const OP_ARITH_M32I = 3; // DA /r
export const OP_ARITH_M16I = 4; // DE /r
export const OP_ARITH_ST0 = 5; // D8 C0+: ST0 = ST0 op ST(i)
export const OP_ARITH_STI = 6; // DC C0+: ST(i) = ST(i) op ST0 (reg 2/3: FCOM2/FCOMP3 aliases)
export const OP_ARITH_STI_POP = 7; // DE C0+: same, then pop (reg 2: FCOMP5 alias)
export const OP_FCOMPP = 8;
export const OP_FLD_M32 = 9;
export const OP_FLD_M64 = 10;
export const OP_FLD_M80 = 11;
export const OP_FLD_STI = 12;
export const OP_FST_M32 = 13;
export const OP_FSTP_M32 = 14;
export const OP_FST_M64 = 15;
export const OP_FSTP_M64 = 16;
export const OP_FSTP_M80 = 17;
export const OP_FST_STI = 18;
export const OP_FSTP_STI = 19; // DD D8+, and the aliases D9 D8+, DF D0+, DF D8+
export const OP_FILD_M16 = 20;
export const OP_FILD_M32 = 21;
export const OP_FILD_M64 = 22;
export const OP_FIST_M16 = 23;
export const OP_FISTP_M16 = 24;
export const OP_FIST_M32 = 25;
export const OP_FISTP_M32 = 26;
export const OP_FISTP_M64 = 27;
export const OP_FISTTP_M16 = 28;
export const OP_FISTTP_M32 = 29;
export const OP_FISTTP_M64 = 30;
export const OP_FBLD = 31;
export const OP_FBSTP = 32;
export const OP_FXCH = 33; // D9 C8+, and the aliases DD C8+, DF C8+
export const OP_FUCOM = 34;
export const OP_FUCOMP = 35;
export const OP_FUCOMPP = 36;
export const OP_FCOMI = 37;
export const OP_FCOMIP = 38;
export const OP_FUCOMI = 39;
export const OP_FUCOMIP = 40;
export const OP_FCMOV = 41; // DA/DB C0..DF: condition from opcode bit 0 and ModRM reg
export const OP_FLDENV = 42;
export const OP_FLDCW = 43;
export const OP_FNSTENV = 44;
export const OP_FNSTCW = 45;
export const OP_FRSTOR = 46;
export const OP_FNSAVE = 47;
export const OP_FNSTSW_M16 = 48;
export const OP_FNSTSW_AX = 49;
export const OP_FNINIT = 50;
export const OP_FNCLEX = 51;
export const OP_FNOP = 52;
export const OP_FFREE = 53;
export const OP_FFREEP = 54;
export const OP_FINCSTP = 55;
export const OP_FDECSTP = 56;
export const OP_FCHS = 57;
export const OP_FABS = 58;
export const OP_FTST = 59;
export const OP_FXAM = 60;
export const OP_FLD1 = 61;
export const OP_FLDL2T = 62;
export const OP_FLDL2E = 63;
export const OP_FLDPI = 64;
export const OP_FLDLG2 = 65;
export const OP_FLDLN2 = 66;
export const OP_FLDZ = 67;
export const OP_F2XM1 = 68;
export const OP_FYL2X = 69;
export const OP_FPTAN = 70;
export const OP_FPATAN = 71;
export const OP_FXTRACT = 72;
export const OP_FPREM1 = 73;
/** D9 D8+i ("FSTP1"/FSTPNCE): copies ST0 with its tag, pops, never faults on an empty ST0. */
export const OP_FSTPNCE = 74;
export const OP_FPREM = 75;
export const OP_FYL2XP1 = 76;
export const OP_FSQRT = 77;
export const OP_FSINCOS = 78;
export const OP_FRNDINT = 79;
export const OP_FSCALE = 80;
export const OP_FSIN = 81;
export const OP_FCOS = 82;
/** DB E0/E1/E4 (FNENI, FNDISI, FNSETPM): 8087/287 leftovers, no-ops on the 387+ that leave the pointers alone. */
export const OP_FNENI = 83;
export const OP_COUNT = 84;

// ---- per-op properties ---------------------------------------------------
/** No-wait control instruction: does not check for a pending unmasked exception (FN* forms). */
export const F_NOWAIT = 1;
/** Control instruction: leaves FIP/FCS/FOP/FDP/FDS unchanged. */
export const F_CONTROL = 2;
/** Writes EFLAGS ZF/PF/CF (clears OF/SF/AF): exec returns the new EFLAGS. */
export const F_WRITES_EFLAGS = 4;
/** Reads EFLAGS (FCMOVcc): pass the current EFLAGS to exec. */
export const F_READS_EFLAGS = 8;
/** Writes AX (FNSTSW AX): exec returns the new AX. */
export const F_WRITES_AX = 16;
/** Has a memory operand (ModRM mod != 3). */
export const F_MEM = 32;
/** Needs SSE3 (FISTTP): #UD on a Pentium Pro; valid only if the CPU advertises SSE3. */
export const F_SSE3 = 64;
/** Memory image format depends on operand size and mode (FLDENV/FNSTENV/FRSTOR/FNSAVE). */
export const F_ENV = 128;

export const opFlags = new Uint8Array(OP_COUNT);
/** Mnemonic per op (arith/fcmov groups are refined by ModRM in disassemble). */
export const opName: string[] = new Array<string>(OP_COUNT).fill('(bad)');

const memTable = new Uint8Array(64); // [(esc & 7) * 8 + reg]
const regTable = new Uint8Array(512); // [(esc & 7) * 64 + (modrm & 63)]

function mem(esc: number, reg: number, op: number, name: string, flags = 0): void {
  memTable[(esc & 7) * 8 + reg] = op;
  opName[op] = name;
  opFlags[op] |= flags | F_MEM;
}
function regs(esc: number, first: number, count: number, op: number, name: string, flags = 0): void {
  for (let i = 0; i < count; i++) regTable[(esc & 7) * 64 + ((first + i) & 63)] = op;
  if (opName[op] === '(bad)') opName[op] = name;
  opFlags[op] |= flags;
}

const ARITH = ['fadd', 'fmul', 'fcom', 'fcomp', 'fsub', 'fsubr', 'fdiv', 'fdivr'];
for (let r = 0; r < 8; r++) {
  mem(0xd8, r, OP_ARITH_M32, 'arith');
  mem(0xdc, r, OP_ARITH_M64, 'arith');
  mem(0xda, r, OP_ARITH_M32I, 'iarith');
  mem(0xde, r, OP_ARITH_M16I, 'iarith');
}
regs(0xd8, 0xc0, 64, OP_ARITH_ST0, 'arith');
regs(0xdc, 0xc0, 64, OP_ARITH_STI, 'arith');
regs(0xde, 0xc0, 16, OP_ARITH_STI_POP, 'arithp');
regs(0xde, 0xd0, 8, OP_ARITH_STI_POP, 'arithp'); // FCOMP5 alias
regs(0xde, 0xe0, 32, OP_ARITH_STI_POP, 'arithp');
regs(0xde, 0xd9, 1, OP_FCOMPP, 'fcompp');

mem(0xd9, 0, OP_FLD_M32, 'fld');
mem(0xd9, 2, OP_FST_M32, 'fst');
mem(0xd9, 3, OP_FSTP_M32, 'fstp');
mem(0xd9, 4, OP_FLDENV, 'fldenv', F_CONTROL | F_ENV);
mem(0xd9, 5, OP_FLDCW, 'fldcw', F_CONTROL);
mem(0xd9, 6, OP_FNSTENV, 'fnstenv', F_CONTROL | F_NOWAIT | F_ENV);
mem(0xd9, 7, OP_FNSTCW, 'fnstcw', F_CONTROL | F_NOWAIT);
mem(0xdb, 0, OP_FILD_M32, 'fild');
mem(0xdb, 1, OP_FISTTP_M32, 'fisttp', F_SSE3);
mem(0xdb, 2, OP_FIST_M32, 'fist');
mem(0xdb, 3, OP_FISTP_M32, 'fistp');
mem(0xdb, 5, OP_FLD_M80, 'fld');
mem(0xdb, 7, OP_FSTP_M80, 'fstp');
mem(0xdd, 0, OP_FLD_M64, 'fld');
mem(0xdd, 1, OP_FISTTP_M64, 'fisttp', F_SSE3);
mem(0xdd, 2, OP_FST_M64, 'fst');
mem(0xdd, 3, OP_FSTP_M64, 'fstp');
mem(0xdd, 4, OP_FRSTOR, 'frstor', F_CONTROL | F_ENV);
mem(0xdd, 6, OP_FNSAVE, 'fnsave', F_CONTROL | F_NOWAIT | F_ENV);
mem(0xdd, 7, OP_FNSTSW_M16, 'fnstsw', F_CONTROL | F_NOWAIT);
mem(0xdf, 0, OP_FILD_M16, 'fild');
mem(0xdf, 1, OP_FISTTP_M16, 'fisttp', F_SSE3);
mem(0xdf, 2, OP_FIST_M16, 'fist');
mem(0xdf, 3, OP_FISTP_M16, 'fistp');
mem(0xdf, 4, OP_FBLD, 'fbld');
mem(0xdf, 5, OP_FILD_M64, 'fild');
mem(0xdf, 6, OP_FBSTP, 'fbstp');
mem(0xdf, 7, OP_FISTP_M64, 'fistp');

regs(0xd9, 0xc0, 8, OP_FLD_STI, 'fld');
regs(0xd9, 0xc8, 8, OP_FXCH, 'fxch');
regs(0xdd, 0xc8, 8, OP_FXCH, 'fxch'); // FXCH4 alias
regs(0xdf, 0xc8, 8, OP_FXCH, 'fxch'); // FXCH7 alias
regs(0xd9, 0xd0, 1, OP_FNOP, 'fnop');
regs(0xdb, 0xe0, 1, OP_FNENI, 'fneni', F_CONTROL | F_NOWAIT);
regs(0xdb, 0xe1, 1, OP_FNENI, 'fndisi', F_CONTROL | F_NOWAIT);
regs(0xdb, 0xe4, 1, OP_FNENI, 'fsetpm', F_CONTROL | F_NOWAIT);
regs(0xdd, 0xd8, 8, OP_FSTP_STI, 'fstp');
regs(0xd9, 0xd8, 8, OP_FSTPNCE, 'fstp'); // FSTP1 alias: no empty check
regs(0xdf, 0xd0, 16, OP_FSTP_STI, 'fstp'); // FSTP8, FSTP9 aliases
regs(0xdd, 0xd0, 8, OP_FST_STI, 'fst');
regs(0xdd, 0xc0, 8, OP_FFREE, 'ffree');
regs(0xdf, 0xc0, 8, OP_FFREEP, 'ffreep');
regs(0xdd, 0xe0, 8, OP_FUCOM, 'fucom');
regs(0xdd, 0xe8, 8, OP_FUCOMP, 'fucomp');
regs(0xda, 0xe9, 1, OP_FUCOMPP, 'fucompp');
regs(0xdb, 0xe8, 8, OP_FUCOMI, 'fucomi', F_WRITES_EFLAGS);
regs(0xdb, 0xf0, 8, OP_FCOMI, 'fcomi', F_WRITES_EFLAGS);
regs(0xdf, 0xe8, 8, OP_FUCOMIP, 'fucomip', F_WRITES_EFLAGS);
regs(0xdf, 0xf0, 8, OP_FCOMIP, 'fcomip', F_WRITES_EFLAGS);
regs(0xda, 0xc0, 32, OP_FCMOV, 'fcmov', F_READS_EFLAGS);
regs(0xdb, 0xc0, 32, OP_FCMOV, 'fcmov', F_READS_EFLAGS);
regs(0xdb, 0xe2, 1, OP_FNCLEX, 'fnclex', F_CONTROL | F_NOWAIT);
regs(0xdb, 0xe3, 1, OP_FNINIT, 'fninit', F_CONTROL | F_NOWAIT);
regs(0xdf, 0xe0, 1, OP_FNSTSW_AX, 'fnstsw', F_CONTROL | F_NOWAIT | F_WRITES_AX);

const D9_MISC: [number, number, string][] = [
  [0xe0, OP_FCHS, 'fchs'], [0xe1, OP_FABS, 'fabs'], [0xe4, OP_FTST, 'ftst'], [0xe5, OP_FXAM, 'fxam'],
  [0xe8, OP_FLD1, 'fld1'], [0xe9, OP_FLDL2T, 'fldl2t'], [0xea, OP_FLDL2E, 'fldl2e'], [0xeb, OP_FLDPI, 'fldpi'],
  [0xec, OP_FLDLG2, 'fldlg2'], [0xed, OP_FLDLN2, 'fldln2'], [0xee, OP_FLDZ, 'fldz'],
  [0xf0, OP_F2XM1, 'f2xm1'], [0xf1, OP_FYL2X, 'fyl2x'], [0xf2, OP_FPTAN, 'fptan'], [0xf3, OP_FPATAN, 'fpatan'],
  [0xf4, OP_FXTRACT, 'fxtract'], [0xf5, OP_FPREM1, 'fprem1'], [0xf6, OP_FDECSTP, 'fdecstp'], [0xf7, OP_FINCSTP, 'fincstp'],
  [0xf8, OP_FPREM, 'fprem'], [0xf9, OP_FYL2XP1, 'fyl2xp1'], [0xfa, OP_FSQRT, 'fsqrt'], [0xfb, OP_FSINCOS, 'fsincos'],
  [0xfc, OP_FRNDINT, 'frndint'], [0xfd, OP_FSCALE, 'fscale'], [0xfe, OP_FSIN, 'fsin'], [0xff, OP_FCOS, 'fcos'],
];
for (const [m, op, name] of D9_MISC) regs(0xd9, m, 1, op, name);

/**
 * The operation selected by escape byte `esc` (D8..DF) and `modrm`, or OP_UD
 * for an encoding that is #UD on a Pentium Pro. FISTTP decodes to its op
 * with F_SSE3 set: a CPU that does not advertise SSE3 must raise #UD for it.
 */
export function decodeFpu(esc: number, modrm: number): number {
  return modrm >= 0xc0 ? regTable[(esc & 7) * 64 + (modrm & 63)] : memTable[(esc & 7) * 8 + ((modrm >>> 3) & 7)];
}

const MEM_SIZE: Record<number, string> = {
  [OP_ARITH_M32]: 'dword ', [OP_ARITH_M64]: 'qword ', [OP_ARITH_M32I]: 'dword ', [OP_ARITH_M16I]: 'word ',
  [OP_FLD_M32]: 'dword ', [OP_FST_M32]: 'dword ', [OP_FSTP_M32]: 'dword ',
  [OP_FLD_M64]: 'qword ', [OP_FST_M64]: 'qword ', [OP_FSTP_M64]: 'qword ',
  [OP_FLD_M80]: 'tword ', [OP_FSTP_M80]: 'tword ', [OP_FBLD]: 'tword ', [OP_FBSTP]: 'tword ',
  [OP_FILD_M16]: 'word ', [OP_FIST_M16]: 'word ', [OP_FISTP_M16]: 'word ', [OP_FISTTP_M16]: 'word ',
  [OP_FILD_M32]: 'dword ', [OP_FIST_M32]: 'dword ', [OP_FISTP_M32]: 'dword ', [OP_FISTTP_M32]: 'dword ',
  [OP_FILD_M64]: 'qword ', [OP_FISTP_M64]: 'qword ', [OP_FISTTP_M64]: 'qword ',
  [OP_FLDCW]: 'word ', [OP_FNSTCW]: 'word ', [OP_FNSTSW_M16]: 'word ',
};

const FCMOV = ['fcmovb', 'fcmove', 'fcmovbe', 'fcmovu', 'fcmovnb', 'fcmovne', 'fcmovnbe', 'fcmovnu'];

/**
 * nasm-syntax text for an x87 instruction, e.g. "fadd dword [ebx+4]",
 * "fadd st0, st3", "faddp st3, st0". `memText` is the bracketed address
 * ("[ebx+4]") for memory forms. Alias encodings (FSTP1, FXCH4, FCOMP5, ...)
 * print as the canonical instruction they behave like.
 */
export function disassembleFpu(esc: number, modrm: number, memText = '[mem]'): string {
  const op = decodeFpu(esc, modrm);
  const reg = (modrm >>> 3) & 7;
  const i = modrm & 7;
  const sti = `st${i}`;
  switch (op) {
    case OP_UD:
      return '(bad)';
    case OP_ARITH_M32:
    case OP_ARITH_M64:
      return `${ARITH[reg]} ${MEM_SIZE[op]}${memText}`;
    case OP_ARITH_M32I:
    case OP_ARITH_M16I:
      return `fi${ARITH[reg].slice(1)} ${MEM_SIZE[op]}${memText}`;
    case OP_ARITH_ST0:
      return reg === 2 || reg === 3 ? `${ARITH[reg]} ${sti}` : `${ARITH[reg]} st0, ${sti}`;
    case OP_ARITH_STI:
      // DC E0+i is "fsubr st(i), st0": ST(i) = ST0 - ST(i); the mnemonic names the reverse.
      return reg === 2 || reg === 3 ? `${ARITH[reg]} ${sti}` : `${ARITH[reg ^ (reg >= 4 ? 1 : 0)]} ${sti}, st0`;
    case OP_ARITH_STI_POP:
      return reg === 2 ? `fcomp ${sti}` : `${ARITH[reg ^ (reg >= 4 ? 1 : 0)]}p ${sti}, st0`;
    case OP_FCMOV:
      return `${FCMOV[((esc & 1) << 2) | (reg & 3)]} st0, ${sti}`;
    case OP_FUCOMI:
    case OP_FCOMI:
    case OP_FUCOMIP:
    case OP_FCOMIP:
      return `${opName[op]} st0, ${sti}`;
    case OP_FLD_STI:
    case OP_FSTPNCE:
    case OP_FXCH:
    case OP_FST_STI:
    case OP_FSTP_STI:
    case OP_FFREE:
    case OP_FFREEP:
    case OP_FUCOM:
    case OP_FUCOMP:
      return `${opName[op]} ${sti}`;
    case OP_FNSTSW_AX:
      return 'fnstsw ax';
    case OP_FNENI:
      return modrm === 0xe0 ? 'fneni' : modrm === 0xe1 ? 'fndisi' : 'fsetpm';
    default:
      if (opFlags[op] & F_MEM) return `${opName[op]} ${MEM_SIZE[op] ?? ''}${memText}`;
      return opName[op];
  }
}
