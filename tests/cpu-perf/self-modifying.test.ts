// Self-modifying code against compiled regions: a hot, compiled loop that
// rewrites an instruction of its own block (before and after the store in
// the block), of another compiled block in the same page, and of a called
// function, with plain stores, string instructions and an XCHG. The results
// must be those of the new code, and identical to the interpreter's.
import { describe, it, expect } from 'vitest';
import { assemble, run, diff, WINDOW } from './rig.ts';

const CASES: { name: string; src: string; check: (eax: number, ebx: number) => void }[] = [
  {
    // Now and then the store patches the immediate of the instruction right after it, in the same
    // (compiled) block; the other times it writes to the data window.
    name: 'patches the next instruction of its own block',
    src: `
      mov ecx, 300
      xor ebx, ebx
      xor edx, edx
      mov esi, target + 1
    top:
      mov edi, ${WINDOW}
      test cl, 31
      cmovz edi, esi
      mov byte [edi], dl
    target:
      mov al, 0
      movzx eax, al
      add ebx, eax
      inc dl
      dec ecx
      jnz top
      hlt`,
    check: (_eax, ebx) => {
      let sum = 0, imm = 0;
      for (let k = 0; k < 300; k++) {
        if (((300 - k) & 31) === 0) imm = k & 0xff;
        sum += imm;
      }
      expect(ebx).toBe(sum);
    },
  },
  {
    // An earlier instruction of the block is patched: it takes effect on the next pass.
    name: 'patches an earlier instruction of its own block',
    src: `
      mov ecx, 300
      xor ebx, ebx
    top:
      add ebx, 1
      cmp ecx, 150
      jne skip
      mov byte [top + 2], 3
    skip:
      dec ecx
      jnz top
      hlt`,
    // The pass that stores still adds the old immediate.
    check: (_eax, ebx) => expect(ebx).toBe(151 * 1 + 149 * 3),
  },
  {
    // A called function in the same page is rewritten by the caller's loop (stosb, movsb and xchg).
    name: 'rewrites a compiled function with string instructions and xchg',
    src: `
      mov ecx, 400
      xor ebx, ebx
      cld
    top:
      call fn
      add ebx, eax
      cmp ecx, 300
      jne .a
      push ecx
      mov edi, fn + 1
      mov al, 7
      mov ecx, 1
      rep stosb
      pop ecx
    .a:
      cmp ecx, 200
      jne .b
      mov esi, newimm
      mov edi, fn + 1
      movsb
    .b:
      cmp ecx, 100
      jne .c
      mov dl, 11
      xchg byte [fn + 1], dl
    .c:
      dec ecx
      jnz top
      hlt
    newimm:
      db 9
    fn:
      mov al, 1
      movzx eax, al
      ret`,
    check: (_eax, ebx) => expect(ebx).toBe(101 * 1 + 100 * 7 + 100 * 9 + 99 * 11),
  },
  {
    // Data sharing the page with hot code: stores that miss the code bytes must not disturb it.
    name: 'stores to data next to compiled code',
    src: `
      mov ecx, 2000
      xor ebx, ebx
    top:
      mov dword [data], ecx
      add ebx, dword [data]
      mov word [data + 6], cx
      dec ecx
      jnz top
      hlt
      align 16
    data:
      dd 0, 0`,
    check: (_eax, ebx) => expect(ebx >>> 0).toBe((2000 * 2001) / 2),
  },
  {
    // The code page is written through a second mapping (alias) in the data window's page tables? No:
    // here through a data-segment store into the compiled block from a different block of the page.
    name: 'a different block patches a compiled loop body between runs',
    src: `
      mov esi, 50
      xor ebx, ebx
    outer:
      mov ecx, 40
    inner:
      add ebx, 2
      dec ecx
      jnz inner
      mov al, byte [inner + 2]
      inc al
      mov byte [inner + 2], al
      dec esi
      jnz outer
      hlt`,
    check: (_eax, ebx) => {
      let sum = 0;
      for (let k = 0; k < 50; k++) sum += 40 * (2 + k);
      expect(ebx).toBe(sum);
    },
  },
];

describe('self-modifying code under the JS tier', () => {
  for (const c of CASES) {
    it(c.name, () => {
      const code = assemble(c.src);
      for (const slice of [1000, 7]) {
        const o = { regs: [0, 0, 0, 0, 0, 0, WINDOW, WINDOW + 0x100], slice, maxInstructions: 1_000_000, hot: 4 };
        const a = run(code, { ...o, jit: false });
        const b = run(code, { ...o, jit: true });
        expect(a.stop).toBeNull();
        expect(b.regionsCompiled).toBeGreaterThan(0);
        expect(diff(a, b)).toEqual([]);
        c.check(b.state[0], b.state[3]);
      }
    });
  }
});
