// Random loop programs for the JS-tier comparison: a loop body of random
// instructions runs many times (so its blocks get compiled part-way through),
// with forward branches, calls, stack traffic, memory operands in every
// addressing shape, segment overrides, page-crossing and unaligned accesses,
// flag producers and consumers in every pairing, and now and then an address
// register that goes bad at a chosen iteration (a fault inside compiled code).
import { WINDOW } from './rig.ts';

export class Rng {
  constructor(private s: number) {}
  next(): number {
    // xorshift32
    let x = this.s | 0;
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    this.s = x;
    return x >>> 0;
  }
  int(n: number): number {
    return this.next() % n;
  }
  pick<T>(a: readonly T[]): T {
    return a[this.int(a.length)];
  }
  chance(p: number): boolean {
    return this.next() / 0x1_0000_0000 < p;
  }
}

const R32 = ['eax', 'ebx', 'ecx', 'edx'];
const R16 = ['ax', 'bx', 'cx', 'dx'];
const R8 = ['al', 'bl', 'cl', 'dl', 'ah', 'bh', 'ch', 'dh'];
const ALU = ['add', 'or', 'adc', 'sbb', 'and', 'sub', 'xor', 'cmp'];
const CC = ['o', 'no', 'b', 'ae', 'e', 'ne', 'be', 'a', 's', 'ns', 'p', 'np', 'l', 'ge', 'le', 'g'];
const SHIFT = ['shl', 'shr', 'sar', 'rol', 'ror', 'rcl', 'rcr'];

export interface GenOptions {
  /** Segment overrides with a based FS/GS (the rig's fsBase/gsBase). */
  gsBase: number;
  /** Whether code may use privileged-free but system-ish forms (CLI/STI need CPL 0). */
  user: boolean;
}

export class ProgramGen {
  private label = 0;
  private readonly lines: string[] = [];
  private readonly funcs: string[][] = [];

  constructor(private readonly rng: Rng, private readonly o: GenOptions) {}

  private l(): string {
    return `.L${this.label++}`;
  }

  private imm(): string {
    const r = this.rng;
    switch (r.int(6)) {
      case 0: return `${r.int(16)}`;
      case 1: return `${r.int(256) - 128}`;
      case 2: return `0x${r.next().toString(16)}`;
      case 3: return r.pick(['0', '1', '-1', '0x7fffffff', '0x80000000', '0xffff', '0x8000', '0x7f', '0x80']);
      default: return `${r.int(1000)}`;
    }
  }

  /** A memory operand (without size) that is mostly inside the window. */
  private mem(): string {
    const r = this.rng;
    switch (r.int(10)) {
      case 0: return `[esi+${r.int(128)}]`;
      case 1: return `[edi-${r.int(128)}]`;
      case 2: return `[esi+ebx*${r.pick([1, 2, 4, 8])}+${r.int(64)}]`; // ebx masked by the caller
      case 3: return `[${WINDOW + r.int(0x3000)}]`;
      case 4: return `[esi+${0x7f0 + r.int(16)}]`; // near/over a page end (page-crossing accesses)
      case 5: return `[edi+${r.int(32) + 1}]`; // unaligned
      case 6: return `gs:[esi-${this.o.gsBase - r.int(64)}]`;
      case 7: return `fs:[edi+${r.int(64)}]`;
      case 8: return `[esi+edi*0+${r.int(16)}]`.replace('+edi*0', '');
      default: return `[edi+${r.int(256)}]`;
    }
  }

  /** Emits an instruction that needs EBX small first if the operand uses it. */
  private withMem(f: (m: string) => string): void {
    const m = this.mem();
    if (m.includes('ebx*')) this.lines.push('and ebx, 0x3f');
    this.lines.push(f(m));
  }

  private item(depth: number, inFunc: boolean): void {
    const r = this.rng;
    const L = this.lines;
    const k = r.int(40);
    const r32 = r.pick(R32), s32 = r.pick(R32), r16 = r.pick(R16), r8 = r.pick(R8), s8 = r.pick(R8);
    const alu = r.pick(ALU), cc = r.pick(CC);
    switch (k) {
      case 0: case 1: case 2: L.push(`${alu} ${r32}, ${s32}`); break;
      case 3: L.push(`${alu} ${r32}, ${this.imm()}`); break;
      case 4: L.push(`${alu} ${r8}, ${s8}`); break;
      case 5: L.push(`${alu} ${r16}, ${r.pick([this.imm(), r.pick(R16)])}`); break;
      case 6: this.withMem((m) => `${alu} ${r32}, dword ${m}`); break;
      case 7: this.withMem((m) => `${alu} dword ${m}, ${r.pick([r32, this.imm()])}`); break;
      case 8: this.withMem((m) => `${alu} byte ${m}, ${r.pick([r8, `${r.int(256)}`])}`); break;
      case 9: this.withMem((m) => `${alu} word ${m}, ${r16}`); break;
      case 10: L.push(r.pick([`test ${r32}, ${s32}`, `test ${r8}, ${r.int(256)}`, `test ${r32}, ${this.imm()}`])); break;
      case 11: this.withMem((m) => `test dword ${m}, ${r.pick([r32, this.imm()])}`); break;
      case 12: L.push(`${r.pick(['inc', 'dec', 'neg', 'not'])} ${r.pick([r32, r8, r16])}`); break;
      case 13: this.withMem((m) => `${r.pick(['inc', 'dec', 'neg', 'not'])} ${r.pick(['byte', 'word', 'dword'])} ${m}`); break;
      case 14: L.push(r.pick([`mov ${r32}, ${s32}`, `mov ${r32}, ${this.imm()}`, `mov ${r8}, ${s8}`, `mov ${r16}, ${r.int(65536)}`])); break;
      case 15: this.withMem((m) => r.pick([`mov ${r32}, ${m}`, `mov ${m}, ${r32}`, `mov dword ${m}, ${this.imm()}`, `mov ${r8}, ${m}`, `mov ${m}, ${r16}`, `mov byte ${m}, ${r.int(256)}`])); break;
      case 16: this.withMem((m) => r.pick([`movzx ${r32}, byte ${m}`, `movsx ${r32}, word ${m}`, `movsx ${r32}, byte ${m}`, `movzx ${r16}, byte ${m}`])); break;
      case 17: L.push(r.pick([`movzx ${r32}, ${r8}`, `movsx ${r32}, ${r16}`, `movsx ${r16}, ${r8}`])); break;
      case 18: L.push(r.pick([`lea ${r32}, [${s32}+${r32}*${r.pick([1, 2, 4, 8])}+${this.imm()}]`, `lea ${r32}, [esi+${r.int(100)}]`, `lea ${r16}, [${s32}+3]`])); break;
      case 19: L.push(r.pick([`xchg ${r32}, ${s32}`, `xchg ${r8}, ${s8}`, `xchg eax, ${s32}`])); break;
      case 20: this.withMem((m) => `xchg ${m}, ${r32}`); break;
      case 21: L.push(r.pick([`set${cc} ${r8}`, `cmov${cc} ${r32}, ${s32}`])); break;
      case 22: this.withMem((m) => r.pick([`set${cc} byte ${m}`, `cmov${cc} ${r32}, ${m}`])); break;
      case 23: L.push(`${r.pick(SHIFT)} ${r.pick([r32, r8, r16, r32])}, ${r.pick(['1', 'cl', `${r.int(40)}`, `${r.int(4) * 8}`])}`); break;
      case 24: L.push(r.pick([`imul ${r32}, ${s32}`, `imul ${r32}, ${s32}, ${this.imm()}`, `mul ${s32}`, `imul ${s32}`, `imul ${r16}, ${r.pick(R16)}`, `imul ${r16}, ${r.pick(R16)}, ${r.int(65536) - 32768}`, `bt ${r32}, ${s32}`, `bts ${r32}, ${r.int(32)}`, `bsf ${r32}, ${s32}`])); break;
      case 25: L.push(r.pick(['cwde', 'cdq', 'cbw', 'clc', 'stc', 'cmc', 'cld', 'std', 'lahf', 'sahf', 'nop', 'salc', 'rdtsc', 'mov eax, 1\ncpuid', 'xor eax, eax\ncpuid'])); break;
      case 26: {
        // push/pop pair with work in between.
        const what = r.pick([r32, this.imm(), 'dword [esi+8]', 'esp']);
        L.push(`push ${what}`);
        if (r.chance(0.5)) this.item(depth + 1, inFunc);
        if (r.chance(0.3)) L.push(`${r.pick(ALU)} ${r.pick(R32)}, [esp]`);
        L.push(`pop ${r.pick(R32)}`);
        break;
      }
      case 27: case 28: case 29: {
        if (depth > 2) { L.push(`${alu} ${r32}, ${s32}`); break; }
        // A forward conditional skip.
        const lab = this.l();
        if (r.chance(0.5)) L.push(`${r.pick(['cmp', 'test', 'sub', 'and', 'add', 'dec', 'inc'])} ${r32}, ${r.pick([s32, this.imm()])}`.replace(/^(dec|inc) (\w+), .*/, '$1 $2'));
        L.push(r.pick([`j${cc} ${lab}`, `j${cc} near ${lab}`]));
        const n = 1 + r.int(3);
        for (let j = 0; j < n; j++) this.item(depth + 1, inFunc);
        L.push(`${lab}:`);
        break;
      }
      case 30: {
        if (inFunc || depth > 1) { L.push('nop'); break; }
        const f = this.funcs.length;
        this.funcs.push([]);
        L.push(r.pick([`call fn${f}`, `mov edx, fn${f}\ncall edx`, `push fn${f}\ncall [esp]\npop edx`]));
        break;
      }
      case 31: {
        // Address registers move, staying mostly inside the window.
        L.push(r.pick([`add esi, ${r.int(64) - 32}`, `lea edi, [edi+${r.int(16)}]`, `sub edi, 4`]));
        L.push(r.pick(['and esi, 0x2037ff', 'and edi, 0x2037ff']));
        L.push(r.pick(['or esi, 0x200000', 'or edi, 0x201000']));
        break;
      }
      case 32: {
        // pushf/popf (ends a block), with the flags changed in between.
        L.push('pushfd', `${r.pick(ALU)} ${r32}, ${s32}`, 'popfd');
        break;
      }
      case 33: {
        // A short string operation inside the window.
        L.push('push edi', 'push ecx', `lea edi, [esi+${r.int(64)}]`, `mov ecx, ${r.int(9)}`, r.pick(['rep stosb', 'rep stosd', 'rep movsb', 'movsd', 'lodsb', 'scasb', 'repe cmpsb']), 'pop ecx', 'pop edi');
        L.push('and esi, 0x2037ff', 'or esi, 0x200000');
        break;
      }
      case 34: L.push(`${r.pick(['adc', 'sbb'])} ${r32}, ${r.pick([s32, this.imm()])}`); break;
      case 35: {
        // Flag producers right before a branch on every condition.
        const lab = this.l();
        L.push(`${r.pick(['cmp', 'sub', 'add', 'test', 'and', 'or', 'xor'])} ${r.pick([r8, r16, r32])}`.replace(/ (\w+)$/, (_, reg: string) => ` ${reg}, ${reg.length === 2 && !reg.endsWith('x') ? r.pick(R8) : reg.length === 2 ? r.pick(R16) : r.pick(R32)}`));
        L.push(`j${cc} ${lab}`, `inc ${r.pick(R32)}`, `${lab}:`);
        break;
      }
      case 36: L.push(r.pick([`dec ${r32}`, `inc ${r32}`]), r.pick([`j${cc} $+2`, `adc ${s32}, 0`, `set${cc} ${r8}`, `cmov${cc} ${r32}, ${s32}`])); break;
      case 37: L.push(r.pick([`loop $+2`, `jecxz $+2`, `jmp short $+2`])); break;
      case 38: this.withMem((m) => r.pick([`push dword ${m}\npop ${r32}`, `${r.pick(SHIFT)} ${r.pick(['dword', 'word', 'byte'])} ${m}, ${r.pick(['1', 'cl', `${r.int(8)}`])}`, `bt dword ${m}, ${r.int(32)}`,
        `imul ${r32}, ${m}`, `imul ${r32}, ${m}, ${this.imm()}`, `mul dword ${m}`, `imul dword ${m}`])); break;
      default: L.push(r.pick([`xor ${r32}, ${r32}`, `or ${r32}, ${r32}`, `sub ${r32}, ${r32}`])); break;
    }
  }

  /** A program: setup, `iterations` of a random body, HLT, then the called functions. */
  program(iterations: number, bodyItems: number, faultAt: number): string {
    const r = this.rng;
    const L = this.lines;
    L.length = 0;
    L.push('start:', `mov ebp, ${iterations}`, 'top:');
    for (let j = 0; j < bodyItems; j++) {
      this.item(0, false);
      if (faultAt > 0 && j === bodyItems >> 1) {
        // At one iteration an address register leaves the mapped pages.
        const lab = this.l();
        L.push(`cmp ebp, ${faultAt}`, `jne ${lab}`, `mov ${r.pick(['esi', 'edi'])}, ${r.pick(['0x500000', '0x203ff0', '0x1ff000'])}`, `${lab}:`);
      }
    }
    L.push('dec ebp', 'jnz top', 'hlt');
    const body = L.slice();
    const out = [...body];
    for (let f = 0; f < this.funcs.length; f++) {
      L.length = 0;
      const n = 1 + r.int(4);
      for (let j = 0; j < n; j++) this.item(2, true);
      out.push(`fn${f}:`, ...L, 'ret');
    }
    return out.join('\n');
  }
}
