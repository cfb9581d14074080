// A deliberately tiny 32-bit x86 assembler: just the instructions the relay's
// generated test guests need. The guests are built at run time (never
// committed as binaries), so the bytes must come from readable source, and
// pulling in nasm would make the relay depend on a tool the page never needs.
//
// Labels are resolved in a second pass; every instruction method appends its
// exact encoding (see the Intel SDM opcode tables) so the output can be
// checked byte by byte in tests.

type Fixup = { at: number; label: string; kind: 'rel8' | 'rel32' | 'abs32' | 'abs16lo' | 'abs16hi' };

export class Asm {
  private readonly out: number[] = [];
  private readonly labels = new Map<string, number>();
  private readonly fixups: Fixup[] = [];
  /** Zero-initialised memory after the image (stacks): label → offset of its top. */
  private readonly bssLabels: { name: string; top: number }[] = [];
  private bssBytes = 0;

  /** `origin` is the guest-physical address of the first assembled byte. */
  constructor(readonly origin: number) {}

  get here(): number {
    return this.origin + this.out.length;
  }

  label(name: string): this {
    if (this.labels.has(name)) throw new Error(`label ${name} defined twice`);
    this.labels.set(name, this.here);
    return this;
  }

  /**
   * Reserves `size` zeroed bytes after the image; `name` labels the *top* of
   * the block because the only use is stacks, which grow down. Resolved in
   * build(), once the image size is known.
   */
  bss(name: string, size: number, align = 16): this {
    this.bssBytes = Math.ceil(this.bssBytes / align) * align + size;
    this.bssLabels.push({ name, top: this.bssBytes });
    return this;
  }

  db(...bytes: number[]): this {
    for (const b of bytes) this.out.push(b & 0xff);
    return this;
  }
  dw(v: number): this {
    return this.db(v, v >> 8);
  }
  dd(v: number | string): this {
    if (typeof v === 'string') {
      this.fixups.push({ at: this.out.length, label: v, kind: 'abs32' });
      v = 0;
    }
    return this.db(v, v >> 8, v >> 16, v >> 24);
  }
  ascii(s: string): this {
    for (let i = 0; i < s.length; i++) this.db(s.charCodeAt(i));
    return this;
  }
  align(n: number, fill = 0x90): this {
    while (this.out.length % n) this.db(fill);
    return this;
  }

  private imm32(v: number | string): this {
    return this.dd(v);
  }
  private rel(kind: 'rel8' | 'rel32', label: string): this {
    this.fixups.push({ at: this.out.length, label, kind });
    return kind === 'rel8' ? this.db(0) : this.db(0, 0, 0, 0);
  }

  // Data movement.
  movAl(imm: number): this { return this.db(0xb0, imm); }
  movAx(imm: number): this { return this.db(0x66, 0xb8).dw(imm); }
  movDx(imm: number): this { return this.db(0x66, 0xba).dw(imm); }
  movEax(imm: number | string): this { return this.db(0xb8).imm32(imm); }
  movEsi(imm: number | string): this { return this.db(0xbe).imm32(imm); }
  movEsp(imm: number | string): this { return this.db(0xbc).imm32(imm); }
  movBlAl(): this { return this.db(0x88, 0xc3); }
  movAlBl(): this { return this.db(0x88, 0xd8); }
  /** mov ds/es/fs/gs/ss, ax */
  movSregAx(sreg: 'es' | 'ss' | 'ds' | 'fs' | 'gs'): this {
    const n = { es: 0, ss: 2, ds: 3, fs: 4, gs: 5 }[sreg];
    return this.db(0x8e, 0xc0 | (n << 3));
  }
  lodsb(): this { return this.db(0xac); }
  pushEax(): this { return this.db(0x50); }
  popEax(): this { return this.db(0x58); }

  // Port I/O.
  inAlDx(): this { return this.db(0xec); }
  outDxAl(): this { return this.db(0xee); }
  outDxEax(): this { return this.db(0xef); }
  outImmAl(port: number): this { return this.db(0xe6, port); }

  // Tests and flow control.
  testAl(imm: number): this { return this.db(0xa8, imm); }
  testAlAl(): this { return this.db(0x84, 0xc0); }
  cmpAl(imm: number): this { return this.db(0x3c, imm); }
  jz(label: string): this { return this.db(0x74).rel('rel8', label); }
  jnz(label: string): this { return this.db(0x75).rel('rel8', label); }
  jmp(label: string): this { return this.db(0xe9).rel('rel32', label); }
  call(label: string): this { return this.db(0xe8).rel('rel32', label); }
  ret(): this { return this.db(0xc3); }
  iret(): this { return this.db(0xcf); }
  int(vector: number): this { return this.db(0xcd, vector); }
  /** jmp far selector:label (reloads CS after lgdt). */
  jmpFar(selector: number, label: string): this {
    return this.db(0xea).imm32(label).dw(selector);
  }

  // System.
  cli(): this { return this.db(0xfa); }
  sti(): this { return this.db(0xfb); }
  hlt(): this { return this.db(0xf4); }
  lgdt(label: string): this { return this.db(0x0f, 0x01, 0x15).imm32(label); }
  lidt(label: string): this { return this.db(0x0f, 0x01, 0x1d).imm32(label); }

  /**
   * Gate descriptor halves for an IDT entry pointing at `label`: the offset is
   * split 16/16 around the selector and type, so it needs two fixups.
   */
  interruptGate(selector: number, label: string): this {
    this.fixups.push({ at: this.out.length, label, kind: 'abs16lo' });
    this.dw(0).dw(selector).db(0x00, 0x8e); // present, DPL0, 32-bit interrupt gate
    this.fixups.push({ at: this.out.length, label, kind: 'abs16hi' });
    return this.dw(0);
  }

  /** Resolves labels; returns the image bytes and how much bss follows them. */
  build(): { image: Uint8Array; bssSize: number } {
    const image = Uint8Array.from(this.out);
    // Align the bss start so the alignment asked for in bss() holds.
    const bssStart = Math.ceil(this.here / 16) * 16;
    for (const { name, top } of this.bssLabels) this.labels.set(name, bssStart + top);
    const dv = new DataView(image.buffer);
    for (const f of this.fixups) {
      const target = this.labels.get(f.label);
      if (target === undefined) throw new Error(`undefined label ${f.label}`);
      switch (f.kind) {
        case 'rel8': {
          const rel = target - (this.origin + f.at + 1);
          if (rel < -128 || rel > 127) throw new Error(`rel8 to ${f.label} out of range (${rel})`);
          dv.setInt8(f.at, rel);
          break;
        }
        case 'rel32':
          dv.setInt32(f.at, target - (this.origin + f.at + 4), true);
          break;
        case 'abs32':
          dv.setUint32(f.at, target >>> 0, true);
          break;
        case 'abs16lo':
          dv.setUint16(f.at, target & 0xffff, true);
          break;
        case 'abs16hi':
          dv.setUint16(f.at, target >>> 16, true);
          break;
      }
    }
    return { image, bssSize: bssStart - this.here + this.bssBytes };
  }
}
