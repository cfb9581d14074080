// The binary files exchanged with the native harness (native/harness.c), little-endian.
//
// Batch file:
//   header  u32 magic "CDB1", u32 caseCount, u32 windowSize (multiple of 4096, <= 64 KiB), u32 0
//   case    u16 codeLength, u8 flags (bit 0: FPU image present), u8 0,
//           u32 regs[8] (eax ecx edx ebx esp ebp esi edi), u32 eflags, u32 windowSeed,
//           u16 patchCount, u16 0, patchCount x { u16 offset, u16 length, bytes },
//           pad to 4, [108-byte FSAVE image], code bytes, pad to 4
// Result file:
//   header  u32 magic "CDR1", u32 caseCount
//   case    u32 regs[8], u32 eflags, u32 eip, i32 vector (-1 none, -2 timeout), u32 errorCode,
//           u32 faultAddress (si_addr), u32 signal, 108-byte FSAVE image,
//           u16 runCount, u16 0, runCount x { u16 offset, u16 length, bytes }, pad to 4
// The window is never shipped whole: the harness derives it from windowSeed (rng.windowBytes)
// plus the patches, and reports only the bytes that changed.
import { FPU_IMAGE_SIZE } from './layout.ts';
import { windowBytes } from './rng.ts';

const BATCH_MAGIC = 0x31424443;
const RESULT_MAGIC = 0x31524443;
const MAX_WINDOW = 65536;

export interface WindowPatch {
  offset: number;
  bytes: Uint8Array;
}

/** One snippet and the machine state it starts from. */
export interface MachineInput {
  code: Uint8Array;
  regs: Uint32Array;
  eflags: number;
  windowSeed: number;
  patches: readonly WindowPatch[];
  fpu?: Uint8Array;
}

/** What the host CPU did with it. */
export interface NativeResult {
  regs: Uint32Array;
  eflags: number;
  eip: number;
  vector: number;
  errorCode: number;
  faultAddress: number;
  signal: number;
  fpu: Uint8Array;
  window: Uint8Array;
}

/** The initial window of a case: seeded fill, then patches in order. */
export function initialWindow(input: MachineInput, windowSize: number): Uint8Array {
  const w = windowBytes(input.windowSeed, windowSize);
  for (const p of input.patches) {
    if (p.offset < 0 || p.offset + p.bytes.length > windowSize) throw new Error(`window patch ${p.offset}+${p.bytes.length} outside the window`);
    w.set(p.bytes, p.offset);
  }
  return w;
}

class Writer {
  private buf = new Uint8Array(1 << 16);
  private view = new DataView(this.buf.buffer);
  length = 0;

  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
  u8(v: number): void { this.reserve(1); this.buf[this.length++] = v; }
  u16(v: number): void { this.reserve(2); this.view.setUint16(this.length, v, true); this.length += 2; }
  u32(v: number): void { this.reserve(4); this.view.setUint32(this.length, v >>> 0, true); this.length += 4; }
  bytes(b: Uint8Array): void { this.reserve(b.length); this.buf.set(b, this.length); this.length += b.length; }
  align4(): void { while (this.length & 3) this.u8(0); }
  result(): Uint8Array { return this.buf.slice(0, this.length); }
}

export function encodeBatch(inputs: readonly MachineInput[], windowSize: number): Uint8Array {
  if (windowSize <= 0 || windowSize > MAX_WINDOW || windowSize % 4096) throw new Error(`bad window size ${windowSize}`);
  const w = new Writer();
  w.u32(BATCH_MAGIC);
  w.u32(inputs.length);
  w.u32(windowSize);
  w.u32(0);
  for (const c of inputs) {
    if (c.regs.length !== 8) throw new Error('regs must hold 8 GPRs');
    if (c.fpu && c.fpu.length !== FPU_IMAGE_SIZE) throw new Error(`FPU image must be ${FPU_IMAGE_SIZE} bytes`);
    w.u16(c.code.length);
    w.u8(c.fpu ? 1 : 0);
    w.u8(0);
    for (const r of c.regs) w.u32(r);
    w.u32(c.eflags);
    w.u32(c.windowSeed);
    w.u16(c.patches.length);
    w.u16(0);
    for (const p of c.patches) {
      if (p.offset + p.bytes.length > windowSize) throw new Error(`window patch ${p.offset}+${p.bytes.length} outside the window`);
      w.u16(p.offset);
      w.u16(p.bytes.length);
      w.bytes(p.bytes);
    }
    w.align4();
    if (c.fpu) w.bytes(c.fpu);
    w.bytes(c.code);
    w.align4();
  }
  return w.result();
}

export function decodeResults(file: Uint8Array, inputs: readonly MachineInput[], windowSize: number): NativeResult[] {
  // A plain Uint8Array copy: Node's Buffer#slice would return views into a shared pool.
  const buf = new Uint8Array(file);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let at = 0;
  const need = (n: number): void => {
    if (at + n > buf.length) throw new Error(`native result file truncated at byte ${at}`);
  };
  const u32 = (): number => { need(4); const v = view.getUint32(at, true); at += 4; return v; };
  const u16 = (): number => { need(2); const v = view.getUint16(at, true); at += 2; return v; };
  if (u32() !== RESULT_MAGIC) throw new Error('bad native result magic');
  const count = u32();
  if (count !== inputs.length) throw new Error(`native result has ${count} cases, expected ${inputs.length}`);
  const out: NativeResult[] = [];
  for (const input of inputs) {
    const regs = new Uint32Array(8);
    for (let i = 0; i < 8; i++) regs[i] = u32();
    const eflags = u32();
    const eip = u32();
    const vector = u32() | 0;
    const errorCode = u32();
    const faultAddress = u32();
    const signal = u32();
    need(FPU_IMAGE_SIZE);
    const fpu = buf.slice(at, at + FPU_IMAGE_SIZE);
    at += FPU_IMAGE_SIZE;
    const window = initialWindow(input, windowSize);
    const runs = u16();
    u16();
    let runBytes = 0;
    for (let r = 0; r < runs; r++) {
      const off = u16();
      const len = u16();
      need(len);
      window.set(buf.subarray(at, at + len), off);
      at += len;
      runBytes += 4 + len;
    }
    at += (4 - (runBytes & 3)) & 3;
    out.push({ regs, eflags, eip, vector, errorCode, faultAddress, signal, fpu, window });
  }
  if (at !== buf.length) throw new Error(`native result file has ${buf.length - at} trailing bytes`);
  return out;
}
