// The worker's comlink API, driven directly in Node (it has no Worker or DOM
// dependencies): boot requests, serial through the rings both ways, guest RAM
// and the VGA register mirror visible through the shared memory, exit
// status, reset, and bad images refused with a readable error.
import { describe, it, expect, afterEach } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MachineHost } from '../../src/machine/worker/machine-host.ts';
import { SpscRing } from '../../src/machine/worker/spsc-ring.ts';
import { RingWriter, pumpRing } from '../../src/machine/worker/ring-io.ts';
import type { MachineMemory, WorkerEvent } from '../../src/machine/worker/protocol.ts';
import { VgaWord, VGA_MODE_TEXT, VGA_MODE_BLINK } from '../../src/devices/vga.ts';
import { buildKernel } from '../guest/build-kernel.ts';

const ECHO_ASM = fileURLToPath(new URL('../../e2e/page/guest/echo.asm', import.meta.url));

class Harness {
  readonly host = new MachineHost();
  readonly out = SpscRing.create(4096);
  readonly input = SpscRing.create(256);
  readonly keys = SpscRing.create(256);
  readonly events: WorkerEvent[] = [];
  text = '';
  private readonly abort = new AbortController();
  private readonly waiters: (() => void)[] = [];

  constructor() {
    this.host.connect({ serialOut: this.out.buffer, serialIn: this.input.buffer, keyboard: this.keys.buffer }, (e) => {
      this.events.push(e);
      this.poke();
    });
    void pumpRing(this.out, (b) => {
      this.text += Buffer.from(b).toString('latin1');
      this.poke();
    }, this.abort.signal);
  }

  private poke(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  async until(what: string, cond: () => boolean, ms = 60_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; output so far: ${JSON.stringify(this.text)}; events: ${JSON.stringify(this.events)}`);
      await new Promise<void>((r) => { this.waiters.push(r); setTimeout(r, 200); });
    }
  }

  async close(): Promise<void> {
    await this.host.shutdown();
    this.abort.abort();
  }
}

let h: Harness | null = null;
afterEach(async () => { await h?.close(); h = null; });

function multiboot(path: string, name: string) {
  return { memoryMiB: 16, images: { kind: 'multiboot' as const, kernel: new Uint8Array(readFileSync(path)), kernelName: name, cmdline: '' } };
}

describe('MachineHost', () => {
  it('runs the hello multiboot kernel: output through the ring, then an exit event with the isa-debug-exit status', async () => {
    h = new Harness();
    const mem = await h.host.boot(multiboot(buildKernel('hello.asm'), 'hello.elf'));
    await h.until('exit', () => h!.events.some((e) => e.type === 'exit'));
    await h.until('all output', () => h!.text.endsWith('54321\n'));
    expect(h.text).toBe('hello from ts86 multiboot\n54321\n');
    expect(h.events.find((e) => e.type === 'exit')).toEqual({ session: mem.session, type: 'exit', status: 67 });
    expect(h.events.filter((e) => e.type === 'state').map((e) => (e as { state: string }).state)).toEqual(['running', 'stopped']);
    // The kernel image sits in guest RAM at 1 MiB: read it through the shared memory, as the page does.
    const ram = new Uint8Array(mem.memory.buffer, mem.ramOffset, mem.ramBytes);
    expect(new DataView(ram.buffer, mem.ramOffset + 0x100000, 4).getUint32(0, true)).toBe(0x1badb002);
    expect(h.host.stats()).toMatchObject({ state: 'stopped', serialTxBytes: h.text.length, memoryMiB: 16 });
  });

  it('echoes serial input and draws on the VGA text screen; the page-side views see both without copies', async () => {
    h = new Harness();
    const mem: MachineMemory = await h.host.boot(multiboot(buildKernel(ECHO_ASM), 'echo.elf'));
    await h.until('the ready line', () => h!.text.includes('echo guest ready\r\n'));
    const writer = new RingWriter(h.input);
    writer.write(Buffer.from('hello, ts86\r'));
    await h.until('the echo', () => h!.text.includes('HELLO, TS86\r'));

    const vga = new Int32Array(mem.memory.buffer, mem.vgaStateOffset, VgaWord.WORDS);
    expect(vga[VgaWord.MODE] & VGA_MODE_TEXT).toBe(VGA_MODE_TEXT);
    expect(vga[VgaWord.MODE] & VGA_MODE_BLINK).toBe(VGA_MODE_BLINK);
    expect([vga[VgaWord.COLUMNS], vga[VgaWord.ROWS], vga[VgaWord.CHAR_HEIGHT], vga[VgaWord.CHAR_WIDTH]]).toEqual([80, 25, 16, 9]);
    expect(vga[VgaWord.TEXT_BASE]).toBe(0xb8000);
    // The guest moved the cursor through the CRTC: row 5, then one cell per echoed character.
    expect(vga[VgaWord.CURSOR]).toBe(5 * 80 + 'hello, ts86'.length);
    const ram = new Uint8Array(mem.memory.buffer, mem.ramOffset, mem.ramBytes);
    const row = (r: number, n: number): string => Array.from({ length: n }, (_, k) => String.fromCharCode(ram[0xb8000 + (r * 80 + k) * 2])).join('');
    expect(row(0, 20)).toBe(' ts86 VGA text mode ');
    expect(ram[0xb8001]).toBe(0x1e);
    expect(row(5, 11)).toBe('HELLO, TS86');

    writer.write([0x71]); // 'q'
    await h.until('exit', () => h!.events.some((e) => e.type === 'exit'));
    expect(h.events.find((e) => e.type === 'exit')).toEqual({ session: mem.session, type: 'exit', status: 33 });
    writer.dispose();
  });

  it('delivers scancode set 2 from the keyboard ring to the guest through the i8042, translated to set 1', async () => {
    h = new Harness();
    await h.host.boot(multiboot(buildKernel(ECHO_ASM), 'echo.elf'));
    await h.until('the ready line', () => h!.text.includes('echo guest ready\r\n'));
    const keys = new RingWriter(h.keys);
    keys.write([0x1c, 0xf0, 0x1c]); // 'a' pressed and released
    keys.write([0xe0, 0x75, 0xe0, 0xf0, 0x75]); // up arrow
    await h.until('the scancodes', () => h!.text.includes('kc8 '));
    expect(h.text.slice(h.text.indexOf('ready\r\n') + 7)).toBe('k1e k9e ke0 k48 ke0 kc8 ');
    keys.dispose();
  });

  it('pauses, resumes, and after the guest stopped, reset boots the same images again in new memory', async () => {
    h = new Harness();
    const first = await h.host.boot(multiboot(buildKernel(ECHO_ASM), 'echo.elf'));
    await h.until('the ready line', () => h!.text.includes('ready'));
    h.host.pause();
    const before = h.host.stats().instructions;
    await new Promise((r) => setTimeout(r, 100));
    expect(h.host.stats()).toMatchObject({ state: 'paused', instructions: before });
    h.host.resume();
    await h.until('progress', () => h!.host.stats().instructions > before);
    new RingWriter(h.input).write([0x71]);
    await h.until('exit', () => h!.host.stats().state === 'stopped');
    h.text = '';
    const second = await h.host.reset();
    expect(second).not.toBeNull();
    expect(second!.memory).not.toBe(first.memory);
    expect(second!.session).toBe(first.session + 1);
    await h.until('the ready line again', () => h!.text.includes('echo guest ready'));
    expect(h.host.stats().state).toBe('running');
  });

  it('reports an emulator fault as a crash event with the CPU dump, and the machine stops', async () => {
    h = new Harness();
    const mem = await h.host.boot(multiboot(buildKernel(ECHO_ASM), 'echo.elf'));
    await h.until('the ready line', () => h!.text.includes('ready'));
    // Reach into the running session the way a bug would: the next time slice throws.
    const machine = (h.host as unknown as { session: { pc: { machine: { runSlice(): number } } } }).session.pc.machine;
    machine.runSlice = () => { throw new Error('injected fault'); };
    await h.until('the crash', () => h!.events.some((e) => e.type === 'crash'));
    const crash = h.events.find((e) => e.type === 'crash') as Extract<WorkerEvent, { type: 'crash' }>;
    expect(crash).toMatchObject({ session: mem.session, message: 'injected fault' });
    expect(crash.dump).toMatch(/^ts86: emulator fault: injected fault\nmode: 32-bit protected mode/);
    await h.until('stopped', () => h!.host.stats().state === 'stopped');
  });

  it('refuses a file that is not a kernel with a readable BootImageError and runs nothing', async () => {
    h = new Harness();
    const junk = new TextEncoder().encode('<!doctype html><title>not a kernel</title>'.repeat(40));
    await expect(h.host.boot({ memoryMiB: 32, images: { kind: 'linux', kernel: junk, kernelName: 'bzImage', cmdline: '' } }))
      .rejects.toMatchObject({ name: 'BootImageError', message: expect.stringMatching(/bzImage is not a Linux bzImage/) });
    await expect(h.host.boot(multiboot(fileURLToPath(new URL('../../package.json', import.meta.url)), 'package.json')))
      .rejects.toThrow(/package.json is not a multiboot kernel/);
    expect(h.host.stats().state).toBe('off');
  });

  it('refuses an impossible memory size with a ConfigError', async () => {
    h = new Harness();
    await expect(h.host.boot({ ...multiboot(buildKernel('hello.asm'), 'hello.elf'), memoryMiB: 3 }))
      .rejects.toMatchObject({ name: 'ConfigError', message: expect.stringMatching(/outside the supported range/) });
  });
});
