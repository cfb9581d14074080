// Runs v86 (npm `v86`, with Debian's SeaBIOS) in this Node process for the
// side-by-side benchmarks, exposing its COM1 output as a text stream.
import { readFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
const V86_DIR = dirname(require.resolve('v86/package.json'));
const SEABIOS = ['/usr/share/seabios/bios-256k.bin', '/usr/share/seabios/bios.bin'];
const VGABIOS = ['/usr/share/seabios/vgabios-stdvga.bin', '/usr/share/seabios/vgabios.bin'];

function firstExisting(paths: string[], what: string): string {
  const p = paths.find((x) => existsSync(x));
  if (!p) throw new Error(`${what} not found (looked for ${paths.join(', ')}); install Debian's seabios package`);
  return p;
}

export interface V86Guest {
  multiboot?: Uint8Array;
  bzimage?: Uint8Array;
  initrd?: Uint8Array;
  cmdline?: string;
  memoryMiB: number;
  /** Sees every byte the guest sends on COM1. */
  onByte?: (b: number) => void;
}

export interface SerialSession {
  output(): string;
  waitFor(re: RegExp, timeoutMs: number): Promise<number>;
  send(text: string): void;
  stop(): Promise<void>;
}

type V86Ctor = new (opts: Record<string, unknown>) => {
  add_listener(ev: string, f: (b: number) => void): void;
  serial0_send(s: string): void;
  destroy(): Promise<void> | void;
};

export async function startV86(guest: V86Guest): Promise<SerialSession> {
  const mod = await import(join(V86_DIR, 'build', 'libv86.mjs'));
  const V86 = (mod.V86 ?? mod.default?.V86 ?? mod.default) as V86Ctor;
  const buf = (u: Uint8Array): { buffer: ArrayBuffer } => ({ buffer: u.buffer.slice(u.byteOffset, u.byteOffset + u.byteLength) as ArrayBuffer });
  const emulator = new V86({
    wasm_path: join(V86_DIR, 'build', 'v86.wasm'),
    bios: buf(readFileSync(firstExisting(SEABIOS, 'SeaBIOS'))),
    vga_bios: buf(readFileSync(firstExisting(VGABIOS, 'SeaBIOS VGA BIOS'))),
    memory_size: guest.memoryMiB * 1024 * 1024,
    ...(guest.multiboot ? { multiboot: buf(guest.multiboot) } : {}),
    ...(guest.bzimage ? { bzimage: buf(guest.bzimage) } : {}),
    ...(guest.initrd ? { initrd: buf(guest.initrd) } : {}),
    ...(guest.cmdline ? { cmdline: guest.cmdline } : {}),
    autostart: true,
    disable_keyboard: true,
    disable_mouse: true,
    disable_speaker: true,
  });
  return textSession((onByte) => emulator.add_listener('serial0-output-byte', (b) => { onByte(b); guest.onByte?.(b); }), (s) => emulator.serial0_send(s), async () => { await emulator.destroy(); });
}

/** A serial text stream with "wait until this appears" — shared by the ts86 and v86 runners. */
export function textSession(subscribe: (onByte: (b: number) => void) => void, send: (s: string) => void, stop: () => Promise<void>): SerialSession {
  let text = '';
  // When each byte arrived: an emulator may run a whole slice (and print
  // several lines) before a waiter is even registered, so a match is timed by
  // the arrival of its last byte, not by when someone looked.
  const arrivals: number[] = [];
  const waiters: { re: RegExp; resolve: (t: number) => void }[] = [];
  const matchTime = (re: RegExp): number | null => {
    const m = new RegExp(re.source, re.flags.replace('g', '')).exec(text);
    return m ? arrivals[m.index + m[0].length - 1] : null;
  };
  subscribe((b) => {
    text += String.fromCharCode(b);
    arrivals.push(performance.now());
    for (let k = waiters.length - 1; k >= 0; k--) {
      const t = matchTime(waiters[k].re);
      if (t !== null) {
        waiters[k].resolve(t);
        waiters.splice(k, 1);
      }
    }
  });
  return {
    output: () => text,
    send,
    stop,
    waitFor(re, timeoutMs) {
      const seen = matchTime(re);
      if (seen !== null) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const w = { re, resolve: (t: number) => { clearTimeout(timer); resolve(t); } };
        const timer = setTimeout(() => {
          const i = waiters.indexOf(w);
          if (i >= 0) waiters.splice(i, 1);
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${re}; output so far: ${JSON.stringify(text.slice(-300))}`));
        }, timeoutMs);
        waiters.push(w);
      });
    },
  };
}
