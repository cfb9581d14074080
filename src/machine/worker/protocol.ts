// What the page and the machine worker exchange: the comlink API's argument
// and result types, the events the worker reports, and the shared buffers
// set up once per worker. Plain data only (everything here crosses
// postMessage by structured clone), and the one label both sides use.
import type { ScannerCounters } from '../../scanner/code-scanner.ts';

export type { ScannerCounters };

/** The SharedArrayBuffers of the three byte rings (see spsc-ring.ts); the page creates them. */
export interface RingBuffers {
  /** Guest COM1 output → page (the worker produces). */
  serialOut: SharedArrayBuffer;
  /** Page → guest COM1 input (the page produces). */
  serialIn: SharedArrayBuffer;
  /** Page → PS/2 keyboard: scancode set 2 bytes as a keyboard sends them (the page produces). */
  keyboard: SharedArrayBuffer;
}

export type BootImages =
  | { kind: 'linux'; kernel: Uint8Array; kernelName: string; initrd?: Uint8Array; initrdName?: string; cmdline: string }
  | { kind: 'multiboot'; kernel: Uint8Array; kernelName: string; cmdline: string };

export interface BootRequest {
  memoryMiB: number;
  images: BootImages;
  /** 'wall' (default) or 'deterministic' (time from the instruction count: benchmarks, tests). */
  clock?: 'wall' | 'deterministic';
  /** A virtio-blk disk the worker opens (disk-open.ts) and attaches before the machine runs. */
  disk?: DiskRequest;
  /**
   * ClamAV signature files (.ndb / .hdb, by name) for the code scanner
   * (src/scanner): with any, every guest code page is scanned the first time
   * it runs after being written, and matches are reported as 'detection' events.
   */
  signatures?: SignatureFile[];
}

export interface SignatureFile {
  name: string;
  text: string;
}

/**
 * A disk as the worker opens it:
 *   url:   a raw image read lazily by HTTP Range requests (absolute URL), under
 *          a copy-on-write overlay in IndexedDB keyed by the URL, so it persists;
 *   blank: an empty sparse disk of `sectors` in IndexedDB named `name` (persists);
 *   file:  a raw image from the page (a File/Blob), read piece by piece and
 *          never modified, under a copy-on-write overlay (OPFS, else
 *          IndexedDB) keyed by the file's name, size and date, so picking
 *          the same file again resumes the guest's writes.
 */
export type DiskRequest =
  | { kind: 'url'; url: string }
  | { kind: 'blank'; name: string; sectors: number }
  | { kind: 'file'; file: Blob; name: string };

/** The page's button that deletes a disk's stored changes; the worker's messages about damaged ones tell the user to press it. */
export const DISCARD_CHANGES_LABEL = 'Discard disk changes';

/** The machine's shared memory, handed to the page once per machine (no copies afterwards). */
export interface MachineMemory {
  /** Which machine this is: every boot in a worker gets the next number; events carry it too. */
  session: number;
  memory: WebAssembly.Memory;
  /** Byte offset of guest physical address 0 in memory.buffer. */
  ramOffset: number;
  ramBytes: number;
  /** Byte offset of the VGA register mirror (src/devices/vga.ts). */
  vgaStateOffset: number;
}

/**
 * off: no machine yet; running: executing (or halted waiting for an
 * interrupt); paused: by the user, or by a failing disk (a 'disk-error'
 * event says why; resume() retries); stopped: the guest powered off or exited,
 * the emulator crashed, or the machine was shut down.
 */
export type MachineState = 'off' | 'running' | 'paused' | 'stopped';

/**
 * What happened, tagged with the session (machine) it happened to: events
 * travel on their own message port, so they can overtake the reply to the
 * boot() call that created the machine, and a previous machine's last events
 * can arrive after a new one was built.
 */
export type WorkerEvent = { session: number } & WorkerEventBody;

export type WorkerEventBody =
  | { type: 'state'; state: MachineState }
  /** The guest reset itself (triple fault, keyboard controller, port 0x92) or the user pressed reset. */
  | { type: 'reset'; reason: string }
  | { type: 'poweroff' }
  /** The guest wrote to isa-debug-exit (port 0xf4): status = (value << 1) | 1, as QEMU reports it. */
  | { type: 'exit'; status: number }
  /** An emulator error: a bug in ts86, not in the guest. `dump` is the CPU state and recent code. */
  | { type: 'crash'; message: string; dump: string }
  /**
   * The disk's storage failed (quota, network, image gone): the machine paused
   * with the guest's request held. resume() retries it. `code` is the StorageError code.
   */
  | { type: 'disk-error'; code: string; message: string }
  /** The code scanner matched a signature in a guest code page about to run for the first time since it was written. */
  | { type: 'detection'; name: string; phys: number; kind: 'body' | 'hash'; instructions: number; index: number }
  /** Something the user should know that is not an error (e.g. a device this build lacks). */
  | { type: 'notice'; message: string };

export interface MachineStats {
  state: MachineState;
  instructions: number;
  /** Guest time since power-on (the machine clock), ns. */
  guestNs: number;
  /** Host time spent executing instructions / sleeping in HLT, ms. */
  busyMs: number;
  haltedMs: number;
  /** The CPU is in HLT waiting for an interrupt. */
  halted: boolean;
  serialTxBytes: number;
  serialRxBytes: number;
  memoryMiB: number;
  /** The attached disk's activity; null without a disk. */
  disk: DiskActivity | null;
  /** The code scanner's counters; null when no signatures were given. */
  scanner: ScannerCounters | null;
}

/** What the disk did since the machine was built, for the status bar. */
export interface DiskActivity {
  /** Bytes the guest read / wrote. */
  readBytes: number;
  writtenBytes: number;
  /** A URL disk: bytes of the image fetched so far, of imageBytes. null for other disks. */
  fetchedBytes: number | null;
  imageBytes: number | null;
  /** The block cache's read hit rate (null before any read, or without a cache). */
  cacheHitRate: number | null;
  /** Written but not yet flushed by the guest (lost if the tab closes now). */
  dirtyBytes: number;
}
